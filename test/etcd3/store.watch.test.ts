import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WatchEvent, Watcher } from '@polykv/core';
import { Etcd3Client, createEtcd3Store } from '@polykv/etcd3';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd, startEtcdCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from './util.js';

// The etcd3 Store's watch beyond the conformance suite: what only a real etcd can show (compaction,
// a broken stream, a dead member).
after(stopAllServers);

function record(watcher: Watcher): WatchEvent[] {
  const events: WatchEvent[] = [];
  watcher.on('change', (event) => events.push(event));
  watcher.on('error', () => undefined);
  return events;
}

const shown = (events: WatchEvent[]): string[] =>
  events.map((event) =>
    event.type === 'resync'
      ? 'resync'
      : `${event.type} ${event.key}${event.type === 'put' ? `=${event.value}` : ''}`,
  );

describe('etcd3 Store watch against real etcd', { timeout: 120_000 }, () => {
  it('compaction: a watch from a compacted revision and a watch cut off while etcd compacted both re-read, report the differences, then resync', async () => {
    const member = await startEtcd();
    const proxy = await TcpProxy.start('127.0.0.1', Number(member.host.split(':')[1]));
    const etcd = new Etcd3Client({ hosts: member.host });
    const direct = createEtcd3Store({ hosts: member.host, prefix: 'compact' });
    const cut = createEtcd3Store({ hosts: proxy.host, prefix: 'compact', pingIntervalMs: 500 });
    try {
      const first = await direct.set('a', '1');
      await direct.set('a', '2');
      await direct.set('b', '1');
      const live = cut.watch('', { recursive: true });
      const liveEvents = record(live);
      const disconnected = new Promise((resolve) => live.once('disconnected', resolve));
      await eventually(() => liveEvents.length === 2, 10_000, 'the initial values');
      // The stream breaks; meanwhile b is deleted, c is written, and etcd compacts its history.
      proxy.setMode({ kind: 'refuse' });
      proxy.resetAll();
      await disconnected;
      await direct.del('b');
      await direct.set('c', '1');
      const last = await direct.set('a', '3');
      await etcd.kv.compact(last.index);

      const old = direct.watch('a', { fromIndex: first.index });
      const oldEvents = record(old);
      await eventually(() => oldEvents.some((event) => event.type === 'resync'), 10_000, 'a resync');
      assert.deepEqual(shown(oldEvents), ['put a=3', 'resync']);

      proxy.pass();
      await eventually(() => liveEvents.some((event) => event.type === 'resync'), 20_000, 'the live resync');
      assert.deepEqual(shown(liveEvents), ['put a=2', 'put b=1', 'put a=3', 'put c=1', 'delete b', 'resync']);
      const resync = liveEvents.at(-1)!;
      assert.ok(resync.index >= last.index, 'the resync is at the re-read revision');
      await direct.set('d', 'after');
      await eventually(() => liveEvents.length === 7, 10_000, 'the next live event');
      assert.equal(shown(liveEvents)[6], 'put d=after');
      await Promise.all([old.close(), live.close()]);
    } finally {
      await Promise.all([direct.close(), cut.close(), etcd.close()]);
      await proxy.close();
    }
  });

  it('disconnected from the first failure, before the watch ever connected; connected once etcd answers', async () => {
    const member = await startEtcd();
    const proxy = await TcpProxy.start('127.0.0.1', Number(member.host.split(':')[1]));
    proxy.setMode({ kind: 'refuse' });
    const store = createEtcd3Store({ hosts: proxy.host, prefix: 'first', maxRetries: 0 });
    try {
      const watcher = store.watch('k');
      const seen: string[] = [];
      watcher.on('disconnected', () => seen.push('disconnected'));
      watcher.on('connected', () => seen.push('connected'));
      const events = record(watcher);
      await eventually(() => seen.length > 0, 10_000, 'the first report');
      assert.deepEqual(seen, ['disconnected']);
      proxy.pass();
      await eventually(() => seen.includes('connected'), 15_000, 'connected');
      await store.set('k', 'v');
      await eventually(() => events.length === 1, 10_000, 'the event');
      assert.deepEqual(seen, ['disconnected', 'connected']);
      await watcher.close();
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('the member carrying the watch stream dies: the watch resumes on another member from the last revision + 1, every acknowledged write once and in order', async () => {
    const cluster = await startEtcdCluster(3);
    // The watch goes to the first host; the writer to the last.
    const store = createEtcd3Store({ hosts: cluster.hosts, deterministicOrder: true, prefix: 'failover' });
    const writer = createEtcd3Store({
      hosts: [...cluster.hosts].reverse(),
      deterministicOrder: true,
      prefix: 'failover',
    });
    try {
      const watcher = store.watch('seq', { initial: false });
      const events = record(watcher);
      await new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
      const acked: number[] = [];
      const uncertain: number[] = [];
      const write = async (n: number): Promise<void> => {
        try {
          await writer.set('seq', String(n));
          acked.push(n);
        } catch {
          uncertain.push(n);
        }
      };
      for (let n = 1; n <= 20; n++) await write(n);
      await eventually(() => events.length === 20, 10_000, 'the first 20 events');
      const disconnected = new Promise((resolve) => watcher.once('disconnected', resolve));
      await cluster.members[0]!.kill();
      await disconnected;
      await cluster.leader();
      for (let n = 21; n <= 40; n++) await write(n);
      await eventually(
        () => acked.every((n) => events.some((event) => event.type === 'put' && event.value === String(n))),
        20_000,
        'every acknowledged write',
      );
      const values = events.map((event) => Number((event as { value: string }).value));
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        'in order',
      );
      assert.equal(new Set(values).size, values.length, 'none twice');
      assert.ok(
        values.every((n) => acked.includes(n) || uncertain.includes(n)),
        'nothing that was not written',
      );
      assert.equal(watcher.isConnected, true);
      await watcher.close();
    } finally {
      await Promise.all([store.close(), writer.close()]);
    }
  });
});
