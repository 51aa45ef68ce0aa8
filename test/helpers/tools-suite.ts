import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  binaryCodec,
  copy,
  diff,
  loadConfig,
  mirror,
  UnavailableError,
  type Codec,
  type Store,
} from '@polykv/core';

/** Opens a store of one backend on `prefix`. */
export type OpenStore = <V = string>(prefix: string, codec?: Codec<V>) => Promise<Store<V>>;

function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  return (async () => {
    for (;;) {
      if (await check()) return;
      if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
}

/** A store whose writes fail while `down` is set: a target that went away for a while. */
function flaky<V>(store: Store<V>): { store: Store<V>; setDown(down: boolean): void } {
  let down = false;
  const failing = new Set(['set', 'del', 'compareAndSwap', 'mkdir']);
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down && failing.has(String(property)))
          return Promise.reject(new UnavailableError('target is down'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, setDown: (value) => (down = value) };
}

/**
 * copy, diff, mirror and loadConfig between two stores (`source` and `target` may be different
 * backends). Each test uses its own random prefix.
 */
export function runToolsSuite(name: string, source: OpenStore, target: OpenStore): void {
  const prefix = () => `tools/${randomBytes(5).toString('hex')}`;

  describe(`copy, diff, mirror, loadConfig: ${name}`, () => {
    it('copy moves values byte for byte, empty directories and TTLs; a re-run skips everything', async () => {
      const base = prefix();
      const from = await source(base, binaryCodec);
      const to = await target(base, binaryCodec);
      try {
        const bytes = new Uint8Array([0, 1, 2, 0xff, 0xfe]);
        await from.set('app/bin', bytes);
        await from.set('app/text', new TextEncoder().encode('hello wörld'));
        await from.set('app/deep/er/key', new Uint8Array(0));
        await from.set('app/temp', new Uint8Array([1]), {
          ttl: Math.max(from.capabilities.minTtl, to.capabilities.minTtl, 30),
        });
        await from.mkdir('app/empty');
        const progress: number[] = [];
        const first = await copy(from, to, { onProgress: (p) => progress.push(p.done) });
        assert.deepEqual(first.copied, ['app/bin', 'app/deep/er/key', 'app/temp', 'app/text']);
        assert.deepEqual(first.dirs, ['app/empty']);
        assert.deepEqual(first.failed, []);
        assert.equal(progress.length, 5);
        assert.deepEqual((await to.get('app/bin'))?.value, bytes);
        assert.deepEqual((await to.get('app/deep/er/key'))?.value, new Uint8Array(0));
        assert.ok((await to.get('app/temp'))?.expiresAt, 'the TTL came along');
        assert.ok((await to.list('app')).some((entry) => entry.key === 'app/empty' && entry.dir));
        assert.deepEqual(await diff(from, to), { missing: [], extra: [], different: [], unlisted: [] });
        const again = await copy(from, to);
        assert.deepEqual(again.copied, []);
        assert.equal(again.skipped.filter((skip) => skip.reason === 'same').length, 4);
      } finally {
        await from.del('', { recursive: true });
        await to.del('', { recursive: true });
        await Promise.all([from.close(), to.close()]);
      }
    });

    it('copy never clobbers without overwrite, dry runs write nothing, prefix limits the copy', async () => {
      const base = prefix();
      const from = await source(base);
      const to = await target(base);
      try {
        await from.set('a/one', '1');
        await from.set('a/two', '2');
        await from.set('b/three', '3');
        await to.set('a/two', 'target value');
        await to.set('a/only/here', 'target only');
        const dry = await copy(from, to, { prefix: 'a', dryRun: true });
        assert.deepEqual(dry.copied, ['a/one']);
        assert.deepEqual(dry.extra, ['a/only/here'], 'the target keys the source lacks, as diff names them');
        assert.equal(await to.get('a/one'), null, 'dry run wrote nothing');
        const kept = await copy(from, to, { prefix: 'a' });
        assert.deepEqual(kept.copied, ['a/one']);
        assert.deepEqual(kept.skipped, [{ key: 'a/two', reason: 'exists' }]);
        assert.deepEqual(kept.extra, ['a/only/here']);
        assert.equal((await to.get('a/only/here'))?.value, 'target only', 'copy leaves extras as they are');
        assert.equal((await to.get('a/two'))?.value, 'target value');
        assert.equal(await to.get('b/three'), null, 'outside the prefix');
        assert.deepEqual(await diff(from, to, { prefix: 'a' }), {
          missing: [],
          extra: ['a/only/here'],
          different: ['a/two'],
          unlisted: [],
        });
        const replaced = await copy(from, to, { prefix: 'a', overwrite: true });
        assert.deepEqual(replaced.copied, ['a/two']);
        assert.deepEqual(await diff(from, to), {
          missing: ['b/three'],
          extra: ['a/only/here'],
          different: [],
          unlisted: [],
        });
      } finally {
        await from.del('', { recursive: true });
        await to.del('', { recursive: true });
        await Promise.all([from.close(), to.close()]);
      }
    });

    it('loadConfig gives the same nested object; with watch it follows changes, coalescing bursts', async () => {
      const base = prefix();
      const store = await source(base);
      try {
        await store.set('cfg/database/host', 'db');
        await store.set('cfg/database/port', '5432');
        await store.set('cfg/features/beta', 'true');
        await store.set('cfg/name', '"svc"');
        await store.mkdir('cfg/empty');
        assert.deepEqual(await loadConfig(store, 'cfg'), {
          database: { host: 'db', port: '5432' },
          features: { beta: 'true' },
          name: '"svc"',
          empty: {},
        });
        assert.deepEqual(await loadConfig(store, 'cfg', { json: true }), {
          database: { host: 'db', port: 5432 },
          features: { beta: true },
          name: 'svc',
          empty: {},
        });
        const live = await loadConfig(store, 'cfg', { watch: true, json: true, debounce: 100 });
        assert.deepEqual(live.current.database, { host: 'db', port: 5432 });
        const snapshots: unknown[] = [];
        live.on('change', (config) => snapshots.push(config));
        for (let i = 1; i <= 5; i++) await store.set('cfg/database/port', String(5432 + i));
        await store.del('cfg/features', { recursive: true });
        await until(
          () => (live.current.database as { port?: number })?.port === 5437 && !('features' in live.current),
          15_000,
          'the last write',
        );
        assert.ok(
          snapshots.length >= 1 && snapshots.length < 6,
          `a burst is coalesced (${snapshots.length} snapshots)`,
        );
        await live.close();
      } finally {
        await store.del('', { recursive: true });
        await store.close();
      }
    });

    it('mirror copies, follows changes, removes extras, and catches up after the target was down', async () => {
      const base = prefix();
      const from = await source(base);
      const realTarget = await target(base);
      const outage = flaky(realTarget);
      const to = outage.store;
      const setDown = (down: boolean) => outage.setDown(down);
      try {
        await from.set('m/a', '1');
        await from.set('m/b', '2');
        await realTarget.set('m/stale', 'only in target');
        const running = mirror(from, to, { prefix: 'm' });
        const retries: string[] = [];
        running.on('retry', (key) => retries.push(key));
        await until(
          async () =>
            (await diff(from, realTarget)).missing.length === 0 && (await realTarget.get('m/stale')) === null,
          20_000,
          'the initial sync',
        );
        await from.set('m/c', '3');
        await from.del('m/a');
        await until(
          async () => (await realTarget.get('m/c'))?.value === '3' && (await realTarget.get('m/a')) === null,
          20_000,
          'live changes',
        );
        setDown(true);
        for (let i = 0; i < 5; i++) await from.set('m/seq', String(i));
        await from.del('m/b');
        await new Promise((resolve) => setTimeout(resolve, 500));
        setDown(false);
        await until(
          async () => {
            const d = await diff(from, realTarget);
            return d.missing.length + d.extra.length + d.different.length === 0;
          },
          30_000,
          'catching up after the outage',
        );
        assert.equal((await realTarget.get('m/seq'))?.value, '4');
        assert.ok(retries.length > 0, 'the outage was noticed');
        await running.close();
        await running.closed;
      } finally {
        await from.del('', { recursive: true });
        await realTarget.del('', { recursive: true });
        await Promise.all([from.close(), realTarget.close()]);
      }
    });
  });
}
