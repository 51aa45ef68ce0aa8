#!/usr/bin/env node
// The `polykv` bin: runs one command line and exits with its code. Ctrl-C (SIGINT) and SIGTERM
// abort the running command, which closes its stores and watches and exits with 130 / 143; a second
// Ctrl-C exits at once.
import { runCli } from './cli.js';
import { Interrupted } from './errors.js';

const controller = new AbortController();
const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
  if (controller.signal.aborted) process.exit(new Interrupted(name).exitCode);
  controller.abort(new Interrupted(name));
};
process.on('SIGINT', onSignal('SIGINT'));
process.on('SIGTERM', onSignal('SIGTERM'));
// `polykv watch ... | head -3`: the reader went away; that is a normal end, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await runCli(process.argv.slice(2), { signal: controller.signal });
// Wait for what was written to reach the OS, then exit: nothing the command left behind
// (a socket in its keep-alive pool, a timer) may keep the process alive.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
