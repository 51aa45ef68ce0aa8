// Loaded into every test process by scripts/run-tests.mjs (node --test passes `--import` on to the
// processes that run the test files). Once a process has nothing left to do and is exiting anyway,
// it exits at once instead of going through Node's environment teardown: on Node 20 that teardown
// (FreeEnvironment -> CleanupHandles) once spun at 100% CPU forever after every test of
// test/faults/consul.faults.test.ts had passed, with no libuv handle or request left (gdb), and held
// the whole run. A process still kept alive by a leaked socket or timer is not affected.
process.once('exit', (code) => process.exit(code));
