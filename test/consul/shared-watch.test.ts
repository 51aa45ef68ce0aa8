import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KeyEvent, Store, Watcher } from '@polykv/core';
import { ConsulClient, createConsulStore, kvText, type ConsulWatch, type KvPair } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { closeClients, startAclFixture, type AclFixture } from './fixture.js';
import { eventually } from '../helpers/eventually.js';

// Issue 7, S6: many KV watchers in one process share one long poll per folder, so that Consul's
// http_max_conns_per_client (200 per client IP, kept at its default here) never refuses them.

after(stopAllServers);

const until = (check: () => boolean, what: () => string, ms = 30_000): Promise<void> =>
  eventually(check, what, { ms, every: 25 });

/** Waits for every watch's first change (its initial state). */
async function armed(watches: ConsulWatch<unknown>[]): Promise<void> {
  await Promise.all(
    watches.map((watch) => new Promise<void>((resolve) => watch.once('change', () => resolve()))),
  );
}

describe('shared KV watches (one poll per folder)', () => {
  let agent: ConsulAgent;
  let proxy: TcpProxy;
  let writer: ConsulClient;

  before(async () => {
    agent = await startConsulDev();
    proxy = await TcpProxy.start('127.0.0.1', agent.httpPort);
    writer = new ConsulClient({ address: agent.address });
  });

  after(async () => {
    await closeClients(writer);
    await proxy?.close();
  });

  it('300 native and 300 Store watchers on distinct keys under one folder get every event over ≤ 8 connections', async () => {
    const before = proxy.stats.connections;
    const client = new ConsulClient({ address: proxy.host });
    const store = createConsulStore({ client, prefix: 'shared/s6' });
    const n = 300;
    const native = new Map<number, string | null>();
    const fromStore = new Map<number, string>();
    const watches: ConsulWatch<KvPair | null>[] = [];
    const watchers: Watcher<string>[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const watch = client.watchKv(`shared/s6/n${i}`);
        watch.on('change', (pair) => native.set(i, kvText(pair)));
        watch.on('error', () => undefined);
        watches.push(watch);
        const watcher = store.watch(`s${i}`, { initial: false });
        watcher.on('put', (event) => fromStore.set(i, event.value));
        watcher.on('error', () => undefined);
        watchers.push(watcher);
      }
      await Promise.all([
        armed(watches),
        ...watchers.map((w) => new Promise<void>((resolve) => w.once('connected', () => resolve()))),
      ]);
      for (let i = 0; i < n; i++) {
        await writer.kv.put(`shared/s6/n${i}`, `v-${i}`);
        await writer.kv.put(`shared/s6/s${i}`, `w-${i}`);
      }
      await until(
        () => [...Array(n).keys()].every((i) => native.get(i) === `v-${i}` && fromStore.get(i) === `w-${i}`),
        () =>
          `native ${[...native.values()].filter((v) => v !== null).length}/${n}, store ${fromStore.size}/${n}`,
      );
      assert.ok(client.kvReads.polls.length <= 2, `polls: ${JSON.stringify(client.kvReads.polls)}`);
      const connections = proxy.stats.connections - before;
      assert.ok(connections <= 8, `${connections} connections to the agent`);
    } finally {
      for (const watch of watches) watch.end();
      await store.close();
      await client.close();
    }
  });

  it('1,000 concurrent initial reads queue on the capped pool and all answer', async () => {
    const client = new ConsulClient({ address: agent.address, connections: 4 });
    try {
      await writer.kv.put('shared/reads/k', 'x');
      const results = await Promise.all(Array.from({ length: 1000 }, () => client.kv.get('shared/reads/k')));
      assert.ok(results.every((r) => kvText(r.data) === 'x'));
    } finally {
      await client.close();
    }
  });

  it('a parked read whose wait runs out answers with the same index, never before its wait, earliest first', async () => {
    // minCallers 1: every read here parks on the folder's poll, whose waits share one timer.
    const client = new ConsulClient({ address: agent.address, sharedWatches: { minCallers: 1 } });
    try {
      await writer.kv.put('shared/expiry/k', 'x');
      const reads = client.kvReads;
      const { meta } = await reads.read('shared/expiry/k');
      const index = meta.index!;
      const order: string[] = [];
      const started = performance.now();
      const parked = (name: string, wait: string, signal?: AbortSignal) =>
        reads.read('shared/expiry/k', { index, wait, ...(signal ? { signal } : {}) }).then((answer) => {
          order.push(name);
          return { answer, after: performance.now() - started };
        });
      const aborted = new AbortController();
      const late = parked('900ms', '900ms');
      const early = parked('300ms', '300ms');
      const gone = parked('aborted', '300ms', aborted.signal);
      const middle = parked('600ms', '600ms');
      const sibling = reads
        .read('shared/expiry/other', { index, wait: '450ms' })
        .then(() => order.push('450ms'));
      aborted.abort();
      await assert.rejects(gone, (error: unknown) => (error as { code?: string }).code === 'CONSUL_ABORTED');
      const answers = await Promise.all([early, middle, late]);
      await sibling;
      assert.deepEqual(order, ['300ms', '450ms', '600ms', '900ms']);
      for (const [{ answer, after }, ms] of answers.map((a, i) => [a, [300, 600, 900][i]!] as const)) {
        assert.equal(answer.meta.index, index, 'an expired wait answers with the index it was given');
        assert.equal(kvText(answer.data[0]), 'x');
        assert.ok(after >= ms, `answered after ${after} ms, before its wait of ${ms} ms`);
      }
      // A change wakes a parked read at once, whatever its wait.
      const woken = reads.read('shared/expiry/k', { index, wait: '5m' });
      await writer.kv.put('shared/expiry/k', 'y');
      assert.equal(kvText((await woken).data[0]), 'y');
    } finally {
      await client.close();
    }
  });

  it('mixes recursive and exact watchers; single and recursive deletes reach the right ones', async () => {
    // minCallers 1: a poll from the first watcher on, so that every watcher here goes through it.
    const client = new ConsulClient({ address: agent.address, sharedWatches: { minCallers: 1 } });
    const base = 'shared/mix';
    await writer.kv.put(`${base}/a`, '1');
    await writer.kv.put(`${base}/dir/b`, '1');
    await writer.kv.put(`${base}/dir/c`, '1');
    await writer.kv.put(`${base}/dirx`, '1');
    const seen = {
      a: [] as (string | null)[],
      b: [] as (string | null)[],
      tree: [] as string[][],
      all: [] as string[][],
    };
    const a = client.watchKv(`${base}/a`);
    const b = client.watchKv(`${base}/dir/b`);
    const tree = client.watchKv(`${base}/dir`, { recursive: true });
    const all = client.watchKv(`${base}/`, { recursive: true });
    a.on('change', (pair) => seen.a.push(kvText(pair)));
    b.on('change', (pair) => seen.b.push(kvText(pair)));
    tree.on('change', (pairs) => seen.tree.push(pairs.map((p) => p.Key)));
    all.on('change', (pairs) => seen.all.push(pairs.map((p) => p.Key)));
    for (const w of [a, b, tree, all]) w.on('error', () => undefined);
    try {
      await armed([a, b, tree, all] as ConsulWatch<unknown>[]);
      assert.deepEqual(seen.tree.at(-1), [`${base}/dir/b`, `${base}/dir/c`], 'dir/ and not dirx');
      assert.equal(seen.all.at(-1)?.length, 4);
      await writer.kv.put(`${base}/dirx`, '2');
      await until(
        () => seen.all.length === 2,
        () => `all: ${seen.all.length}`,
      );
      await writer.kv.delete(`${base}/dir/c`);
      await until(
        () => seen.tree.length === 2 && seen.all.length === 3,
        () => 'the single delete',
      );
      assert.deepEqual(seen.tree.at(-1), [`${base}/dir/b`]);
      await writer.kv.deleteTree(`${base}/dir/`);
      await until(
        () => seen.b.length === 2 && seen.tree.length === 3,
        () => 'the recursive delete',
      );
      assert.deepEqual(seen.b, ['1', null]);
      assert.deepEqual(seen.tree.at(-1), []);
      await writer.kv.put(`${base}/a`, '2');
      await until(
        () => seen.a.length === 2,
        () => 'a',
      );
      assert.deepEqual(seen.a, ['1', '2'], 'a saw only its own changes');
      assert.equal(seen.b.length, 2, 'b was not woken by a, dirx');
      assert.equal(seen.tree.length, 3, 'the tree watch was not woken by a or dirx');
      assert.equal(client.kvReads.polls.length, 1, 'one poll of shared/mix');
    } finally {
      for (const w of [a, b, tree, all]) w.end();
      await client.close();
    }
  });

  it('a folder is polled only from minCallers watchers on; fewer read on their own', async () => {
    const client = new ConsulClient({ address: agent.address });
    const base = 'shared/few';
    const seen: (string | null)[] = [];
    const watches = ['a', 'b'].map((key) => client.watchKv(`${base}/${key}`));
    watches[0]!.on('change', (pair) => seen.push(kvText(pair)));
    for (const w of watches) w.on('error', () => undefined);
    try {
      await armed(watches);
      assert.equal(client.kvReads.minCallers, 4);
      assert.equal(client.kvReads.polls.length, 0, 'two watchers: no poll');
      await writer.kv.put(`${base}/a`, 'x');
      await until(
        () => seen.at(-1) === 'x',
        () => `seen ${JSON.stringify(seen)}`,
      );
    } finally {
      for (const w of watches) w.end();
      await client.close();
    }
  });

  it('a watcher with another token does not share the default token’s poll', async () => {
    const client = new ConsulClient({ address: agent.address, sharedWatches: { minCallers: 1 } });
    const base = 'shared/tokens';
    const values: (string | null)[] = [];
    const mine = client.watchKv(`${base}/k`);
    const other = client.watchKv(`${base}/k`, { token: 'anonymous' });
    other.on('change', (pair) => values.push(kvText(pair)));
    for (const w of [mine, other]) w.on('error', () => undefined);
    try {
      await armed([mine, other] as ConsulWatch<unknown>[]);
      assert.equal(client.kvReads.polls.length, 2, 'one poll per token');
      await writer.kv.put(`${base}/k`, 'x');
      await until(
        () => values.at(-1) === 'x',
        () => `values ${JSON.stringify(values)}`,
      );
    } finally {
      mine.end();
      other.end();
      await client.close();
    }
  });

  it('sharing off: every watch runs its own blocking query, and still sees every change', async () => {
    const client = new ConsulClient({ address: agent.address, sharedWatches: false });
    const store = createConsulStore({ client, prefix: 'shared/off' });
    const events: KeyEvent<string>[] = [];
    const watcher = store.watch('x', { initial: false });
    watcher.on('put', (event) => events.push(event));
    const native: (string | null)[] = [];
    const watch = client.watchKv('shared/off/y');
    watch.on('change', (pair) => native.push(kvText(pair)));
    try {
      await Promise.all([
        new Promise<void>((resolve) => watcher.once('connected', () => resolve())),
        armed([watch as ConsulWatch<unknown>]),
      ]);
      await writer.kv.put('shared/off/x', '1');
      await writer.kv.put('shared/off/y', '2');
      await until(
        () => events.length === 1 && native.at(-1) === '2',
        () => 'the changes',
      );
      assert.equal(client.kvReads.polls.length, 0);
    } finally {
      watch.end();
      await store.close();
      await client.close();
    }
  });
});

describe('shared KV watches across an agent restart', () => {
  it('loses no change when the index resets', async () => {
    const agent = await startConsulDev();
    const client = new ConsulClient({
      address: agent.address,
      timeout: 3000,
      sharedWatches: { minCallers: 1 },
    });
    const store: Store = createConsulStore({ client, prefix: 'shared/restart', watchWait: 5000 });
    const last = new Map<string, string>();
    const watchers = ['a', 'b', 'c'].map((key) => {
      const watcher = store.watch(key, { initial: false });
      watcher.on('put', (event) => last.set(key, event.value));
      watcher.on('error', () => undefined);
      return watcher;
    });
    const native: (string | null)[] = [];
    const watch = client.watchKv('shared/restart/n', { wait: 5000, backoffMax: 500 });
    watch.on('change', (pair) => native.push(kvText(pair)));
    watch.on('error', () => undefined);
    try {
      await Promise.all([
        ...watchers.map((w) => new Promise<void>((resolve) => w.once('connected', () => resolve()))),
        armed([watch as ConsulWatch<unknown>]),
      ]);
      const writer = new ConsulClient({ address: agent.address });
      // Push the index well above where it will be after the restart.
      for (let i = 0; i < 30; i++) await writer.kv.put('shared/restart/filler', String(i));
      await writer.kv.put('shared/restart/a', 'before');
      await until(
        () => last.get('a') === 'before',
        () => 'a before the restart',
      );
      await writer.close();
      await agent.restart();
      const after = new ConsulClient({ address: agent.address });
      // In-memory agent: the indexes start over, far below the watchers'.
      await after.kv.put('shared/restart/b', 'after');
      await after.kv.put('shared/restart/c', 'after');
      await after.kv.put('shared/restart/n', 'after');
      await until(
        () => last.get('b') === 'after' && last.get('c') === 'after' && native.at(-1) === 'after',
        () => `store ${JSON.stringify([...last])}, native ${JSON.stringify(native)}`,
      );
      await after.close();
    } finally {
      watch.end();
      await store.close();
      await client.close();
      await agent.stop();
    }
  });
});

describe('shared KV watches with ACLs', () => {
  let fixture: AclFixture;
  before(async () => {
    fixture = await startAclFixture();
    await fixture.consul.kv.put('acl/shared/k', 'v');
  });
  after(() => closeClients(fixture?.consul, fixture?.noRights));

  it('a token that cannot read gets PERMISSION_DENIED from the Store watch', async () => {
    const store = createConsulStore({ client: fixture.noRights, prefix: 'acl' });
    try {
      const watcher = store.watch('shared/k');
      const failure = await new Promise<unknown>((resolve) => watcher.on('error', resolve));
      assert.equal((failure as { code?: string }).code, 'PERMISSION_DENIED');
      await until(
        () => watcher.ended,
        () => 'the watcher ended',
      );
    } finally {
      await store.close();
    }
  });

  it('a token that cannot read ends the native watch with CONSUL_PERMISSION_DENIED', async () => {
    const watch = fixture.noRights.watchKv('acl/shared/k');
    const failure = await new Promise<unknown>((resolve) => watch.on('error', resolve));
    assert.equal((failure as { code?: string }).code, 'CONSUL_PERMISSION_DENIED');
    const ended = await watch.closed;
    assert.equal(ended?.code, 'CONSUL_PERMISSION_DENIED');
  });
});
