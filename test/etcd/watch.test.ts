import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WatchEvent } from '@polykv/core';
import { createEtcdStore, EtcdClient, type EtcdWatchEvent } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, portOf, startCluster } from './util.js';

after(stopAllServers);

/** Applies watch events to a map: the watcher's view of the store. */
function view(events: WatchEvent[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const event of events) {
    if (event.type === 'put') state.set(event.key, event.value);
    else if (event.type === 'delete' || event.type === 'expire') state.delete(event.key);
  }
  return state;
}

describe('etcd watch', { timeout: 240_000 }, () => {
  it('a forced 401 (watcher held behind the proxy while 1,100 writes happen) resyncs to the true state', async () => {
    const member = await startEtcd();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(member.host));
    const prefix = `w401-${process.pid}`;
    const writer = createEtcdStore({ hosts: member.host, prefix });
    const watched = createEtcdStore({ hosts: proxy.host, prefix, maxRetries: 50 });
    const native = new EtcdClient({ hosts: proxy.host, maxRetries: 50 });
    try {
      await writer.set('dir/a', 'a0');
      await writer.set('dir/b', 'b0');
      await writer.set('dir/c', 'c0');
      const watcher = watched.watch('dir', { recursive: true });
      const events: WatchEvent[] = [];
      watcher.on('change', (event) => events.push(event));
      watcher.on('error', () => undefined);
      await eventually(() => events.length === 3, 10_000, 'the initial events');

      const nativeWatcher = native.watcher(`/${prefix}/dir`, { recursive: true });
      const nativeEvents: EtcdWatchEvent[] = [];
      let nativeResyncs = 0;
      nativeWatcher.on('change', (event) => nativeEvents.push(event));
      nativeWatcher.on('resync', () => nativeResyncs++);
      nativeWatcher.on('error', () => undefined);
      await new Promise<void>((resolve) => nativeWatcher.once('ready', resolve));
      await writer.set('dir/a', 'a1');
      await eventually(
        () => events.length === 4 && nativeEvents.length === 1,
        10_000,
        'both watchers see a live event',
      );

      proxy.setMode({ kind: 'blackhole' });
      await writer.set('dir/a', 'a2');
      await writer.del('dir/b');
      await writer.set('dir/d', 'd0');
      for (let i = 0; i < 1100; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => writer.set(`other/k${(i + j) % 7}`, String(i + j))),
        );
      await writer.set('dir/c', 'c1');
      proxy.resetAll();
      proxy.pass();

      await eventually(() => events.some((event) => event.type === 'resync'), 30_000, 'a resync event');
      const truth = new Map(
        (await writer.list('dir', { recursive: true })).flatMap((entry) =>
          entry.dir ? [] : [[entry.key, entry.value] as const],
        ),
      );
      assert.deepEqual(view(events), truth, "the watcher's view matches the store after the resync");
      assert.deepEqual([...truth.entries()].sort(), [
        ['dir/a', 'a2'],
        ['dir/c', 'c1'],
        ['dir/d', 'd0'],
      ]);
      // Live again after the resync.
      await writer.set('dir/e', 'e0');
      await eventually(() => view(events).get('dir/e') === 'e0', 10_000, 'an event after the resync');

      await eventually(() => nativeResyncs > 0, 30_000, 'the native watcher resyncs');
      const synthetic = nativeEvents.filter((event) => event.synthetic);
      const byKey = new Map(synthetic.map((event) => [event.node.key, event] as const));
      assert.equal(byKey.get(`/${prefix}/dir/a`)?.node.value, 'a2');
      assert.equal(byKey.get(`/${prefix}/dir/b`)?.action, 'delete');
      assert.equal(byKey.get(`/${prefix}/dir/d`)?.node.value, 'd0');
      assert.equal(byKey.get(`/${prefix}/dir/c`)?.node.value, 'c1');
      await watcher.close();
      await nativeWatcher.stop();
    } finally {
      await watched.close();
      await native.close();
      await writer.close();
      await proxy.close();
    }
  });

  it('cursor rules: after an event modifiedIndex + 1; after an empty poll X-Etcd-Index + 1', async () => {
    const member = await startEtcd();
    const client = new EtcdClient({ hosts: member.host });
    try {
      const first = await client.keys.set('cursor/k', 'v1');
      const second = await client.keys.set('cursor/k', 'v2');
      const replay = await client.keys.wait('cursor/k', { waitIndex: first.node.modifiedIndex });
      assert.equal(replay.node?.value, 'v1');
      const next = await client.keys.wait('cursor/k', { waitIndex: replay.node.modifiedIndex + 1 });
      assert.equal(next.node?.modifiedIndex, second.node.modifiedIndex, 'no event lost between two waits');
      const controller = new AbortController();
      const pending = client.keys.wait('cursor/k', {
        waitIndex: second.node.modifiedIndex + 1,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(pending, (error: { code?: string }) => error.code === 'ETCD_ABORTED');
      await assert.rejects(
        client.keys.wait('cursor/k', { waitIndex: second.node.modifiedIndex + 1, timeout: 200 }),
        (error: { code?: string }) => error.code === 'ETCD_TIMEOUT',
      );
    } finally {
      await client.close();
    }
  });

  it('a watcher survives a member restart without missing an event (sequence-numbered writes)', async () => {
    const cluster = await startCluster(3);
    const [m0, m1, m2] = cluster.members;
    const watched = createEtcdStore({
      hosts: cluster.hosts,
      deterministicOrder: true,
      prefix: 'seq',
      maxRetries: 20,
    });
    const writer = createEtcdStore({ hosts: [m1!.host, m2!.host], prefix: 'seq', maxRetries: 20 });
    try {
      const watcher = watched.watch('', { recursive: true });
      const seen: number[] = [];
      watcher.on('put', (event) => seen.push(Number(event.value)));
      watcher.on('error', () => undefined);
      await new Promise<void>((resolve) => watcher.once('connected', resolve));
      assert.equal(watched.client.currentHost, m0!.clientUrl);
      const total = 300;
      for (let i = 0; i < total; i++) {
        if (i === 100) await m0!.stop();
        if (i === 200) await m0!.restart();
        await writer.set(`n/${i % 10}`, String(i));
      }
      await eventually(() => seen.length >= total, 60_000, `${total} events`);
      assert.deepEqual(
        seen,
        Array.from({ length: total }, (_, i) => i),
        'every write arrives once, in order',
      );
      await watcher.close();
    } finally {
      await watched.close();
      await writer.close();
    }
  });
});
