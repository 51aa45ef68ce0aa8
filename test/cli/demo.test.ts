// The README's main command, `npm run demo` (scripts/demo.mjs), end to end: real etcd and Consul,
// and the memory:// fallback. It must leave nothing running.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../helpers/processes.js';
import { killAll, Running } from './run.js';

after(killAll);

const demo = fileURLToPath(repoPath('scripts/demo.mjs'));

/** etcd and consul processes whose working folder is below a test folder of the demo's process. */
function serversOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (cwd.includes(`-${pid}-`) && /(etcd|consul)$/.test(command)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('npm run demo (scripts/demo.mjs)', { timeout: 120_000 }, () => {
  it('starts etcd and Consul, migrates the sample config, shows an empty diff and a live update, stops everything', async () => {
    const started = Date.now();
    const run = new Running(demo, [], {});
    const result = await run.exited;
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    for (const step of [
      /\[3\/8\] Starting etcd and a Consul dev agent/,
      /etcd etcd:\/\/127\.0\.0\.1:\d+ \(pid \d+\), Consul consul:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/,
      /\$ polykv load .*demo-config\.json --prefix app --url etcd:\/\//,
      /loaded 30 keys into etcd:\/\/127\.0\.0\.1:\d+ below app; failed 0/,
      /\$ polykv copy --from etcd:\/\/127\.0\.0\.1:\d+ --to consul:\/\/127\.0\.0\.1:\d+ --prefix app/,
      /copying 100% \(30\/30\)/,
      /copied 30 keys and 0 empty directories; skipped 0 .*; failed 0/,
      /\$ polykv diff etcd:\/\/\S+ consul:\/\/\S+ --prefix app\n +exit code 0 and no lines: nothing differs/,
      /^no differences$/m,
      /change event: features\.dark-mode is now true/,
      /stopped etcd \(pid \d+\) and consul \(pid \d+\): nothing left running/,
      /demo done in/,
    ])
      assert.match(output, step);
    assert.doesNotMatch(output, /polykv: [A-Z_]+:/, 'no error line');
    assert.doesNotMatch(output, /Warning/);
    assert.deepEqual(serversOf(run.child.pid!), [], 'no etcd or consul left running');
    const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} is gone`);
    assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms`);
  });

  it('--memory runs the same steps on two memory:// stores in one process', async () => {
    const result = await new Running(demo, ['--memory'], {}).exited;
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    assert.match(output, /copied 30 keys/);
    assert.match(
      result.stdout,
      /\$ polykv diff memory:\/\/etcd-standin memory:\/\/consul-standin --prefix app\n +exit code 0 and no lines/,
    );
    assert.match(result.stderr, /^no differences$/m);
    assert.match(output, /change event: features\.dark-mode is now true/);
    assert.match(output, /no server was started: nothing to stop/);
  });
});
