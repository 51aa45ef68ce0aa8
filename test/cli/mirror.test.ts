// `polykv mirror` as a daemon against real servers: etcd v2 to etcd v2 and Consul to Consul (single
// server clusters with a data folder, so a restart keeps the data), Consul to etcd for keys that
// cannot be carried. Deadlines are generous; the assertions are about counts and contents.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { diff, openStore, type Store } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulCluster, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { cli, killAll, startCli, type Running } from './run.js';
import { eventually } from '../helpers/eventually.js';

after(killAll);
after(stopAllServers);

const until = (
  check: () => Promise<boolean>,
  what: string,
  state: () => Promise<string>,
  ms = 60_000,
): Promise<void> => eventually(check, what, { ms, every: 100, state });

/** One server the tests can stop and start again, and URLs on it. */
interface Side {
  url(path: string): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

function etcdSide(member: EtcdMember): Side {
  return {
    url: (path) => `etcd://${member.host}/${path}`,
    stop: () => member.stop(),
    restart: () => member.restart(),
  };
}

function consulSide(server: ConsulAgent): Side {
  return {
    url: (path) => `consul://${server.address}/${path}`,
    stop: () => server.stop(),
    restart: async () => {
      await server.restart();
      await server.waitSerfHealth();
    },
  };
}

/** Stops a mirror like a service manager does and returns its result. */
async function stopMirror(running: Running) {
  running.child.kill('SIGTERM');
  return running.exited;
}

const opened: Store[] = [];
after(() => Promise.all(opened.map((store) => store.close())));
async function open(url: string): Promise<Store> {
  const store = await openStore(url);
  opened.push(store);
  return store;
}

/** The differences below `app`, without the keys a test keeps apart on purpose. */
async function differences(a: Store, b: Store, ignore: readonly string[] = []) {
  const found = await diff(a, b, { prefix: 'app' });
  const keep = (key: string) => !ignore.includes(key);
  return [
    ...found.missing.filter(keep).map((key) => `- ${key}`),
    ...found.extra.filter(keep).map((key) => `+ ${key}`),
    ...found.different.filter(keep).map((key) => `~ ${key}`),
  ];
}

for (const kind of ['etcd', 'consul'] as const) {
  describe(`polykv mirror: ${kind} to ${kind}`, { timeout: 600_000 }, () => {
    let source: Side;
    let target: Side;
    before(async () => {
      if (kind === 'etcd') {
        const [a, b] = await Promise.all([startEtcd(), startEtcd()]);
        [source, target] = [etcdSide(a), etcdSide(b)];
      } else {
        const [a, b] = await Promise.all([startConsulCluster(1), startConsulCluster(1)]);
        [source, target] = [consulSide(a.servers[0]!), consulSide(b.servers[0]!)];
      }
    });

    it('copies, follows, resumes from its checkpoint without copying again; exclusions; deletes', async () => {
      const from = source.url('t1');
      const to = target.url('t1');
      const [a, b] = await Promise.all([open(from), open(to)]);
      for (let i = 0; i < 100; i++) await a.set(`app/k${i}`, `v${i}`);
      await a.set('app/secret/pw', 'not mirrored');
      await b.set('app/stale', 'only on the target');
      const args = ['mirror', '--from', from, '--to', to, '--prefix', 'app', '--exclude', 'app/secret', '-v'];
      let mirror = startCli(args);
      await mirror.waitFor('stderr', /full read \(no checkpoint yet\)/);
      await mirror.waitFor('stderr', /in sync: wrote 100, 0 already the same/, 60_000);
      assert.match(mirror.stderr, /kept app\/stale: only on the target/);
      await a.set('app/k1', 'live');
      await a.del('app/k2');
      await mirror.waitFor('stdout', /^put app\/k1 \(source index \d+\)$/m);
      await mirror.waitFor('stdout', /^delete app\/k2 \(source index \d+\)$/m);
      let result = await stopMirror(mirror);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /mirror stopped: 2 changes carried, 100 keys written by full reads \(0 already the same\), 0 target-only keys deleted, 1 kept; not carried 0; checkpoint at source index \d+/,
      );
      assert.equal(await b.get('app/secret/pw'), null, 'excluded');
      assert.equal((await b.get('app/stale'))?.value, 'only on the target', 'kept without --delete');
      assert.deepEqual(await differences(a, b, ['app/secret/pw', 'app/stale']), []);

      // While it is stopped: 5 changes, a deletion, a change below the exclusion.
      for (let i = 10; i < 15; i++) await a.set(`app/k${i}`, `while stopped ${i}`);
      await a.del('app/k20');
      await a.set('app/secret/pw', 'changed, still not mirrored');
      const before = Math.max(...(await b.list('app', { recursive: true })).map((entry) => entry.index));
      mirror = startCli(args);
      await mirror.waitFor('stderr', /resuming from the checkpoint at source index \d+/);
      // Consul keeps no deletion history: a deletion made while no mirror watched is found by the
      // re-read as a key only the target has, and is kept without --delete (and named).
      const ignore = ['app/secret/pw', 'app/stale', ...(kind === 'consul' ? ['app/k20'] : [])];
      await until(
        async () => (await differences(a, b, ignore)).length === 0,
        'the changes made while stopped',
        async () => `${JSON.stringify(await differences(a, b, ignore))}\n${mirror.stderr}`,
      );
      if (kind === 'consul') await mirror.waitFor('stderr', /kept app\/k20: only on the target/);
      result = await stopMirror(mirror);
      assert.equal(result.code, 0, result.stderr);
      // No second full copy: only the changed keys were written (their index moved), not the 100.
      const written = (await b.list('app', { recursive: true }))
        .filter((entry) => entry.index > before)
        .map((entry) => entry.key)
        .sort();
      assert.deepEqual(written, ['app/k10', 'app/k11', 'app/k12', 'app/k13', 'app/k14']);
      assert.equal(await b.get('app/secret/pw'), null);
      if (kind === 'etcd') {
        assert.equal(await b.get('app/k20'), null, 'the deletion was replayed from history');
        assert.match(result.stdout, /mirror stopped: 6 changes carried, 0 keys written by full reads/);
      } else assert.match(result.stdout, /mirror stopped: 0 changes carried, 5 keys written by full reads/);

      // --delete: a full read (other settings) that deletes what only the target has.
      mirror = startCli([...args, '--delete']);
      await mirror.waitFor('stderr', /full read \(the checkpoint was taken with other settings/);
      await mirror.waitFor('stderr', /in sync: wrote 0, \d+ already the same/);
      result = await stopMirror(mirror);
      assert.equal(result.code, 0, result.stderr);
      const deleted = kind === 'consul' ? 2 : 1;
      assert.match(result.stdout, new RegExp(`${deleted} target-only keys deleted, 0 kept; not carried 0`));
      assert.equal(await b.get('app/stale'), null);
      const final = await diff(a, b, { prefix: 'app' });
      assert.deepEqual(final, { missing: ['app/secret/pw'], extra: [], different: [], unlisted: [] });
    });

    it('follows the source through a restart of the target and of the source; then diff is empty', async () => {
      const from = source.url('t2');
      const to = target.url('t2');
      const a = await open(from);
      for (let i = 0; i < 20; i++) await a.set(`app/k${i}`, `v${i}`);
      const mirror = startCli(['mirror', '--from', from, '--to', to, '--prefix', 'app', '--delete']);
      await mirror.waitFor('stderr', /in sync: wrote 20/, 60_000);

      await target.stop();
      for (let i = 0; i < 20; i++) await a.set(`app/k${i}`, `target down ${i}`);
      await a.del('app/k0');
      await a.set('app/new', 'while the target was down');
      await target.restart();
      await source.stop();
      await source.restart();
      for (let i = 1; i < 20; i += 2) await a.set(`app/k${i}`, `after the source restart ${i}`);
      await a.del('app/k1');

      const b = await open(to);
      await until(
        async () => (await cli(['diff', from, to, '--prefix', 'app'])).code === 0,
        'polykv diff to be empty',
        async () => `${JSON.stringify(await differences(a, b))}\n${mirror.stderr}`,
      );
      assert.equal((await b.get('app/new'))?.value, 'while the target was down');
      assert.equal(await b.get('app/k0'), null);
      assert.equal(await b.get('app/k1'), null);
      assert.match(mirror.stderr, /retrying/, 'the target outage was noticed');
      const result = await stopMirror(mirror);
      assert.equal(result.code, 0, result.stderr);
    });

    it('--ha: two instances, one active; kill -9 the active one and the other resumes, losing nothing', async () => {
      const from = source.url('t3');
      const to = target.url('t3');
      const a = await open(from);
      for (let i = 0; i < 20; i++) await a.set(`app/k${i}`, `v${i}`);
      // etcd locks take a 2 s TTL; Consul's minimum is 10 s, and its lock delay applies on top.
      const ttl = kind === 'etcd' ? '2' : '10';
      const args = ['mirror', '--from', from, '--to', to, '--prefix', 'app', '--ha', '--ttl', ttl];
      const one = startCli(args);
      await one.waitFor('stderr', /active: holding the mirror lock/, 60_000);
      const two = startCli(args);
      await two.waitFor('stderr', /standby: waiting for the mirror lock/);
      await one.waitFor('stderr', /in sync: wrote 20/, 60_000);
      assert.doesNotMatch(two.stderr, /active/, 'one active instance');

      // A writer keeps changing keys while the active instance dies without a word.
      let written = 0;
      const writer = (async () => {
        for (; written < 60; written++) {
          await a.set(`app/w${written % 15}`, `write ${written}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      while (written < 20) await new Promise((resolve) => setTimeout(resolve, 20));
      one.child.kill('SIGKILL');
      await writer;
      await two.waitFor('stderr', /active: holding the mirror lock/, 120_000);
      await two.waitFor('stderr', /resuming from the checkpoint at source index \d+/);
      const b = await open(to);
      await until(
        async () => (await cli(['diff', from, to, '--prefix', 'app'])).code === 0,
        'polykv diff to be empty after the failover',
        async () => `${JSON.stringify(await differences(a, b))}\n${two.stderr}`,
        120_000,
      );
      for (let i = 45; i < 60; i++) assert.equal((await b.get(`app/w${i % 15}`))?.value, `write ${i}`);
      assert.doesNotMatch(two.stderr, /full read/, 'the new instance resumed; it did not copy again');
      const result = await stopMirror(two);
      assert.equal(result.code, 0, result.stderr);
    });
  });
}

describe('polykv mirror: keys the target cannot hold', { timeout: 300_000 }, () => {
  it('are named when met, again after a restart (from the checkpoint), and make the exit code 1', async () => {
    const [consul, etcd] = await Promise.all([startConsulCluster(1), startEtcd()]);
    const from = `consul://${consul.servers[0]!.address}/t4`;
    const to = `etcd://${etcd.host}/t4`;
    const a = await open(from);
    await a.set('app/plain', 'carried');
    await a.set('app/flagged', 'has flags', { flags: 42 });
    const args = ['mirror', '--from', from, '--to', to, '--prefix', 'app'];
    let mirror = startCli(args);
    await mirror.waitFor('stderr', /not carried app\/flagged: UNREPRESENTABLE: .*flags 42/, 60_000);
    await mirror.waitFor('stderr', /in sync: wrote 1/);
    let result = await stopMirror(mirror);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /not carried 1/);
    assert.match(result.stdout, /^ {2}not carried {2}app\/flagged {2}UNREPRESENTABLE: /m);

    mirror = startCli(args);
    await mirror.waitFor('stderr', /resuming from the checkpoint/);
    await mirror.waitFor('stderr', /not carried app\/flagged: UNREPRESENTABLE/);
    result = await stopMirror(mirror);
    assert.equal(result.code, 1, result.stderr);

    // --drop-flags: other settings, so a full read, which carries it without its flags; exit 0 again.
    mirror = startCli([...args, '--drop-flags']);
    await mirror.waitFor('stderr', /full read \(the checkpoint was taken with other settings/);
    await mirror.waitFor('stderr', /adjusted app\/flagged: flags 42 dropped/, 60_000);
    await mirror.waitFor('stderr', /in sync: wrote 1/);
    result = await stopMirror(mirror);
    assert.equal(result.code, 0, result.stderr);
    const b = await open(to);
    assert.equal((await b.get('app/flagged'))?.value, 'has flags');
  });
});

describe('polykv mirror --help', () => {
  it('says what the daemon does and lists every option', async () => {
    const help = await cli(['mirror', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      '--from',
      '--to',
      '--prefix',
      '--exclude p',
      '(repeatable)',
      '--delete',
      '--drop-flags',
      '--verbose',
      '--ha',
      '--ttl',
      '--fresh',
      'Checkpoint',
      'fencing token',
      'not carried',
      'SIGTERM',
    ])
      assert.ok(help.stdout.includes(text), text);
    const usage = await cli(['mirror', '--from', 'memory://']);
    assert.equal(usage.code, 2);
  });
});
