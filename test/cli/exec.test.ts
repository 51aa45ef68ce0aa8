// `polykv exec` against a real etcd member and a real Consul agent: a child that prints the
// variables it got, restarts counted by the child's own start lines, an outage by stopping the
// server. Deadlines are generous; the assertions are about counts and contents.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { cli, killAll, startCli, type Running } from './run.js';

/** Every child pid seen: a polykv killed by a failing test cannot stop its child, the test does. */
const children = new Set<number>();
after(() => {
  for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGKILL');
});
after(killAll);
after(stopAllServers);

// The child: one START line with its variables per start, HUP on SIGHUP, and on SIGTERM a TERM
// line and exit code 3 (so polykv's exit code can be told from a default).
const child = join(mkdtempSync(join(tmpdir(), 'polykv-exec-')), 'child.mjs');
writeFileSync(
  child,
  `const vars = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('T_') || ['DB_HOST', 'DB_PORT', 'FEATURE', 'COUNTER', 'MORE_ONLY'].includes(name)).sort());
console.log('START ' + process.pid + ' ' + JSON.stringify(vars));
process.on('SIGHUP', () => console.log('HUP ' + process.pid));
process.on('SIGTERM', () => { console.log('TERM ' + process.pid); process.exit(3); });
setInterval(() => {}, 1000);
`,
);

/** The START lines so far: pid and variables of each start of the child. */
function starts(running: Running): { pid: number; vars: Record<string, string> }[] {
  const found = [...running.stdout.matchAll(/^START (\d+) (.*)$/gm)].map((match) => ({
    pid: Number(match[1]),
    vars: JSON.parse(match[2]!) as Record<string, string>,
  }));
  for (const { pid } of found) children.add(pid);
  return found;
}

async function startsReach(running: Running, count: number, ms = 60_000): Promise<void> {
  const started = Date.now();
  while (starts(running).length < count) {
    if (Date.now() - started > ms)
      assert.fail(`${count} starts expected, got:\n${running.stdout}\n${running.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const opened: Store[] = [];
after(() => Promise.all(opened.map((store) => store.close())));
async function open(url: string): Promise<Store> {
  const store = await openStore(url);
  opened.push(store);
  return store;
}

describe('polykv exec', { timeout: 600_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  });
  const backends = () => [
    { name: 'etcd', url: (path: string) => `etcd://${etcd.host}/${path}` },
    { name: 'consul', url: (path: string) => `consul://${consul.address}/${path}` },
  ];

  it('the child gets the variables; a change restarts it once; a burst of 50 writes once; SIGTERM is passed on', async () => {
    for (const { name, url } of backends()) {
      const u = url('e1');
      const store = await open(u);
      await store.set('app/db/host', 'app-host');
      await store.set('app/db-port', '5432');
      await store.set('more/db/host', 'more-host');
      await store.set('more/more/only', 'x');
      const args = ['exec', '--url', u, '--prefix', 'app', '--prefix', 'more'];
      const flags = ['--no-prefix', '--sanitize', '--upcase', '--wait', '3s:60s'];
      const running = startCli([...args, ...flags, '--', process.execPath, child]);
      await startsReach(running, 1);
      // Later prefixes win (DB_HOST from more/); db-port sanitized; names below each prefix.
      assert.deepEqual(
        starts(running)[0]!.vars,
        { DB_HOST: 'more-host', DB_PORT: '5432', MORE_ONLY: 'x' },
        name,
      );

      await store.set('app/feature', 'on');
      await startsReach(running, 2);
      assert.equal(starts(running)[1]!.vars.FEATURE, 'on', name);
      assert.match(
        running.stdout,
        new RegExp(`^TERM ${starts(running)[0]!.pid}$`, 'm'),
        'the old child was stopped',
      );

      for (let i = 0; i < 50; i++) await store.set('app/counter', String(i));
      await startsReach(running, 3);
      assert.equal(starts(running)[2]!.vars.COUNTER, '49', `${name}: one restart, with the last value`);

      // A write that leaves every variable as it was restarts nothing.
      await store.set('app/feature', 'on');
      await new Promise((resolve) => setTimeout(resolve, 5000));
      assert.equal(starts(running).length, 3, `${name}: 3 starts:\n${running.stdout}`);
      assert.equal(
        running.stderr.match(/keys changed; restarting/g)?.length,
        2,
        `${name}: two restarts:\n${running.stderr}`,
      );

      running.child.kill('SIGTERM');
      const result = await running.exited;
      assert.match(result.stdout, new RegExp(`^TERM ${starts(running)[2]!.pid}$`, 'm'), 'SIGTERM passed on');
      assert.equal(result.code, 3, `${name}: the child's exit code:\n${result.stderr}`);
      assert.equal(alive(starts(running)[2]!.pid), false);
    }
  });

  it('--signal HUP signals instead of restarting; --once runs once; exit codes pass through', async () => {
    for (const { name, url } of backends()) {
      const u = url('e2');
      const store = await open(u);
      await store.set('app/db/host', 'h1');
      const running = startCli([
        'exec',
        '--url',
        u,
        '--prefix',
        'app',
        '--no-prefix',
        '--upcase',
        '--signal',
        'HUP',
        '--wait',
        '300ms',
        '--',
        process.execPath,
        child,
      ]);
      await startsReach(running, 1);
      await store.set('app/db/host', 'h2');
      await running.waitFor('stdout', new RegExp(`^HUP ${starts(running)[0]!.pid}$`, 'm'), 60_000);
      assert.match(running.stderr, /keys changed; sending SIGHUP to/);
      assert.equal(starts(running).length, 1, `${name}: not restarted`);
      running.child.kill('SIGINT');
      const result = await running.exited;
      // The child does not handle SIGINT: it dies of it, and polykv says so the shell's way.
      assert.equal(result.code, 130, result.stderr);

      const once = await cli([
        'exec',
        '--url',
        u,
        '--prefix',
        'app',
        '--once',
        '--',
        process.execPath,
        '-e',
        'console.log(process.env.app_db_host); process.exit(5)',
      ]);
      assert.equal(once.code, 5, once.stderr);
      assert.equal(once.stdout, 'h2\n');
      const missing = await cli([
        'exec',
        '--url',
        u,
        '--prefix',
        'app',
        '--once',
        '--',
        'polykv-no-such-command',
      ]);
      assert.equal(missing.code, 127);
    }
  });

  it('an outage keeps the child running with the last good environment and says so', async () => {
    const u = `etcd://${etcd.host}/e3`;
    const store = await open(u);
    await store.set('app/db/host', 'before');
    const running = startCli([
      'exec',
      '--url',
      u,
      '--prefix',
      'app',
      '--no-prefix',
      '--upcase',
      '--wait',
      '500ms',
      '--',
      process.execPath,
      child,
    ]);
    await startsReach(running, 1);
    const first = starts(running)[0]!;
    await etcd.stop();
    await running.waitFor(
      'stderr',
      /the store is unreachable \(.*\); .* keeps running with the last good environment/,
      60_000,
    );
    assert.ok(alive(first.pid), 'the child still runs');
    assert.equal(starts(running).length, 1);
    await etcd.restart();
    // The watch hears that the store is back with its next answer: the next change.
    await store.set('app/db/host', 'after');
    await startsReach(running, 2);
    assert.equal(starts(running)[1]!.vars.DB_HOST, 'after');
    assert.match(running.stderr, /the store answers again/);

    // Consul: the agent goes away for good; the child keeps running until polykv is stopped.
    const c = `consul://${consul.address}/e3`;
    await (await open(c)).set('app/db/host', 'consul');
    const second = startCli([
      'exec',
      '--url',
      c,
      '--prefix',
      'app',
      '--no-prefix',
      '--upcase',
      '--',
      process.execPath,
      child,
    ]);
    await startsReach(second, 1);
    await consul.stop();
    await second.waitFor(
      'stderr',
      /the store is unreachable .* keeps running with the last good environment/,
      60_000,
    );
    assert.ok(alive(starts(second)[0]!.pid));
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 3);
    running.child.kill('SIGTERM');
    assert.equal((await running.exited).code, 3);
  });

  it('--help says the name rules, the debounce, the signals and the outage rule', async () => {
    const help = await cli(['exec', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      '--prefix p',
      '(repeatable)',
      '--sanitize',
      '--upcase',
      '--no-prefix',
      '--restart',
      '--signal SIG',
      '--wait min[:max]',
      '--once',
      'APP_DB_HOST',
      'later --prefix wins',
      'Ctrl-C and SIGTERM are passed on',
      'last good environment',
    ])
      assert.ok(help.stdout.includes(text), text);
    const usage = await cli(['exec', '--url', 'memory://', '--prefix', 'a', '--wait', '5', '--', 'true']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--wait takes min\[:max\] durations with a unit/);
  });
});
