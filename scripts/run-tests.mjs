#!/usr/bin/env node
// The test command (`npm test` runs it after build and lint). It makes sure the real servers are
// installed, runs every compiled test file with node's test runner, prints one plain summary line,
// and finally kills any etcd or consul process a test left behind (and says so: that is a bug).
import { spawnSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const install = spawnSync(process.execPath, [join(root, 'scripts/install-servers.mjs')], {
  stdio: 'inherit',
});
if (install.status !== 0) {
  console.error('the test servers could not be installed: failing (tests never skip a missing server)');
  process.exit(1);
}

// Only `*.test.js` files are tests: node's runner would also run every other .js file below a
// folder named `test` (helpers, child-process scripts such as helpers/lock-holder.js, which fails
// without its arguments), so folders are expanded here.
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true })
    .filter((name) => name.endsWith('.test.js'))
    .map((name) => join(path, name))
    .sort();
}
const given = process.argv.slice(2);
const targets = (given.length > 0 ? given : [join(root, 'build/test')]).flatMap(testFiles);
const summaryDir = mkdtempSync(join(tmpdir(), 'polykv-summary-'));
const tapFile = join(summaryDir, 'results.tap');
const concurrency = process.env.POLYKV_TEST_CONCURRENCY ?? '2';
const args = [
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=600000',
  // See the file: skips a teardown that once hung a finished test file's process for good.
  `--import=${join(root, 'scripts/exit-when-done.mjs')}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
  ...targets,
];
// Servers started by this run live under folders named with this id; the sweep touches no other run's.
const runId = randomUUID().slice(0, 8);
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, POLYKV_TEST_RUN: runId },
});
const code = await new Promise((resolve) =>
  child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))),
);

function leftovers() {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (cwd.includes(`/polykv-test-${runId}-`) && /(etcd|consul)$/.test(cmd))
        found.push({ pid: Number(name), cmd, cwd });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
const stray = leftovers();
for (const { pid, cmd, cwd } of stray) {
  console.error(`warning: a test left ${cmd} running (pid ${pid}, in ${cwd}); killing it`);
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const tap = readFileSync(tapFile, 'utf8');
  passed = Number(/^# pass (\d+)/m.exec(tap)?.[1] ?? 0);
  failed = Number(/^# fail (\d+)/m.exec(tap)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(tap)?.[1] ?? 0);
  skipped = Number(/^# skipped (\d+)/m.exec(tap)?.[1] ?? 0);
} catch {
  failed = Math.max(failed, 1);
}
rmSync(summaryDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code !== 0 || failed > 0 || passed === 0 ? 1 : 0);
