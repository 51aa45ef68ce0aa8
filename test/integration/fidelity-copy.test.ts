import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  binaryCodec,
  copy,
  createMemoryStore,
  diff,
  isPolykvError,
  mirror,
  type CopySummary,
  type PolykvError,
  type Store,
} from '@polykv/core';
import { ConsulClient, createConsulStore } from '@polykv/consul';
import { EtcdClient, createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';

after(stopAllServers);

/** The code (and `what`) of each failed key, sorted by key. */
function failures(summary: CopySummary): [string, string][] {
  return summary.failed
    .map(({ key, error }): [string, string] => [
      key,
      isPolykvError(error)
        ? `${error.code}${'what' in error ? `/${String(error.what)}` : ''}`
        : String(error),
    ])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * copy, diff and mirror carry every source key, carry it with a named adjustment, or name it as
 * not carried (issue 12.2, 12.4, 12.5, 12.6), between real Consul, real etcd and memory://. The
 * foreign data is written through the native clients, as other tools would write it.
 */
describe('copy, diff, mirror: every key carried or named', { timeout: 120_000 }, () => {
  let consulAgent: ConsulAgent;
  let member: EtcdMember;
  let consul: ConsulClient;
  let etcd: EtcdClient;
  const stores: Store<unknown>[] = [];
  const openConsul = (prefix: string): Store<Uint8Array> => {
    const store = createConsulStore({ client: consul, prefix, codec: binaryCodec });
    stores.push(store);
    return store;
  };
  const openEtcd = (prefix: string, base64 = false): Store<Uint8Array> => {
    const store = createEtcdStore({
      hosts: member.host,
      prefix,
      codec: binaryCodec,
      ...(base64 ? { binaryEncoding: 'base64' as const } : {}),
    });
    stores.push(store);
    return store;
  };
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  before(async () => {
    [consulAgent, member] = await Promise.all([startConsulDev(), startEtcd()]);
    consul = new ConsulClient({ address: consulAgent.address });
    etcd = new EtcdClient({ hosts: member.host });
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await consul?.close();
    await etcd?.close();
  });

  it('flags: Consul to Consul and to memory:// and back; into etcd refused unless dropFlags', async () => {
    await consul.kv.put('fl/a', 'with flags', { flags: 42 });
    await consul.kv.put('fl/max', 'max', { flags: (1n << 64n) - 1n });
    await consul.kv.put('fl/none', 'plain');
    const source = openConsul('fl');
    const target = openConsul('fl-copy');
    const summary = await copy(source, target);
    assert.deepEqual(summary.failed, []);
    assert.equal((await consul.kv.get('fl-copy/a')).data?.Flags, 42n);
    assert.equal((await consul.kv.get('fl-copy/max')).data?.Flags, (1n << 64n) - 1n);
    assert.deepEqual(await diff(source, target), { missing: [], extra: [], different: [], unlisted: [] });
    const again = await copy(source, target);
    assert.deepEqual(
      again.skipped.map(({ reason }) => reason),
      ['same', 'same', 'same'],
      'idempotent: flags compared too',
    );

    const memory = createMemoryStore({ codec: binaryCodec });
    await copy(source, memory);
    assert.equal((await memory.get('a'))?.flags, 42n);
    const back = openConsul('fl-back');
    await copy(memory, back);
    assert.equal((await consul.kv.get('fl-back/a')).data?.Flags, 42n);

    await consul.kv.put('fl-copy/a', 'with flags', { flags: 43 });
    assert.deepEqual((await diff(source, target)).different, ['a'], 'flags that differ are a difference');

    const refused = await copy(source, openEtcd('fl'));
    assert.deepEqual(failures(refused), [
      ['a', 'UNREPRESENTABLE/flags'],
      ['max', 'UNREPRESENTABLE/flags'],
    ]);
    assert.deepEqual(refused.copied, ['none']);
    const dropped = await copy(source, openEtcd('fl'), { dropFlags: true });
    assert.deepEqual(dropped.failed, []);
    assert.deepEqual(dropped.copied, ['a', 'max']);
    assert.deepEqual(
      dropped.adjusted.map(({ key }) => key),
      ['a', 'max'],
    );
    assert.match(dropped.adjusted[0]!.note, /flags 42 dropped/);
    assert.equal((await etcd.keys.get('fl/a')).node.value, 'with flags');
  });

  it('keys the model cannot carry are failed by copy and named by diff', async () => {
    await consul.kv.put('odd/ok', 'v');
    await consul.kv.put('odd/slash/', 'a value');
    await consul.txn.apply([{ KV: { Verb: 'set', Key: 'odd/a//b', Value: 'v' } }]);
    const source = openConsul('odd');
    const target = openEtcd('odd');
    const summary = await copy(source, target);
    assert.deepEqual(failures(summary), [
      ['a//b', 'UNREPRESENTABLE/key'],
      ['slash/', 'UNREPRESENTABLE/key'],
    ]);
    assert.deepEqual(summary.copied, ['ok']);
    const result = await diff(source, target);
    assert.deepEqual(
      result.unlisted.map(({ side, path }) => [side, path]),
      [
        ['a', 'a//b'],
        ['a', 'slash/'],
      ],
    );
    assert.deepEqual(result.missing, []);
  });

  it('a value with children: into etcd and memory:// the value fails by name, the children are carried', async () => {
    await consul.kv.put('vc/a', 'parent value');
    await consul.kv.put('vc/a/b', 'child');
    const source = openConsul('vc');
    for (const target of [openEtcd('vc'), createMemoryStore({ codec: binaryCodec })]) {
      const summary = await copy(source, target);
      assert.deepEqual(failures(summary), [['a', 'UNREPRESENTABLE/value']]);
      assert.match(String((summary.failed[0]!.error as Error).message), /holds a value and has children/);
      assert.deepEqual(summary.copied, ['a/b']);
    }
    const consulTarget = await copy(source, openConsul('vc-copy'));
    assert.deepEqual(consulTarget.copied, ['a', 'a/b']);
  });

  it('TTLs: raised to the target minimum and named; too long or a directory TTL into Consul is refused', async () => {
    await etcd.keys.set('ttl/short', 'six seconds', { ttl: 6 });
    await etcd.keys.set('ttl/long', 'two days', { ttl: 172_800 });
    await etcd.keys.mkdir('ttl/dir', { ttl: 60 });
    await etcd.keys.set('ttl/dir/child', 'in a dir with a TTL');
    const source = openEtcd('ttl');
    const summary = await copy(source, openConsul('ttl'));
    assert.deepEqual(failures(summary), [
      ['dir', 'UNREPRESENTABLE/ttl'],
      ['long', 'UNREPRESENTABLE/ttl'],
    ]);
    assert.deepEqual(
      summary.adjusted.map(({ key }) => key),
      ['short'],
    );
    // 6 s when the copy runs within a second of the write (the remaining TTL, rounded up).
    assert.match(summary.adjusted[0]!.note, /^ttl raised from [1-6] s to 10 s \(Consul's minimum\)$/);
    const short = (await consul.kv.get('ttl/short')).data!;
    assert.ok(short.Session, 'the TTL is a session on Consul');
    assert.deepEqual(summary.copied, ['dir/child', 'short']);

    // Into etcd and memory:// the directory keeps its TTL.
    for (const target of [openEtcd('ttl-copy'), createMemoryStore({ codec: binaryCodec })]) {
      const copied = await copy(source, target);
      assert.deepEqual(copied.failed, []);
      assert.ok(copied.dirs.includes('dir'));
      const dir = (await target.list('')).find((entry) => entry.key === 'dir');
      assert.ok(dir?.dir && dir.expiresAt, 'the directory has a TTL');
      assert.ok(dir.expiresAt.getTime() - Date.now() > 40_000);
      assert.deepEqual((await target.get('dir/child'))?.value, bytes('in a dir with a TTL'));
    }
  });

  it('a key held by a foreign session: carried without the hold, named; a TTL write on one is HELD', async () => {
    const session = await consul.session.create({ Name: 'leader election', Behavior: 'delete', TTL: '60s' });
    assert.ok(await consul.kv.acquire('held/leader', session, 'node-1'));
    const summary = await copy(openConsul('held'), openEtcd('held'));
    assert.deepEqual(summary.copied, ['leader']);
    assert.equal(summary.adjusted.length, 1);
    assert.match(summary.adjusted[0]!.note, /held by session "leader election" \(.+\) on the source/);
    assert.ok((await consul.session.info(session)).data, 'the session is untouched');

    const other = await consul.session.create({ Name: 'someone', Behavior: 'delete', TTL: '60s' });
    assert.ok(await consul.kv.acquire('held-target/k', other, 'theirs'));
    const source = createMemoryStore({ codec: binaryCodec });
    await source.set('k', bytes('mine'), { ttl: 30 });
    const refused = await copy(source, openConsul('held-target'), { overwrite: true });
    assert.deepEqual(failures(refused), [['k', 'HELD']]);
    assert.equal((await consul.kv.get('held-target/k')).data?.Session, other);
  });

  it('bytes that are not UTF-8: Consul to etcd refused, with the base64 opt-in carried; diff compares bytes', async () => {
    const raw = new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x61, 0x62, 0x63]);
    await consul.kv.put('bin/k', raw);
    await consul.kv.put('bin/text', 'hello world');
    const source = openConsul('bin');
    const refused = await copy(source, openEtcd('bin'));
    assert.deepEqual(failures(refused), [['k', 'UNREPRESENTABLE/value']]);
    assert.equal((await etcd.keys.get('bin/text')).node.value, 'hello world');
    const encoded = openEtcd('bin', true);
    const carried = await copy(source, encoded);
    assert.deepEqual(carried.failed, []);
    assert.deepEqual((await encoded.get('k'))?.value, raw);
    assert.deepEqual(await diff(source, encoded), { missing: [], extra: [], different: [], unlisted: [] });
    await consul.kv.put('bin/k', new Uint8Array([0xef, 0xbf, 0xbd, 0x00]));
    assert.deepEqual((await diff(source, encoded)).different, ['k']);
  });

  it('mirror: flags carried to Consul; into etcd a change with flags is skipped unless dropFlags', async () => {
    const source = openConsul('mf');
    const toConsul = mirror(source, openConsul('mf-consul'));
    const toEtcd = mirror(source, openEtcd('mf'));
    const dropping = mirror(source, openEtcd('mf-drop'), { dropFlags: true });
    const skipped: [string, PolykvError][] = [];
    toEtcd.on('skipped', (key, error) => skipped.push([key, error]));
    try {
      await Promise.all(
        [toConsul, toEtcd, dropping].map(
          (running) => new Promise((resolve) => running.once('synced', resolve)),
        ),
      );
      await consul.kv.put('mf/k', 'flagged', { flags: 9 });
      for (let i = 0; i < 100 && (await consul.kv.get('mf-consul/k')).data?.Flags !== 9n; i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await consul.kv.get('mf-consul/k')).data?.Flags, 9n);
      for (let i = 0; i < 100 && skipped.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(
        skipped.map(([key, error]) => [key, error.code]),
        [['k', 'UNREPRESENTABLE']],
      );
      for (let i = 0; i < 100; i++) {
        const node = await etcd.keys.get('mf-drop/k').catch(() => undefined);
        if (node) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal((await etcd.keys.get('mf-drop/k')).node.value, 'flagged');
    } finally {
      await Promise.all([toConsul.close(), toEtcd.close(), dropping.close()]);
    }
  });

  it("copy with the caller's signal and 64 in flight into etcd prints no MaxListenersExceededWarning", async () => {
    const source = createMemoryStore<Uint8Array>({ codec: binaryCodec });
    await Promise.all(Array.from({ length: 200 }, (_, i) => source.set(`many/k${i}`, bytes(`v${i}`))));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const summary = await copy(source, openEtcd('signal-fan-out'), {
        concurrency: 64,
        signal: new AbortController().signal,
      });
      assert.equal(summary.copied.length, 200);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map(String),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      await source.close();
    }
  });
});
