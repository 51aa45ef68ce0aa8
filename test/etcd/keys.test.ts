import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isPolykvError } from '@polykv/core';
import { createEtcdStore, EtcdClient, isEtcdError, type EtcdWatchEvent } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import type { EtcdMember } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, portOf, useMember } from './util.js';

after(stopAllServers);

function code(expected: string, errorCode?: number) {
  return (error: unknown): boolean => {
    assert.ok(isEtcdError(error), String(error));
    assert.equal(error.code, expected);
    if (errorCode !== undefined) assert.equal(error.errorCode, errorCode);
    return true;
  };
}

describe('etcd native keys API (real member)', { timeout: 120_000 }, () => {
  let member: EtcdMember;
  let etcd: EtcdClient;
  useMember((started, client) => ([member, etcd] = [started, client]));

  it('get of a missing key rejects with errorCode 100 and the index', async () => {
    await assert.rejects(etcd.keys.get('nope'), (error: unknown) => {
      code('ETCD_KEY_NOT_FOUND', 100)(error);
      assert.ok(isEtcdError(error) && typeof error.index === 'number' && error.index > 0);
      return true;
    });
  });

  it('set on a directory is "not a file"; an existing directory cannot be created again', async () => {
    await etcd.keys.mkdir('d1');
    await assert.rejects(etcd.keys.set('d1', 'v'), code('ETCD_NOT_A_FILE', 102));
    await assert.rejects(etcd.keys.mkdir('d1', { prevExist: false }), code('ETCD_NODE_EXISTS', 105));
    await etcd.keys.set('leaf', 'v');
    await assert.rejects(etcd.keys.set('leaf/under', 'v'), code('ETCD_NOT_A_DIRECTORY', 104));
  });

  it('update needs the key; compareAndSwap and compareAndDelete by value; prevIndex', async () => {
    await assert.rejects(etcd.keys.update('fresh', 'v'), code('ETCD_KEY_NOT_FOUND', 100));
    const created = await etcd.keys.set('cas', 'one');
    await etcd.keys.compareAndSwap('cas', 'two', 'one');
    await assert.rejects(etcd.keys.compareAndSwap('cas', 'three', 'one'), code('ETCD_TEST_FAILED', 101));
    await assert.rejects(
      etcd.keys.set('cas', 'x', { prevIndex: created.node.modifiedIndex }),
      code('ETCD_TEST_FAILED', 101),
    );
    const updated = await etcd.keys.update('cas', 'four');
    assert.equal(updated.node.createdIndex, created.node.createdIndex, 'update keeps createdIndex');
    assert.equal(updated.prevNode?.value, 'two');
    await assert.rejects(etcd.keys.compareAndDelete('cas', 'two'), code('ETCD_TEST_FAILED', 101));
    const deleted = await etcd.keys.compareAndDelete('cas', 'four');
    assert.equal(deleted.action, 'compareAndDelete');
  });

  it('directories: recursive sorted get, rmdir, directory TTL update', async () => {
    await etcd.keys.set('tree/b', '2');
    await etcd.keys.set('tree/a', '1');
    await etcd.keys.set('tree/c/d', '3');
    const { node } = await etcd.keys.get('tree', { recursive: true, sorted: true });
    assert.deepEqual(
      node.nodes?.map((child) => child.key),
      ['/tree/a', '/tree/b', '/tree/c'],
    );
    assert.equal(node.nodes?.[2]?.nodes?.[0]?.value, '3');
    await assert.rejects(etcd.keys.rmdir('tree'), code('ETCD_DIR_NOT_EMPTY', 108));
    await etcd.keys.rmdir('tree', { recursive: true });
    const dir = await etcd.keys.mkdir('ttldir', { ttl: 100 });
    assert.equal(dir.node.ttl, 100);
    const refreshed = await etcd.keys.set('ttldir', undefined, { dir: true, prevExist: true, ttl: 200 });
    assert.equal(refreshed.node.ttl, 200);
  });

  it('in-order keys are monotonic and sortable', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push((await etcd.keys.create('queue', `item${i}`)).node.key);
    assert.deepEqual([...keys].sort(), keys);
    for (const key of keys) assert.match(key, /^\/queue\/\d{20}$/);
  });

  it('TTL refresh by prevIndex keeps the value and moves the index; a stale index fails', async () => {
    const first = await etcd.keys.set('lease', 'token', { ttl: 30 });
    const refreshed = await etcd.keys.refresh('lease', 60, { prevIndex: first.node.modifiedIndex });
    assert.equal(refreshed.node.value, 'token');
    assert.equal(refreshed.node.ttl, 60);
    assert.ok(refreshed.node.modifiedIndex > first.node.modifiedIndex);
    await assert.rejects(
      etcd.keys.refresh('lease', 60, { prevIndex: first.node.modifiedIndex }),
      code('ETCD_TEST_FAILED', 101),
    );
  });

  it('Store.set of an empty value on a directory is IS_A_DIRECTORY and leaves the directory alone', async () => {
    const store = createEtcdStore({ hosts: member.host, prefix: 'emptyset' });
    await store.mkdir('d', { ttl: 100 });
    await assert.rejects(
      store.set('d', ''),
      (error: unknown) => isPolykvError(error) && error.code === 'IS_A_DIRECTORY',
    );
    assert.equal((await etcd.keys.get('emptyset/d')).node.ttl !== undefined, true, 'the TTL is still there');
    await store.close();
  });

  it('Store: a path under a value is a missing key for del, CAS and compareAndDelete (as on memory://)', async () => {
    const store = createEtcdStore({ hosts: member.host, prefix: 'undervalue' });
    await store.set('a', 'v');
    assert.equal(await store.del('a/b'), false);
    assert.equal(await store.get('a/b'), null);
    assert.deepEqual(await store.list('a/b'), []);
    const notFound = (error: unknown) => isPolykvError(error) && error.code === 'NOT_FOUND';
    await assert.rejects(store.compareAndSwap('a/b', 'x', { prevValue: 'v' }), notFound);
    await assert.rejects(store.compareAndDelete('a/b', { prevIndex: 1 }), notFound);
    await assert.rejects(
      store.compareAndSwap('a/b', 'x', { prevExist: false }),
      (error: unknown) => isPolykvError(error) && error.code === 'NOT_A_DIRECTORY',
    );
    await store.close();
  });

  it('the json option stringifies and parses values', async () => {
    const client = new EtcdClient({ hosts: member.host, json: true });
    await client.keys.set('json/cfg', { port: 5432, tags: ['a'] });
    assert.deepEqual((await client.keys.get<{ port: number }>('json/cfg')).node.value, {
      port: 5432,
      tags: ['a'],
    });
    await etcd.keys.set('json/plain', 'not json');
    assert.equal((await client.keys.get('json/plain')).node.value, 'not json');
    await client.close();
  });

  it('the default timeout never cuts a long-poll wait short; a per-call timeout bounds it', async () => {
    const client = new EtcdClient({ hosts: member.host, timeout: 100, attemptTimeout: 300 });
    const start = await client.keys.set('slow', 'v0');
    const waiting = client.keys.wait('slow', { waitIndex: start.node.modifiedIndex + 1 });
    // Longer than both the default timeout and the attempt timeout (a liveness wait, not a measurement).
    await new Promise((resolve) => setTimeout(resolve, 800));
    await etcd.keys.set('slow', 'v1');
    assert.equal((await waiting).node?.value, 'v1');
    await assert.rejects(
      client.keys.wait('slow', { waitIndex: start.node.modifiedIndex + 10, timeout: 200 }),
      code('ETCD_TIMEOUT'),
    );
    await client.close();
  });

  it('raw requests', async () => {
    const response = await etcd.raw<{ node: { value: string } }>('PUT', 'v2/keys/raw', { value: 'r' });
    assert.equal(response.body.node.value, 'r');
    assert.equal((await etcd.raw<{ node: { value: string } }>('GET', 'v2/keys/raw')).body.node.value, 'r');
  });

  it('the native watcher: action events, change, stop, async iterator, signal', async () => {
    const watcher = etcd.watcher('watched', { recursive: true });
    const actions: string[] = [];
    const sets: EtcdWatchEvent[] = [];
    watcher.on('change', (event) => actions.push(event.action));
    watcher.on('set', (event) => sets.push(event));
    let stopped = false;
    watcher.on('stop', () => (stopped = true));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
    await etcd.keys.set('watched/a', '1');
    await etcd.keys.update('watched/a', '2');
    await etcd.keys.del('watched/a');
    await eventually(() => actions.length === 3, 10_000, 'three events');
    assert.deepEqual(actions, ['set', 'update', 'delete']);
    assert.equal(sets[0]!.node.value, '1');
    await watcher.stop();
    assert.equal(stopped, true);

    const controller = new AbortController();
    const iterated = etcd.watcher('iter', { signal: controller.signal });
    await new Promise<void>((resolve) => iterated.once('ready', resolve));
    const values: string[] = [];
    const writer = (async () => {
      await etcd.keys.set('iter', 'x');
      await etcd.keys.set('iter', 'y');
    })();
    for await (const event of iterated) {
      values.push(event.node.value!);
      if (values.length === 2) controller.abort();
    }
    await writer;
    assert.deepEqual(values, ['x', 'y']);
  });

  it('close() frees every socket, also those of open watchers', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', portOf(member.host));
    const client = new EtcdClient({ hosts: proxy.host });
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.keys.set(`sockets/${i}`, 'v')));
    const watcher = client.watcher('sockets', { recursive: true });
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
    assert.ok(proxy.openConnections > 0);
    await client.close();
    await eventually(() => proxy.openConnections === 0, 10_000, 'every connection closed');
    await assert.rejects(client.keys.get('sockets/0'), code('ETCD_CLOSED'));
    await proxy.close();
  });

  it('store lock: a foreign write to the holder node, or a partition, gives the lost signal', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', portOf(member.host));
    const store = createEtcdStore({
      hosts: proxy.host,
      prefix: 'locks-test',
      attemptTimeout: 500,
      maxRetries: 0,
    });
    try {
      const lock = await store.lock('res', { ttl: 3 });
      const holder = (await etcd.keys.get('locks-test/.polykv/locks/res')).node.nodes![0]!;
      await etcd.keys.update(holder.key, 'someone else');
      const lost = await new Promise<unknown>((resolve) => lock.once('lost', resolve));
      assert.ok(isPolykvError(lost) && lost.code === 'LOCK_LOST');

      const second = await store.lock('res2', { ttl: 3 });
      proxy.setMode({ kind: 'blackhole' });
      proxy.resetAll();
      const lost2 = await new Promise<unknown>((resolve) => second.once('lost', resolve));
      assert.ok(isPolykvError(lost2) && lost2.code === 'LOCK_LOST');
      assert.equal(second.signal.aborted, true);
      proxy.pass();
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
