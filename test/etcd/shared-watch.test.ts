import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createEtcdStore, EtcdClient, SharedWaits } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { nativeWatchers, polls, storeWatchers, withClients } from './shared.js';
import { eventually } from './util.js';

after(stopAllServers);

const N = 320;

describe('etcd shared watch polls', { timeout: 240_000 }, () => {
  it(`${N} native and ${N} Store watchers on distinct keys share polls: every event, ≤ 8 connections`, () =>
    // The default cap (64 sockets for ordinary requests): the baseline reads of the 2 × N watchers
    // are coalesced into directory reads, so they do not open a socket each.
    withClients('shared', { viaProxy: true }, async ({ prefix, writer, client, store, proxy }) => {
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
    }));

  it('a directory delete reaches the watchers of keys below it; a replay from an old index joins the poll after', () =>
    withClients('shared-del', {}, async ({ prefix, writer, client, store }) => {
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
    }));

  it('history cleared (401) on a shared poll: every watcher resyncs to the true state', () =>
    withClients(
      'shared-401',
      { viaProxy: true, client: { maxRetries: 50 } },
      async ({ prefix, writer, client, store, proxy }) => {
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
      },
    ));

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

  it('sharedWatches: false gives every watcher its own poll', () =>
    withClients(
      'shared-off',
      { viaProxy: true, client: { sharedWatches: false } },
      async ({ prefix, writer, client, store, proxy }) => {
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
      },
    ));
});
