import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3Client, type Etcd3Error, type WatchEvent } from '@polykv/etcd3';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { etcd3Code, eventually, text } from './util.js';

after(stopAllServers);

function collect(events: WatchEvent[]): (batch: WatchEvent[]) => void {
  return (batch) => events.push(...batch);
}

const summary = (events: WatchEvent[]): [string, string | undefined, string][] =>
  events.map((event) => [event.type, text(event.kv.key), text(event.kv.value)!]);

describe('etcd v3 watchers against a real member', { timeout: 120_000 }, () => {
  let client: Etcd3Client;
  let writer: Etcd3Client;
  let memberPort: number;
  before(async () => {
    const member = await startEtcd();
    memberPort = Number(member.host.split(':')[1]);
    client = new Etcd3Client({ hosts: member.host });
    writer = new Etcd3Client({ hosts: member.host });
  });
  after(async () => {
    await client.close();
    await writer.close();
  });

  it('a key and a prefix: puts and deletes in order, on one shared stream', async () => {
    const one: WatchEvent[] = [];
    const tree: WatchEvent[] = [];
    const a = client.watch('w/one');
    const b = client.watch('w/tree/', { prefix: true });
    a.on('events', collect(one));
    b.on('events', collect(tree));
    await Promise.all([a.ready, b.ready]);
    assert.equal(a.host, b.host, 'both watchers share the host stream');
    await writer.kv.put('w/one', '1');
    await writer.kv.put('w/tree/x', '2');
    await writer.kv.put('w/treehouse', 'not in the prefix');
    await writer.kv.delete('w/tree/', { prefix: true });
    await eventually(() => one.length === 1 && tree.length === 2, 10_000, 'the events');
    assert.deepEqual(summary(one), [['put', 'w/one', '1']]);
    assert.deepEqual(summary(tree), [
      ['put', 'w/tree/x', '2'],
      ['delete', 'w/tree/x', ''],
    ]);
    await a.cancel();
    await b.cancel();
    assert.equal(a.ended, true);
  });

  it('resume from a revision: history replays in order, nextRevision continues without a gap', async () => {
    const first = await writer.kv.put('r/k', '1');
    await writer.kv.put('r/k', '2');
    await writer.kv.put('r/k', '3');
    const events: WatchEvent[] = [];
    const watcher = client.watch('r/k', { startRevision: first.header.revision });
    watcher.on('events', collect(events));
    await eventually(() => events.length === 3, 10_000, 'the replay');
    assert.deepEqual(
      events.map((event) => text(event.kv.value)),
      ['1', '2', '3'],
    );
    const resumeAt = watcher.nextRevision;
    await watcher.cancel();
    await writer.kv.put('r/k', '4');
    const later: WatchEvent[] = [];
    const resumed = client.watch('r/k', { startRevision: resumeAt });
    resumed.on('events', collect(later));
    await eventually(() => later.length === 1, 10_000, 'the resumed event');
    assert.equal(text(later[0]!.kv.value), '4');
    await resumed.cancel();
  });

  it('progress: requestWatchProgress reaches every armed watcher with a revision', async () => {
    const watcher = client.watch('p/quiet');
    await watcher.ready;
    const { header } = await writer.kv.put('p/other', 'x');
    const progress = new Promise<number>((resolve) => watcher.once('progress', resolve));
    client.requestWatchProgress();
    assert.ok((await progress) >= header.revision);
    assert.ok(watcher.nextRevision > header.revision, 'progress moves the resume point');
    await watcher.cancel();
  });

  it('a start revision that was compacted away ends the watcher with ETCD3_COMPACTED', async () => {
    const first = await writer.kv.put('c/k', '1');
    const second = await writer.kv.put('c/k', '2');
    await writer.kv.compact(second.header.revision);
    const watcher = client.watch('c/k', { startRevision: first.header.revision });
    const error = await new Promise<Etcd3Error>((resolve) => watcher.once('error', resolve));
    etcd3Code('ETCD3_COMPACTED')(error);
    assert.ok(error.compactRevision! >= second.header.revision);
    assert.equal(await watcher.closed, error);
  });

  it('many watchers on one stream: every event delivered', async () => {
    const count = 200;
    const seen = new Set<number>();
    const watchers = Array.from({ length: count }, (_, i) => {
      const watcher = client.watch(`many/k${i}`);
      watcher.on('events', () => seen.add(i));
      return watcher;
    });
    await Promise.all(watchers.map((watcher) => watcher.ready));
    assert.equal(new Set(watchers.map((watcher) => watcher.host)).size, 1);
    await Promise.all(Array.from({ length: count }, (_, i) => writer.kv.put(`many/k${i}`, 'v')));
    await eventually(() => seen.size === count, 15_000, 'every watcher to see its put');
    await Promise.all(watchers.map((watcher) => watcher.cancel()));
  });

  it('a watcher added to an open stream that breaks before etcd arms it is placed again', async () => {
    // A TCP proxy, for a stream that swallows a create request and then breaks.
    const proxy = await TcpProxy.start('127.0.0.1', memberPort);
    const proxied = new Etcd3Client({ hosts: proxy.host });
    try {
      const armed = proxied.watch('again/a');
      await armed.ready;
      const armedError = new Promise<Etcd3Error>((resolve) => armed.once('error', resolve));
      // The stream stays open and passes nothing: the next watcher goes onto it, unanswered.
      proxy.setMode({ kind: 'blackhole' });
      const waiting = proxied.watch('again/b');
      const events: WatchEvent[] = [];
      waiting.on('events', collect(events));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(waiting.created, false);
      proxy.pass();
      proxy.resetAll();
      // Armed, it is the caller's to resume; not armed yet, the client places it again.
      const { code } = await armedError;
      assert.ok(['ETCD3_CONNECTION', 'ETCD3_UNAVAILABLE'].includes(code), code);
      await eventually(() => waiting.created, 10_000, 'the watcher placed again');
      assert.equal(waiting.ended, false);
      await writer.kv.put('again/b', 'v');
      await eventually(() => events.length === 1, 10_000, 'the event of the watcher placed again');
      await waiting.cancel();
      // `ready` first asked after a cancel that came before etcd armed the watcher.
      const canceled = proxied.watch('again/c');
      await canceled.cancel();
      await assert.rejects(canceled.ready, etcd3Code('ETCD3_ABORTED'));
      assert.equal(await canceled.closed, undefined);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('an aborted signal cancels; close() ends watchers without an error', async () => {
    const controller = new AbortController();
    const aborted = client.watch('s/k', { signal: controller.signal });
    await aborted.ready;
    controller.abort();
    assert.equal(await aborted.closed, undefined);
    const other = new Etcd3Client({ hosts: client.hosts[0]! });
    const open = other.watch('s/k');
    await open.ready;
    await other.close();
    assert.equal(await open.closed, undefined);
    assert.equal(open.ended, true);
  });
});
