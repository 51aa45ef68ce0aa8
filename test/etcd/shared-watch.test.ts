import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Watcher, WatchEvent } from '@polykv/core';
import {
  createEtcdStore,
  EtcdClient,
  isEtcdError,
  SharedWaits,
  type EtcdError,
  type EtcdNode,
  type EtcdResult,
  type EtcdWatcher,
  type EtcdWatchEvent,
} from '@polykv/etcd';
import { Agent, Dispatcher } from 'undici';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd, type EtcdMember } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, portOf } from './util.js';

after(stopAllServers);

let shared: Promise<EtcdMember> | undefined;
/** One member for the tests that do not stop it. */
function member(): Promise<EtcdMember> {
  shared ??= startEtcd();
  return shared;
}

function polls(client: EtcdClient): SharedWaits['polls'] {
  assert.ok(client.waits instanceof SharedWaits);
  return client.waits.polls;
}

/** Native watchers and their events by key. */
function nativeWatchers(
  client: EtcdClient,
  keys: string[],
  recursive = false,
): { watchers: EtcdWatcher[]; events: Map<string, EtcdWatchEvent[]>; ready: Promise<void> } {
  const events = new Map<string, EtcdWatchEvent[]>();
  const watchers = keys.map((key) => {
    const watcher = client.watcher(key, { recursive });
    const list: EtcdWatchEvent[] = [];
    events.set(key, list);
    watcher.on('change', (event) => list.push(event));
    watcher.on('error', () => undefined);
    return watcher;
  });
  const ready = Promise.all(
    watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('ready', () => resolve()))),
  ).then(() => undefined);
  return { watchers, events, ready };
}

function storeWatchers(
  store: ReturnType<typeof createEtcdStore>,
  keys: string[],
  recursive = false,
  initial = false,
): { watchers: Watcher<unknown>[]; events: Map<string, WatchEvent<unknown>[]>; ready: Promise<void> } {
  const events = new Map<string, WatchEvent<unknown>[]>();
  const watchers = keys.map((key) => {
    const watcher = store.watch(key, { recursive, initial });
    const list: WatchEvent<unknown>[] = [];
    events.set(key, list);
    watcher.on('change', (event) => list.push(event));
    watcher.on('error', () => undefined);
    return watcher;
  });
  const ready = Promise.all(
    watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('connected', () => resolve()))),
  ).then(() => undefined);
  return { watchers, events, ready };
}

const N = 320;

/** An agent that records the path of every request it sends. */
class CountingAgent extends Dispatcher {
  readonly paths: string[] = [];
  readonly #agent = new Agent({ keepAliveTimeout: 1000 });

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.paths.push(options.path);
    return this.#agent.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await this.#agent.close();
  }

  override async destroy(): Promise<void> {
    await this.#agent.destroy();
  }

  /** Quorum reads (baselines) sent so far. */
  get reads(): string[] {
    return this.paths.filter((path) => path.includes('quorum=true'));
  }
}

/** A node with its children sorted (etcd lists them in no fixed order). */
function sortedNode(node: EtcdNode): EtcdNode {
  if (!node.nodes) return node;
  return {
    ...node,
    nodes: node.nodes.map(sortedNode).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

type Outcome = { node: EtcdNode; etcdIndex: number | undefined } | { error: Partial<EtcdError> };

async function outcome(read: Promise<EtcdResult>): Promise<Outcome> {
  try {
    const result = await read;
    return { node: sortedNode(result.node), etcdIndex: result.etcdIndex };
  } catch (error) {
    assert.ok(isEtcdError(error), String(error));
    const { code, errorCode, etcdMessage, cause, index, statusCode, method, path } = error;
    return { error: { code, errorCode, etcdMessage, cause, index, statusCode, method, path } };
  }
}

describe('etcd shared watch polls', { timeout: 240_000 }, () => {
  it(`${N} native and ${N} Store watchers on distinct keys share polls: every event, ≤ 8 connections`, async () => {
    const server = await member();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(server.host));
    const prefix = `shared-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    // The default cap (64 sockets for ordinary requests): the baseline reads of the 2 × N watchers
    // are coalesced into directory reads, so they do not open a socket each.
    const client = new EtcdClient({ hosts: proxy.host });
    const store = createEtcdStore({ client, prefix });
    try {
      const nativeKeys = Array.from({ length: N }, (_, i) => `/${prefix}/n${i}`);
      const storeKeys = Array.from({ length: N }, (_, i) => `s${i}`);
      // Mixed: a few recursive watchers on directories, on both sides.
      const dirKeys = Array.from({ length: 10 }, (_, i) => `/${prefix}/rn${i}`);
      const storeDirKeys = Array.from({ length: 10 }, (_, i) => `rs${i}`);
      const native = nativeWatchers(client, nativeKeys);
      const nativeDirs = nativeWatchers(client, dirKeys, true);
      const viaStore = storeWatchers(store, storeKeys);
      const storeDirs = storeWatchers(store, storeDirKeys, true);
      await Promise.all([native.ready, nativeDirs.ready, viaStore.ready, storeDirs.ready]);
      await eventually(
        () => polls(client).some((poll) => poll.callers === 2 * N + 20),
        20_000,
        'every watcher waiting on the shared poll',
      );
      assert.equal(polls(client).length, 1, 'one poll for one directory');
      assert.ok(proxy.openConnections <= 8, `${proxy.openConnections} connections open`);

      await Promise.all([
        ...nativeKeys.map((key, i) => writer.keys.set(key, `v${i}`)),
        ...storeKeys.map((key, i) => writer.keys.set(`/${prefix}/${key}`, `v${i}`)),
        ...dirKeys.map((key, i) => writer.keys.set(`${key}/x`, `d${i}`)),
        ...storeDirKeys.map((key, i) => writer.keys.set(`/${prefix}/${key}/x`, `d${i}`)),
      ]);
      const delivered = (): boolean =>
        nativeKeys.every((key, i) => native.events.get(key)!.some((event) => event.node.value === `v${i}`)) &&
        storeKeys.every((key, i) =>
          viaStore.events.get(key)!.some((event) => event.type === 'put' && event.value === `v${i}`),
        ) &&
        dirKeys.every((key, i) =>
          nativeDirs.events.get(key)!.some((event) => event.node.value === `d${i}`),
        ) &&
        storeDirKeys.every((key, i) =>
          storeDirs.events.get(key)!.some((event) => event.type === 'put' && event.value === `d${i}`),
        );
      await eventually(delivered, 30_000, 'every event');
      // No watcher got an event for another key.
      for (const [key, list] of native.events)
        for (const event of list) assert.equal(event.node.key, key, 'a native watcher got only its key');
      for (const [key, list] of viaStore.events)
        for (const event of list) assert.equal((event as { key: string }).key, key);
      assert.ok(proxy.stats.connections <= 8, `${proxy.stats.connections} connections in all`);
      await Promise.all([...native.watchers, ...nativeDirs.watchers].map((watcher) => watcher.stop()));
      await Promise.all([...viaStore.watchers, ...storeDirs.watchers].map((watcher) => watcher.close()));
    } finally {
      await store.close();
      await client.close();
      await writer.close();
      await proxy.close();
    }
  });

  it('a directory delete reaches the watchers of keys below it; a replay from an old index joins the poll after', async () => {
    const server = await member();
    const prefix = `shared-del-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    const client = new EtcdClient({ hosts: server.host });
    const store = createEtcdStore({ client, prefix });
    try {
      const first = await writer.keys.set(`/${prefix}/d/old`, 'o1');
      await writer.keys.set(`/${prefix}/d/old`, 'o2');
      await writer.keys.set(`/${prefix}/d/a`, 'a');
      await writer.keys.set(`/${prefix}/d/b`, 'b');
      await writer.keys.set(`/${prefix}/d/e/f`, 'f');
      const native = nativeWatchers(client, [`/${prefix}/d/a`, `/${prefix}/d/e/f`]);
      const viaStore = storeWatchers(store, ['d/b', 'd'], false, true);
      const recursiveStore = storeWatchers(store, ['d'], true, true);
      await Promise.all([native.ready, viaStore.ready, recursiveStore.ready]);
      await writer.keys.set(`/${prefix}/d/a`, 'a2');
      await eventually(
        () => native.events.get(`/${prefix}/d/a`)!.length === 1,
        10_000,
        'the event before the delete',
      );

      // Started from an index older than the shared poll: catches up on the history, then joins.
      const replay = client.watcher(`/${prefix}/d/old`, { index: first.node.modifiedIndex });
      const replayed: string[] = [];
      replay.on('change', (event) => replayed.push(String(event.node.value)));
      await eventually(() => replayed.length === 2, 10_000, 'the replayed events');
      assert.deepEqual(replayed, ['o1', 'o2']);
      await eventually(
        () => polls(client).reduce((sum, poll) => sum + poll.callers, 0) === 6,
        10_000,
        'the replaying watcher on the shared poll',
      );
      await writer.keys.set(`/${prefix}/d/old`, 'o3');
      await eventually(() => replayed.length === 3, 10_000, 'a live event after the replay');

      await writer.keys.del(`/${prefix}/d`, { recursive: true });
      await eventually(
        () =>
          native.events.get(`/${prefix}/d/a`)!.some((event) => event.action === 'delete') &&
          native.events.get(`/${prefix}/d/e/f`)!.some((event) => event.action === 'delete') &&
          viaStore.events.get('d/b')!.some((event) => event.type === 'delete' && event.key === 'd/b'),
        10_000,
        'the delete of the directory',
      );
      await eventually(
        () =>
          ['d/a', 'd/b', 'd/e/f'].every((key) =>
            recursiveStore.events.get('d')!.some((event) => event.type === 'delete' && event.key === key),
          ),
        10_000,
        'one delete per key below the directory',
      );
      await replay.stop();
      await Promise.all(native.watchers.map((watcher) => watcher.stop()));
    } finally {
      await store.close();
      await client.close();
      await writer.close();
    }
  });

  it('history cleared (401) on a shared poll: every watcher resyncs to the true state', async () => {
    const server = await member();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(server.host));
    const prefix = `shared-401-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    const client = new EtcdClient({ hosts: proxy.host, maxRetries: 50 });
    const store = createEtcdStore({ client, prefix });
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((key) => writer.keys.set(`/${prefix}/${key}`, 'v0')));
      const native = nativeWatchers(
        client,
        keys.map((key) => `/${prefix}/${key}`),
      );
      const viaStore = storeWatchers(store, keys, false, true);
      let nativeResyncs = 0;
      for (const watcher of native.watchers) watcher.on('resync', () => nativeResyncs++);
      await Promise.all([native.ready, viaStore.ready]);
      await eventually(
        () => polls(client).some((poll) => poll.callers === 40),
        10_000,
        'the watchers on the shared poll',
      );

      // The poll is stuck behind the proxy while etcd's history moves on by more than 1,000 events.
      proxy.setMode({ kind: 'blackhole' });
      await writer.keys.set(`/${prefix}/k0`, 'v1');
      await writer.keys.del(`/${prefix}/k1`);
      for (let i = 0; i < 1100; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => writer.keys.set(`/else-${process.pid}/x${j}`, `${i}`)),
        );
      proxy.resetAll();
      proxy.pass();

      await eventually(
        () => [...viaStore.events.values()].every((list) => list.some((event) => event.type === 'resync')),
        30_000,
        'a resync on every Store watcher',
      );
      await eventually(() => nativeResyncs === 20, 30_000, 'a resync on every native watcher');
      assert.ok(viaStore.events.get('k0')!.some((event) => event.type === 'put' && event.value === 'v1'));
      assert.ok(viaStore.events.get('k1')!.some((event) => event.type === 'delete'));
      assert.ok(
        native.events.get(`/${prefix}/k0`)!.some((event) => event.synthetic && event.node.value === 'v1'),
      );
      assert.ok(
        native.events.get(`/${prefix}/k1`)!.some((event) => event.synthetic && event.action === 'delete'),
      );

      // Live again, on a shared poll.
      await Promise.all(keys.map((key) => writer.keys.set(`/${prefix}/${key}`, 'v2')));
      await eventually(
        () =>
          [...viaStore.events.values()].every((list) =>
            list.some((event) => event.type === 'put' && event.value === 'v2'),
          ) && [...native.events.values()].every((list) => list.some((event) => event.node.value === 'v2')),
        10_000,
        'events after the resync',
      );
      assert.equal(polls(client).length, 1);
      await Promise.all(native.watchers.map((watcher) => watcher.stop()));
    } finally {
      await store.close();
      await client.close();
      await writer.close();
      await proxy.close();
    }
  });

  it('a member restart: disconnected, then connected, and no event lost', async () => {
    const server = await startEtcd();
    const prefix = `shared-restart-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host, maxRetries: 50 });
    const client = new EtcdClient({ hosts: server.host, maxRetries: 50, maxBackoffMs: 500 });
    const store = createEtcdStore({ client, prefix });
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const native = nativeWatchers(
        client,
        keys.map((key) => `/${prefix}/${key}`),
      );
      const viaStore = storeWatchers(store, keys);
      let reconnects = 0;
      for (const watcher of native.watchers) watcher.on('reconnect', () => reconnects++);
      let disconnected = 0;
      let reconnected = 0;
      for (const watcher of viaStore.watchers) {
        watcher.on('disconnected', () => {
          disconnected++;
          watcher.once('connected', () => reconnected++);
        });
      }
      await Promise.all([native.ready, viaStore.ready]);
      await Promise.all(keys.map((key) => writer.keys.set(`/${prefix}/${key}`, 'before')));
      await eventually(
        () => [...native.events.values(), ...viaStore.events.values()].every((list) => list.length === 1),
        10_000,
        'the events before the restart',
      );
      await server.stop();
      await eventually(() => disconnected === 30 && reconnects >= 30, 20_000, 'every watcher disconnected');
      server.start();
      await server.waitReady();
      // One write under the directory answers the poll: every watcher is connected again.
      await writer.keys.set(`/${prefix}/k0`, 'after-0');
      await eventually(() => reconnected === 30, 20_000, 'every Store watcher connected again');
      await Promise.all(keys.map((key) => writer.keys.set(`/${prefix}/${key}`, 'after')));
      await eventually(
        () =>
          [...native.events.values(), ...viaStore.events.values()].every((list) =>
            list.some(
              (event) =>
                ('node' in event ? event.node.value : (event as { value?: string }).value) === 'after',
            ),
          ),
        20_000,
        'the events after the restart',
      );
      assert.ok(
        native.events.get(`/${prefix}/k0`)!.some((event) => event.node.value === 'after-0'),
        'the first write after the restart',
      );
      await Promise.all(native.watchers.map((watcher) => watcher.stop()));
    } finally {
      await store.close();
      await client.close();
      await writer.close();
      await server.stop();
    }
  });

  it('coalesced baseline reads answer as individual reads would: missing keys and directories, dirs, hidden keys', async () => {
    const server = await member();
    const prefix = `shared-read-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    const agent = new CountingAgent();
    const client = new EtcdClient({ hosts: server.host, dispatcher: agent });
    try {
      const waits = client.waits;
      assert.ok(waits instanceof SharedWaits);
      for (let i = 0; i < 10; i++) await writer.keys.set(`/${prefix}/d/k${i}`, `v${i}`);
      await writer.keys.set(`/${prefix}/d/sub/a`, 'a');
      await writer.keys.set(`/${prefix}/d/sub/deeper/b`, 'b');
      await writer.keys.set(`/${prefix}/d/_hidden`, 'h');
      await writer.keys.mkdir(`/${prefix}/d/empty`);
      const requests: [string, boolean][] = [
        ...Array.from({ length: 10 }, (_, i): [string, boolean] => [`/${prefix}/d/k${i}`, false]),
        [`${prefix}/d/k0`, true],
        [`/${prefix}/d/missing`, false],
        [`/${prefix}/d/sub`, false],
        [`/${prefix}/d/sub`, true],
        [`/${prefix}/d/empty`, false],
        [`/${prefix}/d/_hidden`, false],
        [`/${prefix}/d/k3/below`, false],
      ];
      // No write in between: the batch and the individual reads see the same index.
      const before = agent.reads.length;
      const batched = await Promise.all(
        requests.map(([key, recursive]) => outcome(waits.read(key, { recursive }))),
      );
      const sent = agent.reads.slice(before);
      assert.ok(
        sent.some((path) => path.startsWith(`/v2/keys/${prefix}/d?recursive=true&quorum=true`)),
        `one read of the directory: ${sent.join(', ')}`,
      );
      // The hidden key, and the key below a file (another directory), are read on their own.
      assert.equal(sent.length, 3, sent.join(', '));
      const single = await Promise.all(
        requests.map(([key, recursive]) => outcome(client.keys.get(key, { recursive, quorum: true }))),
      );
      assert.deepEqual(batched, single);
      assert.equal((batched[11] as { error: Partial<EtcdError> }).error.code, 'ETCD_KEY_NOT_FOUND');

      // A directory that does not exist: each key not found, with the read's index.
      const missing = Array.from({ length: 9 }, (_, i) => `/${prefix}/nowhere/deep/k${i}`);
      const gone = await Promise.all(missing.map((key) => outcome(waits.read(key))));
      const goneAlone = await Promise.all(
        missing.map((key) => outcome(client.keys.get(key, { quorum: true }))),
      );
      assert.deepEqual(gone, goneAlone);
      for (const result of gone) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_KEY_NOT_FOUND');
        assert.equal(typeof result.error.index, 'number');
      }

      // Watchers on a directory that does not exist yet: anchored at the read's index, no event lost.
      const later = nativeWatchers(client, missing);
      await later.ready;
      await Promise.all(missing.map((key, i) => writer.keys.set(key, `n${i}`)));
      await eventually(
        () => missing.every((key, i) => later.events.get(key)!.some((event) => event.node.value === `n${i}`)),
        10_000,
        'the first write of each key',
      );
      await Promise.all(later.watchers.map((watcher) => watcher.stop()));
    } finally {
      await client.close();
      await writer.close();
    }
  });

  it('an aborted read leaves its batch; a batch whose readers all left is not read', async () => {
    const server = await member();
    const prefix = `shared-abort-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    const agent = new CountingAgent();
    const client = new EtcdClient({ hosts: server.host, dispatcher: agent });
    try {
      const waits = client.waits;
      for (let i = 0; i < 10; i++) await writer.keys.set(`/${prefix}/k${i}`, `v${i}`);
      const keys = Array.from({ length: 10 }, (_, i) => `/${prefix}/k${i}`);
      const controllers = keys.map(() => new AbortController());
      const reads = keys.map((key, i) => outcome(waits.read!(key, { signal: controllers[i]!.signal })));
      controllers[4]!.abort(new Error('no longer needed'));
      const results = await Promise.all(reads);
      for (const [i, result] of results.entries()) {
        if (i === 4) {
          assert.ok('error' in result);
          assert.equal(result.error.code, 'ETCD_ABORTED');
        } else {
          assert.ok('node' in result);
          assert.equal(result.node.value, `v${i}`);
        }
      }

      // Every reader leaves, before and after the batch is sent: no read reaches etcd / it is aborted.
      const before = agent.reads.length;
      const all = new AbortController();
      const abandoned = keys.map((key) => outcome(waits.read!(key, { signal: all.signal })));
      all.abort();
      for (const result of await Promise.all(abandoned)) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_ABORTED');
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(agent.reads.length, before, 'no read for a batch without readers');
      const late = new AbortController();
      const inFlight = keys.map((key) => outcome(waits.read!(key, { signal: late.signal })));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      late.abort();
      for (const result of await Promise.all(inFlight)) {
        assert.ok('error' in result);
        assert.equal(result.error.code, 'ETCD_ABORTED');
      }
      // The client still reads after that.
      assert.equal((await waits.read!(`/${prefix}/k1`)).node.value, 'v1');
    } finally {
      await client.close();
      await writer.close();
    }
  });

  it('sharedWatches: false gives every watcher its own poll', async () => {
    const server = await member();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(server.host));
    const prefix = `shared-off-${process.pid}`;
    const writer = new EtcdClient({ hosts: server.host });
    const client = new EtcdClient({ hosts: proxy.host, sharedWatches: false });
    const store = createEtcdStore({ client, prefix });
    try {
      assert.ok(!(client.waits instanceof SharedWaits));
      const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
      const native = nativeWatchers(
        client,
        keys.map((key) => `/${prefix}/${key}`),
      );
      const viaStore = storeWatchers(store, keys);
      await Promise.all([native.ready, viaStore.ready]);
      await eventually(() => proxy.openConnections >= 20, 10_000, 'one poll per watcher');
      await Promise.all(keys.map((key) => writer.keys.set(`/${prefix}/${key}`, 'v')));
      await eventually(
        () => [...native.events.values(), ...viaStore.events.values()].every((list) => list.length === 1),
        10_000,
        'every event',
      );
      await Promise.all(native.watchers.map((watcher) => watcher.stop()));
    } finally {
      await store.close();
      await client.close();
      await writer.close();
      await proxy.close();
    }
  });
});
