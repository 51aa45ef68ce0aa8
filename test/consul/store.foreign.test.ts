import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { binaryCodec, copy, createMemoryStore, isPolykvError, type PolykvErrorCode } from '@polykv/core';
import { ConsulClient, createConsulStore, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';

after(stopAllServers);

const run = promisify(execFile);

function hasCode(code: PolykvErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isPolykvError(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** polykv's own TTL session name for a Consul key path. */
function ttlName(path: string): string {
  return `polykv-ttl ${createHash('sha256').update(path).digest('hex').slice(0, 16)}`;
}

/**
 * Sessions polykv did not create (issue 12.1): a session with `Behavior: delete` holds two keys, as a
 * Go service's `api.Lock` or `consul lock` would. Every polykv write path on one of them must leave
 * the session, and with it the other key, exactly as `consul kv put` does.
 */
describe('Consul Store: keys held by sessions polykv did not create', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  let store: ConsulStore;
  let bytes: ConsulStore<Uint8Array>;

  before(async () => {
    agent = await startConsulDev();
    client = new ConsulClient({ address: agent.address });
    store = createConsulStore({ client, prefix: '' });
  });
  after(async () => {
    await store?.close();
    await bytes?.close();
    await client?.close();
  });

  /** A foreign session (Behavior delete) holding `<dir>/leader` and `<dir>/registry/node-1`. */
  async function foreignHold(dir: string): Promise<string> {
    const session = await client.session.create({ Name: `svc ${dir}`, Behavior: 'delete', TTL: '60s' });
    assert.equal(await client.kv.acquire(`${dir}/leader`, session, 'node-1'), true);
    assert.equal(await client.kv.acquire(`${dir}/registry/node-1`, session, '10.0.0.1'), true);
    return session;
  }

  /** The session still exists and both keys are there, still held by it. */
  async function assertIntact(dir: string, session: string): Promise<void> {
    const { data: info } = await client.session.info(session);
    assert.ok(info, `session ${session} was destroyed`);
    const registry = (await client.kv.get(`${dir}/registry/node-1`)).data;
    assert.ok(registry, `${dir}/registry/node-1 (never written by polykv) vanished`);
    assert.equal(registry.Session, session);
    const leader = (await client.kv.get(`${dir}/leader`)).data;
    assert.ok(leader, `${dir}/leader vanished`);
    assert.equal(leader.Session, session, 'the hold stays, as consul kv put leaves it');
  }

  it('set keeps the session and every key it holds', async () => {
    const session = await foreignHold('set');
    const entry = await store.set('set/leader', 'x');
    assert.equal(entry.value, 'x');
    await assertIntact('set', session);
    assert.equal((await store.get('set/leader'))?.value, 'x');
  });

  it('compareAndSwap (prevIndex and prevValue) keeps the session', async () => {
    const session = await foreignHold('cas');
    const current = (await store.get('cas/leader'))!;
    await store.compareAndSwap('cas/leader', 'by-index', { prevIndex: current.index });
    await assertIntact('cas', session);
    await store.compareAndSwap('cas/leader', 'by-value', { prevValue: 'by-index' });
    await assertIntact('cas', session);
    assert.equal((await store.get('cas/leader'))?.value, 'by-value');
  });

  it('writeMany (the bulk path) and copy keep the session', async () => {
    const session = await foreignHold('bulk');
    const current = (await store.get('bulk/leader'))!;
    const results = await store.writeMany([
      { key: 'bulk/leader', value: 'bulk', prevIndex: current.index },
      { key: 'bulk/other', value: 'new', prevIndex: 0 },
    ]);
    assert.deepEqual(results, [undefined, undefined]);
    await assertIntact('bulk', session);

    const copied = await foreignHold('copied');
    const source = createMemoryStore();
    await source.set('copied/leader', 'from memory');
    const summary = await copy(source, store, { overwrite: true });
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.copied, ['copied/leader']);
    await assertIntact('copied', copied);
    assert.equal((await store.get('copied/leader'))?.value, 'from memory');
  });

  it('the large-value path (over 285 KiB) keeps the session', async () => {
    bytes = createConsulStore({ client, prefix: '' });
    const session = await foreignHold('large');
    const big = 'x'.repeat(400 * 1024);
    await store.set('large/leader', big);
    await assertIntact('large', session);
    assert.equal((await store.get('large/leader'))?.value.length, big.length);
  });

  it('a write to the key of a running `consul lock` does not kill its child', async () => {
    const child: ChildProcess = spawn(
      agent.binary,
      ['lock', `-http-addr=${agent.address}`, 'lk9', 'sleep', '60'],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      let session: string | undefined;
      for (let i = 0; i < 200 && !session; i++) {
        session = (await client.kv.get('lk9/.lock')).data?.Session || undefined;
        if (!session) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(session, 'consul lock took the lock');
      await store.set('lk9/.lock', 'x');
      // consul lock watches its key with blocking reads: give it time to notice a change.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(gone, false, 'the child of consul lock is still running');
      assert.ok((await client.session.info(session)).data, 'the lock session lives');
      assert.equal((await client.kv.get('lk9/.lock')).data?.Session, session);
    } finally {
      if (!gone) child.kill('SIGTERM');
      await exited;
    }
  });
  it('a TTL write on a foreign-held key rejects with HELD naming the session, and writes nothing', async () => {
    const session = await foreignHold('ttl');
    const before = (await client.kv.get('ttl/leader')).data!;
    await assert.rejects(store.set('ttl/leader', 'mine', { ttl: 10 }), (error: unknown) => {
      hasCode('HELD')(error);
      const held = error as { session: string; sessionName: string; node: string; message: string };
      assert.equal(held.session, session);
      assert.equal(held.sessionName, 'svc ttl');
      assert.ok(held.node !== '');
      assert.match(held.message, /svc ttl/);
      assert.ok(held.message.includes(session));
      return true;
    });
    await assert.rejects(
      store.compareAndSwap('ttl/leader', 'mine', { prevIndex: before.ModifyIndex }, { ttl: 10 }),
      hasCode('HELD'),
    );
    await assert.rejects(store.set('ttl/leader', 'x'.repeat(400 * 1024), { ttl: 10 }), hasCode('HELD'));
    const after = (await client.kv.get('ttl/leader')).data!;
    assert.equal(after.ModifyIndex, before.ModifyIndex, 'nothing written');
    await assertIntact('ttl', session);
  });

  it("a session that only looks like polykv's is not polykv's: kept on a plain write", async () => {
    // The old generic name, with Behavior delete and polykv's TTL stamp in the key's flags.
    const generic = await client.session.create({
      Name: 'polykv-ttl',
      Behavior: 'delete',
      TTL: '60s',
      LockDelay: '0s',
    });
    const stamp = (0x504bn << 48n) | BigInt(Date.now() + 60_000);
    assert.equal(await client.kv.acquire('look/a', generic, 'v', { flags: stamp }), true);
    assert.equal(await client.kv.acquire('look/b', generic, 'v'), true);
    await store.set('look/a', 'plain');
    assert.ok((await client.session.info(generic)).data, 'the session lives');
    assert.ok((await client.kv.get('look/b')).data, 'its other key lives');
    // The right name for another key is not the right name for this one.
    const other = await client.session.create({
      Name: ttlName('look/elsewhere'),
      Behavior: 'delete',
      TTL: '60s',
      LockDelay: '0s',
    });
    assert.equal(await client.kv.acquire('look/c', other, 'v', { flags: stamp }), true);
    await store.set('look/c', 'plain');
    assert.ok((await client.session.info(other)).data);
    // The right name with Behavior release is not polykv's either.
    const release = await client.session.create({
      Name: ttlName('look/d'),
      Behavior: 'release',
      TTL: '60s',
      LockDelay: '0s',
    });
    assert.equal(await client.kv.acquire('look/d', release, 'v', { flags: stamp }), true);
    await store.set('look/d', 'plain');
    assert.ok((await client.session.info(release)).data);
  });

  it("polykv's own TTL sessions: bound to the key by name, replaced by a TTL write, ended by a plain write", async () => {
    const first = await store.set('own/k', 'a', { ttl: 30 });
    assert.ok(first.expiresAt);
    const pair = (await client.kv.get('own/k')).data!;
    const info = (await client.session.info(pair.Session!)).data!;
    assert.equal(info.Name, ttlName('own/k'));
    assert.equal(info.Behavior, 'delete');
    assert.equal(first.flags, undefined, 'the TTL stamp is not shown as flags');
    await store.set('own/k', 'b', { ttl: 40 });
    const again = (await client.kv.get('own/k')).data!;
    assert.notEqual(again.Session, pair.Session);
    assert.equal((await client.session.info(pair.Session!)).data, null, 'the old own session was destroyed');
    await store.set('own/k', 'c');
    const plain = (await client.kv.get('own/k')).data!;
    assert.equal(plain.Session, undefined);
    assert.equal(plain.Flags, 0n);
    assert.equal((await client.session.info(again.Session!)).data, null);
    const entry = (await store.get('own/k'))!;
    assert.equal(entry.expiresAt, undefined);
    // push with a TTL: the session is bound to the pushed item.
    const pushed = await store.push('own/queue', 'job', { ttl: 30 });
    const item = (await client.kv.get(`own/queue/${pushed.key.split('/').at(-1)}`)).data!;
    assert.equal((await client.session.info(item.Session!)).data?.Name, ttlName(item.Key));
  });

  it('flags: written, read, replaced by a write without flags, kept exact up to 2^64 - 1', async () => {
    const written = await store.set('flags/a', 'v', { flags: 42 });
    assert.equal(written.flags, 42n);
    assert.equal((await client.kv.get('flags/a')).data?.Flags, 42n);
    assert.equal((await store.get('flags/a'))?.flags, 42n);
    const max = (1n << 64n) - 1n;
    await store.compareAndSwap('flags/a', 'w', { prevValue: 'v' }, { flags: max });
    assert.equal((await store.get('flags/a'))?.flags, max);
    await store.set('flags/a', 'x');
    assert.equal((await client.kv.get('flags/a')).data?.Flags, 0n, 'a write without flags writes 0');
    assert.equal((await store.get('flags/a'))?.flags, undefined);
    await assert.rejects(store.set('flags/b', 'v', { flags: 1, ttl: 10 }), hasCode('NOT_SUPPORTED'));
    await assert.rejects(store.set('flags/b', 'v', { flags: -1 }), hasCode('INVALID_ARGUMENT'));
    await assert.rejects(store.set('flags/b', 'v', { flags: 1n << 64n }), hasCode('INVALID_ARGUMENT'));
    assert.equal(await store.get('flags/b'), null);
    // Written by the consul binary, read by the store; writeMany carries flags in its transaction.
    await run(agent.binary, [
      'kv',
      'put',
      `-http-addr=${agent.address}`,
      '-flags=7',
      'flags/cli',
      'from cli',
    ]);
    assert.equal((await store.get('flags/cli'))?.flags, 7n);
    const results = await store.writeMany([{ key: 'flags/bulk', value: 'b', prevIndex: 0, flags: 99n }]);
    assert.deepEqual(results, [undefined]);
    assert.equal((await client.kv.get('flags/bulk')).data?.Flags, 99n);
    const pushed = await store.push('flags/q', 'p', { flags: 5 });
    assert.equal((await store.get(pushed.key))?.flags, 5n);
  });

  it('values that are not UTF-8: UNREPRESENTABLE with a text codec, the bytes with binaryCodec', async () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x61, 0x62, 0x63]);
    await client.kv.put('bin/k', bytes);
    await assert.rejects(store.get('bin/k'), (error: unknown) => {
      hasCode('UNREPRESENTABLE')(error);
      assert.equal((error as { key: string }).key, 'bin/k');
      return true;
    });
    await assert.rejects(store.list('bin'), hasCode('UNREPRESENTABLE'));
    const raw = createConsulStore({ client, codec: binaryCodec });
    try {
      assert.deepEqual((await raw.get('bin/k'))?.value, bytes);
    } finally {
      await raw.close();
    }
  });

  it('unlisted names the keys list leaves out; clean data has none', async () => {
    const scoped = createConsulStore({ client, prefix: 'odd' });
    try {
      await client.kv.put('odd/clean/a', 'v');
      assert.deepEqual(await scoped.unlisted(''), []);
      await client.kv.put('odd/slash/', 'value');
      await client.kv.put('odd/flagged/', undefined, { flags: 3 });
      await client.kv.put('odd/marker/', undefined);
      // Consul's HTTP router redirects paths with `//` or `/./` (301): only a transaction writes them.
      const odd = await client.txn.apply([
        { KV: { Verb: 'set', Key: 'odd/a//b', Value: 'v' } },
        { KV: { Verb: 'set', Key: 'odd/a/./b', Value: 'v' } },
      ]);
      assert.ok(odd.ok);
      await client.kv.put('odd/.polykv/mine', 'v');
      const unlisted = await scoped.unlisted('');
      assert.deepEqual(
        unlisted.map(({ path, code }) => ({ path, code })),
        [
          { path: 'a/./b', code: 'invalid-key' },
          { path: 'a//b', code: 'invalid-key' },
          { path: 'flagged/', code: 'trailing-slash' },
          { path: 'slash/', code: 'trailing-slash' },
        ],
      );
      assert.match(unlisted.find(({ path }) => path === 'slash/')!.reason, /5 bytes/);
      assert.deepEqual(
        (await scoped.unlisted('slash')).map(({ path }) => path),
        ['slash/'],
        "a folder's own marker holding a value is named too",
      );
      const keys = (await scoped.list('', { recursive: true })).map((entry) => entry.key);
      assert.ok(!keys.some((key) => key.includes('//') || key.includes('/./')), keys.join(','));
      assert.ok(keys.includes('marker'), 'an empty dir/ key is a directory');
      // A dir/ key holding a value or flags is no directory: copy would make an empty folder of it.
      assert.ok(!keys.includes('slash') && !keys.includes('flagged'), keys.join(','));
      const top = (await scoped.list('')).map((entry) => entry.key);
      assert.ok(!top.includes('slash') && !top.includes('flagged') && top.includes('marker'), top.join(','));
    } finally {
      await scoped.close();
    }
  });

  it('lock keys are removed after release when nobody waits, and stay while someone holds them', async () => {
    const locks = createConsulStore({ client, prefix: 'lk', lockDelay: 0 });
    try {
      const lock = await locks.lock('job', { ttl: 10 });
      assert.ok((await client.kv.get('lk/.polykv/locks/job')).data?.Session);
      await lock.release();
      assert.equal((await client.kv.get('lk/.polykv/locks/job')).data, null);

      const first = await locks.lock('job', { ttl: 10 });
      const waiting = locks.lock('job', { ttl: 10, wait: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await first.release();
      const second = await waiting;
      assert.ok((await client.kv.get('lk/.polykv/locks/job')).data?.Session, "the waiter's key stays");
      await second.release();
      assert.equal((await client.kv.get('lk/.polykv/locks/job')).data, null);
    } finally {
      await locks.close();
    }
  });
});
