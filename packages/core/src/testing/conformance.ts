import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as nodeTest from 'node:test';
import { binaryCodec, jsonCodec, type Codec } from '../codec.js';
import { isPolykvError } from '../errors.js';
import type { Lock } from '../lock.js';
import type { Store } from '../store.js';
import type { Entry } from '../types.js';
import type { WatchEvent } from '../watch/events.js';
import type { Watcher } from '../watch/watcher.js';
import { expectCode, fidelityTests } from './fidelity.js';
import { checkForeignDelete, checkStalledHolder } from './locks.js';
import { checkOptionMistakes, checkStoreOptions } from './options.js';

/** Makes a store scoped to `prefix`; called several times with one prefix for multi-client tests. */
export type MakeStore = <V = string>(context: {
  prefix: string;
  codec?: Codec<V>;
}) => Store<V> | Promise<Store<V>>;

/** The test functions the suite registers with; node:test's by default. */
export interface TestApi {
  describe: (name: string, fn: () => void) => unknown;
  it: (name: string, options: { timeout?: number }, fn: () => Promise<void>) => unknown;
}

/** Options of {@link runStoreConformance}. */
export interface ConformanceOptions {
  /**
   * Makes the backend drop a held lock behind its holder's back (delete its node, destroy its
   * session). Without it the lost-lock case is reported as not covered by failing loudly, so give it.
   */
  breakLock: (store: Store, lock: Lock) => Promise<void> | void;
  /** The test functions to register with. @defaultValue node:test */
  test?: TestApi;
  /** Extra time per test for slow backends (ms). @defaultValue 0 */
  slack?: number;
}

const PREFIX_ROOT = 'conformance';

/** Collects a watcher's events and waits for the ones a test expects. */
class EventLog<V> {
  readonly events: WatchEvent<V>[] = [];
  #waiters: (() => void)[] = [];

  constructor(readonly watcher: Watcher<V>) {
    watcher.on('change', (event) => {
      this.events.push(event);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    watcher.on('error', () => undefined);
  }

  /** Resolves once `count` events that pass `filter` have arrived. */
  async waitFor(
    count: number,
    timeoutMs: number,
    filter: (event: WatchEvent<V>) => boolean = () => true,
  ): Promise<WatchEvent<V>[]> {
    const started = Date.now();
    for (;;) {
      const matching = this.events.filter(filter);
      if (matching.length >= count) return matching;
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) {
        assert.fail(
          `expected ${count} events within ${timeoutMs} ms, got ${JSON.stringify(matching, replacer)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  keyEvents(): { type: string; key: string }[] {
    return this.events
      .filter((event) => event.type !== 'resync')
      .map((event) => ({ type: event.type, key: (event as { key: string }).key }));
  }
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `<${value.length} bytes>` : value;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Registers the Store conformance suite: every sentence of the `Store` contract, the edge cases of
 * the key model, and the store scenarios users of the peer libraries lost data to (watches that
 * skip or repeat events, CAS and TTL edge cases, locks). Run it against your own adapter too:
 *
 * ```ts
 * import { runStoreConformance } from '@polykv/core/testing';
 * runStoreConformance('my-store', ({ prefix, codec }) => createMyStore({ prefix, codec }), { breakLock });
 * ```
 *
 * Each test gets its own random prefix under `conformance/`, so a shared server is fine.
 */
export function runStoreConformance(name: string, makeStore: MakeStore, options: ConformanceOptions): void {
  const { describe, it } = options.test ?? nodeTest;
  const slack = options.slack ?? 0;

  /** A test with fresh stores on one fresh prefix; every store it opens is closed afterwards. */
  const test = (
    title: string,
    fn: (open: <V = string>(codec?: Codec<V>) => Promise<Store<V>>) => Promise<void>,
    timeout = 10_000,
  ): void => {
    it(title, { timeout: timeout + slack }, async () => {
      const prefix = `${PREFIX_ROOT}/${randomBytes(6).toString('hex')}`;
      const opened: Store<unknown>[] = [];
      const open = async <V = string>(codec?: Codec<V>): Promise<Store<V>> => {
        const store = await makeStore<V>({ prefix, ...(codec ? { codec } : {}) });
        opened.push(store);
        return store;
      };
      try {
        await fn(open);
      } finally {
        const cleaner = opened[0];
        if (cleaner) await cleaner.del('', { recursive: true }).catch(() => undefined);
        await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
      }
    });
  };

  describe(`Store conformance: ${name}`, () => {
    describe('keys and values', () => {
      test('get of a missing key resolves null', async (open) => {
        const store = await open();
        assert.equal(await store.get('missing'), null);
        assert.equal(await store.get('missing/deeper/key'), null);
      });

      test('set then get returns the entry with indexes', async (open) => {
        const store = await open();
        const written = await store.set('x', 'one');
        assert.equal(written.key, 'x');
        assert.equal(written.value, 'one');
        assert.ok(written.index > 0, 'index is positive');
        assert.equal(written.createIndex, written.index);
        const read = await store.get('x');
        assert.deepEqual(
          { key: read?.key, value: read?.value, index: read?.index },
          { key: 'x', value: 'one', index: written.index },
        );
        const updated = await store.set('x', 'two');
        assert.ok(updated.index > written.index, 'index grows on update');
        assert.equal(updated.createIndex, written.createIndex, 'createIndex stays');
      });

      test('one leading and one trailing slash are ignored', async (open) => {
        const store = await open();
        await store.set('/x/y/', 'v');
        assert.equal((await store.get('x/y'))?.value, 'v');
        assert.equal((await store.get('/x/y'))?.key, 'x/y');
        await store.set('/top', 'v');
        assert.equal((await store.get('top/'))?.value, 'v');
      });

      test('keys with spaces, %, ?, #, %2F, unicode and emoji round-trip', async (open) => {
        const store = await open();
        const keys = [
          'with space',
          'per%cent',
          'what?',
          'hash#tag',
          'enc%2Fslash',
          'ünïcødé/日本',
          'emoji/🔑',
          'plus+sign',
          'a&b=c',
        ];
        for (const key of keys) await store.set(key, `value of ${key}`);
        for (const key of keys) assert.equal((await store.get(key))?.value, `value of ${key}`, key);
        const listed = (await store.list('', { recursive: true }))
          .filter((entry) => !entry.dir)
          .map((entry) => entry.key);
        assert.deepEqual(listed.sort(), [...keys].sort());
      });

      test('invalid keys reject with INVALID_ARGUMENT and write nothing', async (open) => {
        const store = await open();
        const bad = [
          '',
          '/',
          '//',
          'a//b',
          '.',
          '..',
          'a/../b',
          './a',
          'a/.',
          'tab\there',
          'nul\u0000',
          'nbsp\u00a0',
          'zero-width\u200bspace',
          'family\u{1f468}\u200d\u{1f469}',
          'bom\ufeff',
          'private\ue000',
          'x'.repeat(5000),
          '.polykv/locks/x',
          12 as unknown as string,
        ];
        for (const key of bad) {
          await assert.rejects(
            store.set(key, 'v'),
            expectCode('INVALID_ARGUMENT'),
            JSON.stringify(key).slice(0, 40),
          );
        }
        assert.deepEqual(await store.list('', { recursive: true }), []);
      });

      test('empty values and large values round-trip', async (open) => {
        const store = await open();
        await store.set('empty', '');
        assert.equal((await store.get('empty'))?.value, '');
        const big = 'x'.repeat(100_000);
        await store.set('big', big);
        assert.equal((await store.get('big'))?.value, big);
      });

      test('binary values round-trip byte for byte with binaryCodec', async (open) => {
        const store = await open(binaryCodec);
        // Backends that hold text (etcd v2) hold UTF-8 bytes; other bytes only by opt-in (fidelity tests).
        const bytes = store.capabilities.binaryValues
          ? new Uint8Array(256).map((_, i) => i)
          : new TextEncoder().encode('\u0000\u0001 text, é, ✓, 😀 \u007f');
        await store.set('bin', bytes);
        assert.deepEqual((await store.get('bin'))?.value, bytes);
        await store.set('none', new Uint8Array(0));
        assert.deepEqual((await store.get('none'))?.value, new Uint8Array(0));
        if (!store.capabilities.binaryValues) return;
        const invalidUtf8 = new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28]);
        await store.set('bad-utf8', invalidUtf8);
        assert.deepEqual((await store.get('bad-utf8'))?.value, invalidUtf8);
        await store.compareAndSwap('bad-utf8', bytes, { prevValue: invalidUtf8 });
        assert.deepEqual((await store.get('bad-utf8'))?.value, bytes);
      });

      test('JSON values round-trip with jsonCodec', async (open) => {
        const store = await open(jsonCodec);
        const value = { port: 5432, hosts: ['a', 'b'], nested: { on: true, none: null } };
        await store.set('cfg', value);
        assert.deepEqual((await store.get('cfg'))?.value, value);
        await assert.rejects(store.set('bad', undefined), expectCode('INVALID_ARGUMENT'));
      });

      test('a string with a lone surrogate is rejected, not mangled', async (open) => {
        const store = await open();
        await assert.rejects(store.set('k', 'bad \ud800 value'), expectCode('INVALID_ARGUMENT'));
        assert.equal(await store.get('k'), null);
      });

      test('options of the wrong type reject with INVALID_ARGUMENT', async (open) => {
        const store = await open();
        await assert.rejects(store.set('k', 'v', 'ttl' as never), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(store.set('k', 'v', { signal: 'no' as never }), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(store.get('k', { timeout: -1 }), expectCode('INVALID_ARGUMENT'));
        assert.equal(await store.get('k'), null);
      });
    });

    describe('directories and list', () => {
      test('set creates parent directories; list is flat or recursive, sorted', async (open) => {
        const store = await open();
        await store.set('a/b/c', '1');
        await store.set('a/b/d', '2');
        await store.set('a/e', '3');
        await store.set('a/f/g/h', '4');
        await store.set('z', '5');
        const flat = await store.list('a');
        assert.deepEqual(
          flat.map((entry) => [entry.key, entry.dir === true]),
          [
            ['a/b', true],
            ['a/e', false],
            ['a/f', true],
          ],
        );
        const deep = await store.list('a', { recursive: true });
        const values = deep.filter((entry) => !entry.dir);
        assert.deepEqual(
          values.map((entry) => entry.key),
          ['a/b/c', 'a/b/d', 'a/e', 'a/f/g/h'],
        );
        assert.equal((values[0] as Entry).value, '1');
        assert.deepEqual(
          (await store.list('a/', { recursive: true })).map((e) => e.key),
          deep.map((e) => e.key),
          'trailing slash',
        );
        assert.deepEqual(
          (await store.list('')).map((entry) => entry.key),
          ['a', 'z'],
        );
      });

      test('list of a missing path or of a value is empty', async (open) => {
        const store = await open();
        await store.set('leaf', 'v');
        assert.deepEqual(await store.list('missing'), []);
        assert.deepEqual(await store.list('missing', { recursive: true }), []);
        assert.deepEqual(await store.list('leaf'), []);
      });

      test('a folder prefix never matches a longer sibling (app vs apple)', async (open) => {
        const store = await open();
        await store.set('app/x', '1');
        await store.set('apple', '2');
        await store.set('app2/y', '3');
        assert.deepEqual(
          (await store.list('app', { recursive: true })).map((entry) => entry.key),
          ['app/x'],
        );
        await store.del('app', { recursive: true });
        assert.equal((await store.get('apple'))?.value, '2');
        assert.equal((await store.get('app2/y'))?.value, '3');
      });

      test('get of a directory resolves null', async (open) => {
        const store = await open();
        await store.set('d/k', 'v');
        assert.equal(await store.get('d'), null);
      });

      test('typed directories: IS_A_DIRECTORY and NOT_A_DIRECTORY', async (open) => {
        const store = await open();
        if (!store.capabilities.typedDirectories) return;
        await store.set('d/k', 'v');
        await assert.rejects(store.set('d', 'v'), expectCode('IS_A_DIRECTORY'));
        await assert.rejects(store.set('d/k/under', 'v'), expectCode('NOT_A_DIRECTORY'));
        assert.equal((await store.get('d/k'))?.value, 'v');
      });

      test('mkdir makes an empty directory; again gives ALREADY_EXISTS', async (open) => {
        const store = await open();
        const dir = await store.mkdir('empty/dir');
        assert.equal(dir.dir, true);
        assert.equal(dir.key, 'empty/dir');
        assert.deepEqual(
          (await store.list('empty')).map((entry) => [entry.key, entry.dir]),
          [['empty/dir', true]],
        );
        await assert.rejects(store.mkdir('empty/dir'), expectCode('ALREADY_EXISTS'));
        await store.set('value', 'v');
        await assert.rejects(store.mkdir('value'), expectCode('ALREADY_EXISTS'));
      });

      test('del: value, missing, empty dir, non-empty dir, recursive', async (open) => {
        const store = await open();
        await store.set('k', 'v');
        assert.equal(await store.del('k'), true);
        assert.equal(await store.get('k'), null);
        assert.equal(await store.del('k'), false);
        await store.mkdir('e');
        assert.equal(await store.del('e'), true);
        assert.deepEqual(await store.list(''), []);
        await store.set('t/a', '1');
        await store.set('t/b/c', '2');
        await assert.rejects(store.del('t'), expectCode('IS_A_DIRECTORY'));
        assert.equal((await store.get('t/a'))?.value, '1', 'nothing deleted by the failed call');
        assert.equal(await store.del('t', { recursive: true }), true);
        assert.deepEqual(await store.list('', { recursive: true }), []);
      });

      test("del('', recursive) empties only this store's prefix", async (open) => {
        const store = await open();
        await store.set('a', '1');
        await store.set('b/c', '2');
        assert.equal(await store.del('', { recursive: true }), true);
        assert.deepEqual(await store.list('', { recursive: true }), []);
        await assert.rejects(store.del(''), expectCode('INVALID_ARGUMENT'));
      });
    });

    describe('compare-and-swap and compare-and-delete', () => {
      test('prevExist: false creates once, then ALREADY_EXISTS; also inside a new directory', async (open) => {
        const store = await open();
        const created = await store.compareAndSwap('new/dir/key', 'v1', { prevExist: false });
        assert.equal(created.value, 'v1');
        await assert.rejects(
          store.compareAndSwap('new/dir/key', 'v2', { prevExist: false }),
          expectCode('ALREADY_EXISTS'),
        );
        assert.equal((await store.get('new/dir/key'))?.value, 'v1');
      });

      test('prevIndex: current succeeds, stale gives COMPARE_FAILED, missing gives NOT_FOUND', async (open) => {
        const store = await open();
        const first = await store.set('k', 'v1');
        const second = await store.compareAndSwap('k', 'v2', { prevIndex: first.index });
        assert.ok(second.index > first.index);
        await assert.rejects(
          store.compareAndSwap('k', 'v3', { prevIndex: first.index }),
          expectCode('COMPARE_FAILED'),
        );
        assert.equal((await store.get('k'))?.value, 'v2');
        await assert.rejects(
          store.compareAndSwap('missing', 'v', { prevIndex: first.index }),
          expectCode('NOT_FOUND'),
        );
        assert.equal(await store.get('missing'), null);
      });

      test('prevValue: equal succeeds, different gives COMPARE_FAILED, missing gives NOT_FOUND', async (open) => {
        const store = await open();
        await store.set('k', 'v1');
        await store.compareAndSwap('k', 'v2', { prevValue: 'v1' });
        await assert.rejects(
          store.compareAndSwap('k', 'v3', { prevValue: 'v1' }),
          expectCode('COMPARE_FAILED'),
        );
        assert.equal((await store.get('k'))?.value, 'v2');
        await assert.rejects(
          store.compareAndSwap('missing', 'v', { prevValue: 'x' }),
          expectCode('NOT_FOUND'),
        );
      });

      test('a key given with a trailing slash behaves like the plain key', async (open) => {
        const store = await open();
        const created = await store.compareAndSwap('slash/', 'v1', { prevExist: false });
        assert.equal(created.key, 'slash');
        await store.compareAndSwap('slash/', 'v2', { prevIndex: created.index });
        assert.equal((await store.get('slash'))?.value, 'v2');
      });

      test('compareAndDelete by index and by value', async (open) => {
        const store = await open();
        const first = await store.set('k', 'v1');
        const second = await store.set('k', 'v2');
        await assert.rejects(
          store.compareAndDelete('k', { prevIndex: first.index }),
          expectCode('COMPARE_FAILED'),
        );
        await assert.rejects(store.compareAndDelete('k', { prevValue: 'v1' }), expectCode('COMPARE_FAILED'));
        assert.equal((await store.get('k'))?.value, 'v2');
        await store.compareAndDelete('k', { prevIndex: second.index });
        assert.equal(await store.get('k'), null);
        await store.set('k', 'v3');
        await store.compareAndDelete('k', { prevValue: 'v3' });
        assert.equal(await store.get('k'), null);
        await assert.rejects(store.compareAndDelete('k', { prevValue: 'v3' }), expectCode('NOT_FOUND'));
        await assert.rejects(
          store.compareAndDelete('k', { prevIndex: second.index }),
          expectCode('NOT_FOUND'),
        );
      });

      test('conditions that are not exactly one form are INVALID_ARGUMENT', async (open) => {
        const store = await open();
        await assert.rejects(store.compareAndSwap('k', 'v', {} as never), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(
          store.compareAndSwap('k', 'v', { prevIndex: 1, prevValue: 'x' }),
          expectCode('INVALID_ARGUMENT'),
        );
        await assert.rejects(
          store.compareAndSwap('k', 'v', { prevExist: true } as never),
          expectCode('INVALID_ARGUMENT'),
        );
        await assert.rejects(
          store.compareAndSwap('k', 'v', { prevIndex: -1 }),
          expectCode('INVALID_ARGUMENT'),
        );
        assert.equal(await store.get('k'), null);
      });

      test('concurrent CAS increments: every success is counted exactly once', async (open) => {
        const stores = [await open(), await open()];
        await stores[0]!.set('counter', '0');
        let successes = 0;
        await Promise.all(
          stores.map(async (store) => {
            for (let i = 0; i < 10; i++) {
              for (;;) {
                const current = (await store.get('counter'))!;
                try {
                  await store.compareAndSwap('counter', String(Number(current.value) + 1), {
                    prevIndex: current.index,
                  });
                  successes++;
                  break;
                } catch (error) {
                  if (!(isPolykvError(error) && error.code === 'COMPARE_FAILED')) throw error;
                }
              }
            }
          }),
        );
        assert.equal(successes, 20);
        assert.equal((await stores[0]!.get('counter'))?.value, '20');
      }, 30_000);
    });

    describe('TTL', () => {
      test('a key with a TTL expires; one without stays', async (open) => {
        const store = await open();
        const ttl = store.capabilities.minTtl;
        const entry = await store.set('temp', 'v', { ttl });
        await store.set('kept', 'v');
        assert.ok(entry.expiresAt instanceof Date, 'expiresAt is set');
        assert.ok(
          Math.abs(entry.expiresAt.getTime() - (Date.now() + ttl * 1000)) < 2500,
          'expiresAt is about now + ttl',
        );
        const limit = Date.now() + ttl * 1000 * store.capabilities.ttlExpiryFactor + 3000;
        while ((await store.get('temp')) !== null) {
          assert.ok(Date.now() < limit, 'the key expired in time');
          await delay(200);
        }
        assert.equal((await store.get('kept'))?.value, 'v');
      }, 60_000);

      test('bad TTLs reject with INVALID_ARGUMENT and write nothing', async (open) => {
        const store = await open();
        for (const ttl of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 40, '5' as unknown as number]) {
          await assert.rejects(store.set('k', 'v', { ttl }), expectCode('INVALID_ARGUMENT'), String(ttl));
        }
        if (store.capabilities.minTtl > 1) {
          await assert.rejects(
            store.set('k', 'v', { ttl: store.capabilities.minTtl - 1 }),
            expectCode('INVALID_ARGUMENT'),
          );
        }
        assert.equal(await store.get('k'), null);
      });

      test('setting a key again without a TTL makes it permanent', async (open) => {
        const store = await open();
        const ttl = store.capabilities.minTtl;
        await store.set('k', 'v1', { ttl });
        const entry = await store.set('k', 'v2');
        assert.equal(entry.expiresAt, undefined);
        await delay(ttl * 1000 * store.capabilities.ttlExpiryFactor + 1500);
        assert.equal((await store.get('k'))?.value, 'v2');
      }, 60_000);
    });

    describe('push (in-order keys)', () => {
      test('pushed keys sort in push order, also from concurrent clients', async (open) => {
        const stores = [await open(), await open()];
        const first = await stores[0]!.push('queue', 'first');
        const second = await stores[0]!.push('queue', 'second');
        assert.ok(second.key > first.key, 'later push sorts after');
        assert.ok(first.key.startsWith('queue/'));
        const concurrent = await Promise.all(
          Array.from({ length: 20 }, (_, i) => stores[i % 2]!.push('queue', `c${i}`)),
        );
        const keys = new Set(concurrent.map((entry) => entry.key));
        assert.equal(keys.size, 20, 'every push made its own key');
        const listed = (await stores[1]!.list('queue')).filter((entry): entry is Entry => !entry.dir);
        assert.equal(listed.length, 22);
        const byIndex = [...listed].sort((a, b) => a.createIndex - b.createIndex).map((entry) => entry.key);
        assert.deepEqual(
          listed.map((entry) => entry.key),
          byIndex,
          'key order is creation order',
        );
        assert.equal(listed[0]!.value, 'first');
      }, 20_000);
    });

    describe('watch', () => {
      test('delivers the current value first, then each update, then the delete', async (open) => {
        const store = await open();
        await store.set('w', 'v0');
        const watcher = store.watch('w');
        let eventsBeforeConnected = -1;
        watcher.once('connected', () => (eventsBeforeConnected = log.events.length));
        const log = new EventLog(watcher);
        const [initial] = await log.waitFor(1, 5000);
        await new Promise<void>((resolve) =>
          watcher.isConnected ? resolve() : watcher.once('connected', resolve),
        );
        assert.equal(eventsBeforeConnected, 1, 'the initial state arrives before the first connected event');
        assert.deepEqual(
          [initial?.type, (initial as { value: string }).value, (initial as { initial?: boolean }).initial],
          ['put', 'v0', true],
        );
        await store.set('w', 'v1');
        await store.set('w', 'v2');
        await store.del('w');
        const events = await log.waitFor(4, 10_000);
        assert.deepEqual(
          events.map((event) => [event.type, (event as { value?: string }).value]),
          [
            ['put', 'v0'],
            ['put', 'v1'],
            ['put', 'v2'],
            ['delete', undefined],
          ],
        );
        await log.watcher.close();
      });

      test('a key that does not exist yet: its creation arrives', async (open) => {
        const store = await open();
        const watcher = store.watch('later/key');
        const connected = new Promise<void>((resolve) => watcher.once('connected', resolve));
        const log = new EventLog(watcher);
        await connected;
        await store.set('later/key', 'hello');
        const [event] = await log.waitFor(1, 10_000);
        assert.equal(event?.type, 'put');
        assert.equal((event as { key: string }).key, 'later/key');
        await watcher.close();
      });

      test('recursive: child puts and deletes; a directory delete gives one delete per key; unrelated keys give nothing', async (open) => {
        const store = await open();
        await store.set('tree/a', '1');
        const watcher = store.watch('tree', { recursive: true });
        const log = new EventLog(watcher);
        await log.waitFor(1, 5000);
        await store.set('treehouse', 'not mine');
        await store.set('other/x', 'not mine');
        await store.set('tree/b/c', '2');
        await store.set('tree/b/d', '3');
        await store.del('tree/b', { recursive: true });
        await store.del('tree/a');
        const events = await log.waitFor(6, 10_000);
        assert.deepEqual(log.keyEvents(), [
          { type: 'put', key: 'tree/a' },
          { type: 'put', key: 'tree/b/c' },
          { type: 'put', key: 'tree/b/d' },
          { type: 'delete', key: 'tree/b/c' },
          { type: 'delete', key: 'tree/b/d' },
          { type: 'delete', key: 'tree/a' },
        ]);
        assert.equal(events[3]!.index, events[4]!.index, 'one directory delete, one index');
        await watcher.close();
      });

      test('replays every change from fromIndex, in order', async (open) => {
        const store = await open();
        const first = await store.set('r', '1');
        await store.set('r', '2');
        await store.set('r', '3');
        const log = new EventLog(store.watch('r', { fromIndex: first.index }));
        if (store.capabilities.watchHistory === 0) {
          // No event history (Consul): the watch delivers the current state of the keys changed
          // since fromIndex, then a resync event; intermediate values cannot be replayed.
          await log.waitFor(1, 10_000, (event) => event.type === 'resync');
          const puts = log.events.filter((event) => event.type === 'put');
          assert.deepEqual(
            puts.map((event) => (event as { value: string }).value),
            ['3'],
          );
          assert.ok(puts.every((event) => !(event as { initial?: boolean }).initial));
          await store.set('r', '4');
          await log.waitFor(1, 10_000, (event) => (event as { value?: string }).value === '4');
        } else {
          const events = await log.waitFor(3, 10_000);
          assert.deepEqual(
            events.map((event) => (event as { value: string }).value),
            ['1', '2', '3'],
          );
          assert.ok(events.every((event) => !(event as { initial?: boolean }).initial));
          await store.set('r', '4');
          await log.waitFor(4, 10_000);
        }
        const resumeFrom = log.watcher.nextIndex!;
        await log.watcher.close();
        await store.set('r', '5');
        const resumed = new EventLog(store.watch('r', { fromIndex: resumeFrom }));
        const later = await resumed.waitFor(1, 10_000);
        assert.equal(
          (later[0] as { value: string }).value,
          '5',
          'resuming at nextIndex skips nothing and repeats nothing',
        );
        await resumed.watcher.close();
      });

      test('a TTL expiry arrives as an expire event', async (open) => {
        const store = await open();
        const log = new EventLog(store.watch('ttl', { recursive: true }));
        await new Promise<void>((resolve) => log.watcher.once('connected', resolve));
        await store.set('ttl/k', 'v', { ttl: store.capabilities.minTtl });
        const limit = store.capabilities.minTtl * 1000 * store.capabilities.ttlExpiryFactor + 5000;
        const events = await log.waitFor(2, limit);
        assert.deepEqual(
          events.map((event) => event.type),
          ['put', 'expire'],
        );
        await log.watcher.close();
      }, 60_000);

      test('the async iterator yields the same events; break closes the watch', async (open) => {
        const store = await open();
        await store.set('it', 'a');
        const watcher = store.watch('it');
        const seen: string[] = [];
        const writer = (async () => {
          await new Promise<void>((resolve) => watcher.once('connected', resolve));
          await store.set('it', 'b');
          await store.set('it', 'c');
        })();
        for await (const event of watcher) {
          if (event.type === 'put') seen.push(event.value);
          if (seen.length === 3) break;
        }
        await writer;
        assert.deepEqual(seen, ['a', 'b', 'c']);
        await watcher.closed;
        assert.equal(watcher.ended, true);
      });

      test('aborting the signal ends the watch; close() of the store ends open watches', async (open) => {
        const store = await open();
        const controller = new AbortController();
        const aborted = store.watch('x', { signal: controller.signal });
        const open2 = store.watch('y', { recursive: true });
        const ended = (watcher: Watcher) => new Promise<void>((resolve) => watcher.once('end', resolve));
        const abortedEnd = ended(aborted);
        controller.abort();
        await abortedEnd;
        await aborted.closed;
        const openEnd = ended(open2);
        const iterator = open2[Symbol.asyncIterator]();
        const pending = iterator.next();
        await store.close();
        await openEnd;
        assert.deepEqual(await pending, { value: undefined, done: true });
      });

      test('lock keys never show up in list or watch', async (open) => {
        const store = await open();
        const log = new EventLog(store.watch('', { recursive: true }));
        await new Promise<void>((resolve) => log.watcher.once('connected', resolve));
        await store.set('visible', 'v');
        const lock = await store.lock('visible', { ttl: store.capabilities.minTtl });
        assert.deepEqual(
          (await store.list('', { recursive: true })).map((entry) => entry.key),
          ['visible'],
        );
        assert.equal((await store.get('visible'))?.value, 'v', 'locking leaves the value alone');
        await lock.release();
        await store.set('visible', 'w');
        await log.waitFor(2, 10_000);
        assert.deepEqual(log.keyEvents(), [
          { type: 'put', key: 'visible' },
          { type: 'put', key: 'visible' },
        ]);
        await log.watcher.close();
      });
    });

    describe('locks', () => {
      test('exclusive: a second taker times out, and gets it after release; relock works', async (open) => {
        const [a, b] = [await open(), await open()];
        const ttl = Math.max(a.capabilities.minTtl, 5);
        const held = await a.lock('res', { ttl });
        assert.equal(held.held, true);
        await assert.rejects(b.lock('res', { ttl, wait: 0 }), expectCode('TIMEOUT'));
        await assert.rejects(b.lock('res', { ttl, wait: 300 }), expectCode('TIMEOUT'));
        await held.release();
        assert.equal(held.held, false);
        const second = await b.lock('res', { ttl, wait: 5000 });
        await second.release();
        const third = await a.lock('res', { ttl, wait: 5000 });
        await third.release();
      }, 30_000);

      test('LockWait: a waiter stays blocked while held, then acquires promptly after release', async (open) => {
        const [a, b] = [await open(), await open()];
        const ttl = Math.max(a.capabilities.minTtl, 5);
        const held = await a.lock('res', { ttl });
        let acquiredAt = 0;
        const waiter = b.lock('res', { ttl }).then((lock) => {
          acquiredAt = Date.now();
          return lock;
        });
        await delay(2000);
        assert.equal(acquiredAt, 0, 'the waiter is still blocked');
        const releasedAt = Date.now();
        await held.release();
        const second = await waiter;
        assert.ok(acquiredAt - releasedAt < 5000, 'acquired soon after release');
        assert.ok(second.fencingToken > held.fencingToken, 'fencing token grows');
        await second.release();
      }, 30_000);

      test('fencing tokens grow with every acquisition', async (open) => {
        const store = await open();
        const tokens: number[] = [];
        for (let i = 0; i < 3; i++) {
          const lock = await store.lock('fence', { ttl: Math.max(store.capabilities.minTtl, 5) });
          tokens.push(lock.fencingToken);
          await lock.release();
        }
        assert.ok(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!, `tokens ${tokens.join(', ')} grow`);
      }, 30_000);

      test('a lock lost behind its holder: lost event, aborted signal, and another client can take it', async (open) => {
        const [a, b] = [await open(), await open()];
        const ttl = Math.max(a.capabilities.minTtl, 3);
        const held = await a.lock('lost', { ttl });
        const lost = new Promise<unknown>((resolve) => held.once('lost', resolve));
        await options.breakLock(a, held);
        const error = await lost;
        expectCode('LOCK_LOST')(error);
        assert.equal(held.signal.aborted, true);
        assert.equal(held.held, false);
        const next = await b.lock('lost', { ttl, wait: ttl * 1000 * 3 + 20_000 });
        assert.ok(next.fencingToken > held.fencingToken);
        await next.release();
        await held.release();
      }, 90_000);

      test('a holder whose lock is deleted by someone else is told before a contender holds it, not at its next renewal', async (open) => {
        await checkForeignDelete(name, await open(), await open(), options.breakLock);
      }, 90_000);

      test('a holder stalled past its TTL reads held as false at its first look, before any timer ran', async (open) => {
        await checkStalledHolder(await open(), await open());
      }, 90_000);

      test('bad lock options reject with INVALID_ARGUMENT and take nothing', async (open) => {
        const store = await open();
        await assert.rejects(store.lock('res', { wait: 'soon' as never }), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(store.lock('res', { wait: -1 }), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(store.lock('res', { ttl: 0 }), expectCode('INVALID_ARGUMENT'));
        await assert.rejects(store.lock('../res'), expectCode('INVALID_ARGUMENT'));
        const lock = await store.lock('res', { ttl: Math.max(store.capabilities.minTtl, 5), wait: 5000 });
        await lock.release();
      });

      test('waiting for a lock honours signal and timeout', async (open) => {
        const [a, b] = [await open(), await open()];
        const ttl = Math.max(a.capabilities.minTtl, 5);
        const held = await a.lock('res', { ttl });
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 200);
        await assert.rejects(b.lock('res', { ttl, signal: controller.signal }), expectCode('ABORTED'));
        await assert.rejects(b.lock('res', { ttl, timeout: 200 }), expectCode('TIMEOUT'));
        await held.release();
        const after = await b.lock('res', { ttl, wait: 5000 });
        await after.release();
      }, 30_000);

      test('mutual exclusion: contenders increment a counter without CAS and lose no update', async (open) => {
        const stores = [await open(), await open(), await open()];
        const ttl = Math.max(stores[0]!.capabilities.minTtl, 5);
        await stores[0]!.set('count', '0');
        let acquisitions = 0;
        let holders = 0;
        await Promise.all(
          stores.map(async (store) => {
            for (let i = 0; i < 4; i++) {
              const lock = await store.lock('count', { ttl });
              holders++;
              acquisitions++;
              assert.equal(holders, 1, 'one holder at a time');
              const current = Number((await store.get('count', { consistent: true }))!.value);
              await delay(5);
              await store.set('count', String(current + 1));
              holders--;
              await lock.release();
            }
          }),
        );
        assert.equal((await stores[0]!.get('count'))?.value, String(acquisitions));
      }, 60_000);
    });

    describe('fidelity with data other tools wrote', () => fidelityTests(test));
    describe('options', () => {
      test('every option of every method: an unknown key or a wrong type is INVALID_ARGUMENT naming it', async (open) => {
        await checkStoreOptions(await open());
      });

      test('set { tll }, list { recursive: "yes" }, CAS { prevValue: 5 }: INVALID_ARGUMENT, nothing written', async (open) => {
        await checkOptionMistakes(await open());
      });
    });

    describe('cancellation and close', () => {
      test('an aborted signal rejects with ABORTED and writes nothing', async (open) => {
        const store = await open();
        const controller = new AbortController();
        controller.abort(new Error('stop'));
        await assert.rejects(store.set('k', 'v', { signal: controller.signal }), expectCode('ABORTED'));
        await assert.rejects(store.get('k', { signal: controller.signal }), expectCode('ABORTED'));
        assert.equal(await store.get('k'), null);
      });

      test('calls after close reject with CLOSED', async (open) => {
        const store = await open();
        await store.close();
        await assert.rejects(store.get('k'), expectCode('CLOSED'));
        await assert.rejects(store.set('k', 'v'), expectCode('CLOSED'));
        await store.close();
      });
    });
  });
}
