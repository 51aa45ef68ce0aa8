import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isPolykvError, type KeyEvent, type Store } from '@polykv/core';
import { ConsulError, createConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes until the write is acknowledged, retrying while the agent is unreachable or restarting. */
async function setAcked(store: Store, key: string, value: string): Promise<void> {
  for (;;) {
    try {
      await store.set(key, value);
      return;
    } catch (error) {
      if (!isPolykvError(error) || !['UNAVAILABLE', 'BACKEND_ERROR', 'TIMEOUT'].includes(error.code))
        throw error;
      await delay(100);
    }
  }
}

describe('Consul store watch behind a faulty connection', () => {
  it('keeps a sequence-numbered stream complete across a proxy reset and an agent restart', async () => {
    const agent = await startConsulDev({ acl: true, hcl: ['session_ttl_min = "1s"'] });
    const proxy = await TcpProxy.start('127.0.0.1', agent.httpPort);
    after(() => proxy.close());
    const prefix = `watch-${process.pid}`;
    const writer = createConsulStore({
      client: { address: agent.address, token: agent.token! },
      prefix,
      minTtl: 1,
    });
    const reader = createConsulStore({
      client: { address: proxy.host, token: agent.token!, timeout: 3000 },
      prefix,
      minTtl: 1,
      watchWait: 5000,
    });
    const watcher = reader.watch('', { recursive: true });
    const events: KeyEvent[] = [];
    watcher.on('put', (event) => events.push(event));
    watcher.on('delete', (event) => events.push(event));
    watcher.on('expire', (event) => events.push(event));
    watcher.on('error', () => undefined);
    let disconnects = 0;
    watcher.on('disconnected', () => disconnects++);
    await new Promise<void>((resolve) => watcher.once('connected', resolve));

    const keys = ['a', 'b', 'c', 'd/e'];
    const acked: { key: string; seq: number }[] = [];
    const latest = new Map<string, number>();
    let seq = 0;
    const write = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const key = keys[seq % keys.length]!;
        await setAcked(writer, key, String(seq));
        acked.push({ key, seq });
        latest.set(key, seq);
        seq++;
        await delay(5);
      }
    };

    await write(40);
    // A reset with no write after it: the watcher says it is back once a blocking query answers.
    const lost = new Promise<void>((resolve) => watcher.once('disconnected', () => resolve()));
    proxy.resetAll();
    await lost;
    const back = Date.now() + 15_000;
    while (!watcher.isConnected) {
      assert.ok(Date.now() < back, 'the watcher reconnects without a change to report');
      await delay(100);
    }
    await write(40);
    proxy.resetAll();
    await write(20);
    // A dev agent keeps its data in memory: a restart wipes it, and the writer writes it back.
    await agent.restart();
    // The watcher notices that the data is gone (its index went backwards: a full re-read).
    const wiped = Date.now() + 20_000;
    while (!keys.every((key) => events.findLast((event) => event.key === key)?.type === 'delete')) {
      assert.ok(Date.now() < wiped, 'the watcher reports the wiped keys as deleted');
      await delay(100);
    }
    for (const [key, value] of latest) await setAcked(writer, key, String(value));
    await write(40);

    // The watcher's view converges on the store.
    const view = (): Map<string, string> => {
      const state = new Map<string, string>();
      for (const event of events) {
        if (event.type === 'put') state.set(event.key, event.value);
        else state.delete(event.key);
      }
      return state;
    };
    const expected = new Map(
      (await writer.list('', { recursive: true })).flatMap((entry) =>
        entry.dir ? [] : [[entry.key, entry.value] as const],
      ),
    );
    const deadline = Date.now() + 30_000;
    while (JSON.stringify([...view()].sort()) !== JSON.stringify([...expected].sort())) {
      assert.ok(
        Date.now() < deadline,
        `the watcher's view ${JSON.stringify([...view()])} reaches the store's`,
      );
      await delay(100);
    }

    // Every acknowledged value arrived, or a later value of the same key did (Consul has no
    // history: values written between two blocking queries fold into the newest).
    const puts = events.filter((event) => event.type === 'put');
    for (const { key, seq: value } of acked) {
      assert.ok(
        puts.some((event) => event.key === key && Number(event.value) >= value),
        `value ${value} of ${key} arrived or was superseded`,
      );
    }
    // Per key, values never go back, and no event repeats the previous one.
    for (const key of keys) {
      const mine = events.filter((event) => event.key === key);
      let last = -1;
      for (let i = 0; i < mine.length; i++) {
        const event = mine[i]!;
        const previous = mine[i - 1];
        if (previous) {
          assert.ok(
            !(
              previous.type === event.type &&
              previous.index === event.index &&
              (previous as { value?: string }).value === (event as { value?: string }).value
            ),
            `no duplicate event for ${key} at index ${event.index}`,
          );
        }
        if (event.type === 'put') {
          assert.ok(Number(event.value) >= last, `${key}: ${event.value} after ${last}`);
          last = Number(event.value);
        }
      }
    }
    assert.ok(disconnects >= 2, `the watcher lived through the faults (${disconnects} disconnects)`);
    assert.ok(
      events.some((event) => event.type === 'delete'),
      'the restart wiped the data, and the watcher said so',
    );
    await watcher.close();
    await writer.close();
    await reader.close();
  });
});

describe('Consul store watch without the initial values', () => {
  it('starts from the key names alone and reports only what changed after them', async () => {
    const agent = await startConsulDev();
    const prefix = `listed-${process.pid}`;
    const store = createConsulStore({ client: { address: agent.address }, prefix, watchWait: 5000 });
    const kv = store.client.kv;
    const name = (i: number): string => `k${String(i).padStart(4, '0')}`;
    for (let i = 0; i < 300; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => kv.put(`${prefix}/${name(i + j)}`, `v${i + j}`)),
      );
    // Right after the listing (`?keys`, no value is read at the start): a listed key changes, one
    // is deleted, and a new key appears.
    const keys = kv.keys.bind(kv);
    const valueReads: string[] = [];
    kv.keys = async (path, options) => {
      const listed = await keys(path, options);
      await kv.put(`${prefix}/k0005`, 'changed');
      await kv.delete(`${prefix}/k0150`);
      await kv.put(`${prefix}/new`, 'new');
      return listed;
    };
    const list = kv.list.bind(kv);
    kv.list = async (path, options) => {
      // Blocking reads (on the listing's index, then on each answer's) are the watch's rounds.
      if (options?.index === undefined) valueReads.push(path);
      return list(path, options);
    };
    const watcher = store.watch('', { recursive: true, initial: false });
    try {
      const events: string[] = [];
      watcher.on('put', (event) => events.push(`put ${event.key} ${event.value}`));
      watcher.on('delete', (event) => events.push(`delete ${event.key}`));
      watcher.on('error', () => undefined);
      await new Promise<void>((resolve) => watcher.once('connected', resolve));
      assert.deepEqual(valueReads, [], 'no value read but the blocking rounds');
      // The watch reports in order: once this write arrives, everything before it has.
      await eventually(() => events.length >= 3, 'the three changes made after the listing');
      await store.set('sentinel', 'last');
      await eventually(() => events.includes('put sentinel last'), 'the write after them');
      assert.deepEqual(events.slice(0, -1).sort(), ['delete k0150', 'put k0005 changed', 'put new new']);
      // The keys that did not change were recorded from that answer: a later change is one put.
      events.length = 0;
      await store.set(name(10), 'later');
      await store.set('sentinel', 'again');
      await eventually(() => events.includes('put sentinel again'), 'the second sentinel');
      assert.deepEqual(events, [`put ${name(10)} later`, 'put sentinel again']);
      assert.deepEqual(valueReads, [], 'no value read but the blocking rounds');
    } finally {
      await watcher.close();
      await store.close();
    }
  });

  it('after a failed round, reports the listed keys it has not read as puts, then resync', async () => {
    const agent = await startConsulDev();
    const prefix = `listed-resync-${process.pid}`;
    const store = createConsulStore({ client: { address: agent.address }, prefix, watchWait: 5000 });
    for (const key of ['a', 'b', 'c']) await store.set(key, key);
    // The round after the listing fails: the next is a plain read after a failure, whose indexes
    // may come from an agent that started over, so the keys it cannot compare are reported.
    const reads = store.client.kvReads;
    const read = reads.read.bind(reads);
    let failed = false;
    reads.read = (path, options) => {
      if (!failed) {
        failed = true;
        return Promise.reject(new ConsulError('CONSUL_UNAVAILABLE', 'the round after the listing fails'));
      }
      return read(path, options);
    };
    const watcher = store.watch('', { recursive: true, initial: false });
    try {
      const events: string[] = [];
      watcher.on('change', (event) =>
        events.push(event.type === 'resync' ? 'resync' : `${event.type} ${event.key}`),
      );
      watcher.on('error', () => undefined);
      await eventually(() => events.includes('resync'), 'the resync after the failed round');
      assert.deepEqual(events, ['put a', 'put b', 'put c', 'resync']);
    } finally {
      await watcher.close();
      await store.close();
    }
  });
});
