import {
  extend,
  ClosedError,
  CompareFailedError,
  InvalidArgumentError,
  KeyExistsError,
  KeyNotFoundError,
  KeySpace,
  KeyTypeError,
  NotSupportedError,
  acquireQueueLock,
  checkLimit,
  backoffDelay,
  beginCall,
  checkNoFlags,
  checkOptionTable,
  checkOptions,
  checkIndex,
  checkSwapCondition,
  decodeValue,
  startWatchLoop,
  Watcher,
  checkTtl,
  compareKeyPaths,
  deadline,
  sleep,
  utf8Codec,
  type CallOptions,
  type Codec,
  type DelOptions,
  type DeleteCondition,
  type DirEntry,
  type Entry,
  type GetOptions,
  type ListEntry,
  type ListOptions,
  type ListPage,
  type PageOptions,
  type Lock,
  type LockOptions,
  type SemaphoreOptions,
  type SetOptions,
  type Store,
  type StoreCapabilities,
  type SwapCondition,
  type UnlistedKey,
  type WatchOptions,
} from '@polykv/core';
import { Etcd3Client } from '../client.js';
import type { Compare } from '../proto/kv.js';
import { prefixEnd } from '../proto/wire.js';
import { toStoreError } from './errors.js';
import {
  NO_CHECK,
  casCompares,
  PUSH_DIGITS,
  countOf,
  rangeOf,
  etcd3Capabilities,
  type Call,
  type Etcd3StoreOptions,
  type WriteCheck,
  ETCD3_STORE_OPTIONS,
} from './common.js';
import { below, deleteTree, listing, unlistedBelow } from './list.js';
import { etcd3Pages } from './pages.js';
import { writeKey } from './write.js';
import { Etcd3PollSource, type Etcd3SourceOptions } from '../watch/source.js';
import { leaseTtls, listedEntries, toEntry } from './entries.js';
import { Etcd3LockQueue } from './lock.js';
import { shapeCompares, shapeFailure, shapeProbes, shaped, type Shaped } from './shape.js';
import { StoreWatchHandler, readWatched, watchRange } from './watch.js';

/** Makes an etcd v3 {@link Store}. See the package README, "Store", for the key mapping. */
export function createEtcd3Store<V = string>(options: Etcd3StoreOptions<V> = {}): Etcd3Store<V> {
  return new Etcd3Store(options);
}

/**
 * The etcd v3 `Store`: flat keys under the prefix, directories as key prefixes (an empty one as a
 * `dir/` marker key), typed directories checked inside each write's transaction, TTLs as leases,
 * CAS as transactions, `push` through a counter, and etcd's lock recipe (lease + lowest create
 * revision).
 */
export class Etcd3Store<V = string> implements Store<V> {
  readonly kind = 'etcd3';
  readonly prefix: string;
  /** Turns values into the stored bytes and back: the `codec` option, or `utf8Codec`. */
  readonly codec: Codec<V>;
  /**
   * What this store supports: TTLs of `minTtl` seconds or more (2 unless set), typed directories,
   * binary values, watch history back to the last compaction, no flags.
   */
  readonly capabilities: StoreCapabilities;
  /** The native client, for what the Store does not cover. */
  readonly client: Etcd3Client;

  readonly #keys: KeySpace;
  readonly #ownClient: boolean;
  readonly #serializable: boolean;
  readonly #queue: Etcd3LockQueue;
  readonly #locks = new Set<Lock>();
  readonly #watchers = new Set<{ close(): Promise<void> }>();
  /** An ended watcher leaves `#watchers` (one function for all of them). */
  readonly #forget = (watcher: { close(): Promise<void> }): void => void this.#watchers.delete(watcher);
  /** How watches read their range (one function for all of them). */
  readonly #readWatched: Etcd3SourceOptions['read'];
  #closed = false;

  /**
   * Checks the options (`InvalidArgumentError` when they do not fit), then uses `options.client` or
   * makes a client of its own from the other options. {@link createEtcd3Store} does the same.
   */
  constructor(options: Etcd3StoreOptions<V> = {}) {
    checkOptionTable(options, ETCD3_STORE_OPTIONS, 'createEtcd3Store');
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    this.#serializable = options.serializable ?? false;
    this.capabilities = etcd3Capabilities(options.minTtl ?? 2);
    if (options.client) {
      this.client = options.client;
      this.#ownClient = false;
    } else {
      try {
        // The store's own options are not the client's.
        const { prefix: _prefix, codec: _codec, serializable: _read, minTtl: _minTtl, ...client } = options;
        this.client = new Etcd3Client(client);
      } catch (cause) {
        throw new InvalidArgumentError('client', `etcd3 store options: ${(cause as Error).message}`, {
          cause,
        });
      }
      this.#ownClient = true;
    }
    this.#queue = new Etcd3LockQueue(this.client);
    this.#readWatched = readWatched(this.client, this.#serializable);
  }

  async get(key: string, options?: GetOptions): Promise<Entry<V> | null> {
    const checked = beginCall(options, this.#closed, 'get');
    const path = this.#keys.toBackend(key);
    const read = { serializable: this.#serializable && !checked.consistent };
    return this.#call(key, checked, async (call) => {
      const kv = await this.client.kv.get(path, extend(call, read));
      if (!kv) return null;
      const key = this.#keys.fromBackend(path)!;
      const ttls = kv.lease === '0' ? undefined : await leaseTtls(this.client.lease, [kv.lease], call);
      return toEntry(kv, key, this.codec, ttls);
    });
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    const checked = beginCall(options, this.#closed, 'list');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const read = { serializable: this.#serializable && !checked.consistent };
    const recursive = checked.recursive ?? false;
    return this.#call(dir, checked, async (call) => {
      const listed = await listing(this.client.kv, this.#keys, path, recursive, extend(call, read));
      const out = await listedEntries(this.client.lease, this.codec, listed, call);
      return out.sort((a, b) => compareKeyPaths(a.key, b.key) || (a.dir ? 1 : -1));
    });
  }

  /**
   * Keys below `dir` that etcd holds and `list` leaves out: keys that are not UTF-8, keys with
   * empty, `.` or `..` segments or characters that are not printable, and `dir/` markers that
   * hold a value. `path` is the key relative to the store's prefix, verbatim (a key that is not
   * UTF-8 is shown with its bytes escaped).
   */
  async unlisted(dir: string, options?: CallOptions): Promise<UnlistedKey[]> {
    const checked = beginCall(options, this.#closed, 'unlisted');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    return this.#call(dir, checked, (call) => unlistedBelow(this.client.kv, path, this.prefix, call));
  }

  /** The tree below `dir` in pages of 1,000 keys at one revision (the optional `PagedReader`). */
  readPages(dir: string, options?: PageOptions): AsyncIterable<ListPage<V>> {
    const checked = beginCall(options, this.#closed, 'readPages');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const parts = { client: this.client, keys: this.#keys, codec: this.codec, prefix: this.prefix };
    const serializable = this.#serializable && !checked.consistent;
    return etcd3Pages(parts, path, serializable, (fn) => this.#call(dir, checked, fn));
  }

  async set(key: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const checked = beginCall(options, this.#closed, 'set');
    checkNoFlags(checked.flags, key, 'etcd v3');
    const shape = this.#shape(key);
    const raw = this.codec.encode(value);
    const ttl = checkTtl(checked.ttl, this.capabilities.minTtl);
    return this.#call(key, checked, (call) => this.#write(shape, raw, ttl, NO_CHECK, call, key));
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const checked = beginCall(options, this.#closed, 'del');
    const recursive = checked.recursive ?? false;
    const path = this.#keys.toBackend(key, { root: recursive });
    return this.#call(key, checked, async (call) => {
      if (recursive)
        return deleteTree(
          this.client.kv,
          path,
          path === this.#keys.prefix ? this.#keys.reserved() : undefined,
          call,
        );
      const { end } = below(path);
      // Keys below the path other than its own `path/` marker (an empty directory).
      const rest: Compare = { key: `${path}/\0`, rangeEnd: end, target: 'version', result: '=', value: 0 };
      const first = await this.client.kv.txn(
        {
          compare: [{ key: path, target: 'version', result: '>', value: 0 }],
          success: [{ deleteRange: { key: path } }],
          failure: [
            { range: { key: rest.key, rangeEnd: end, countOnly: true, limit: 1 } },
            { range: { key: `${path}/` } },
          ],
        },
        call,
      );
      if (first.succeeded) return true;
      if (countOf(first.responses[0]) > 0) throw new KeyTypeError('IS_A_DIRECTORY', key);
      const marker = rangeOf(first.responses[1])[0];
      if (!marker) return false;
      const emptied = await this.client.kv.txn(
        {
          compare: [{ key: `${path}/`, target: 'mod', result: '=', value: marker.modRevision }, rest],
          success: [{ deleteRange: { key: `${path}/` } }],
        },
        call,
      );
      if (!emptied.succeeded) throw new KeyTypeError('IS_A_DIRECTORY', key);
      return true;
    });
  }

  async mkdir(key: string, options?: SetOptions): Promise<DirEntry> {
    const checked = beginCall(options, this.#closed, 'mkdir');
    const shape = this.#shape(key);
    // A TTL that is no TTL at all is INVALID_ARGUMENT, as on every other call.
    if (checkTtl(checked.ttl, this.capabilities.minTtl) !== undefined)
      throw new NotSupportedError(
        'mkdir with a ttl is not supported on etcd3 (a lease would expire the marker key, not the keys below it)',
        { key },
      );
    return this.#call(key, checked, async (call) => {
      const marker = `${shape.path}/`;
      const response = await this.client.kv.txn(
        {
          compare: [...shapeCompares(shape), { key: shape.path, target: 'version', result: '=', value: 0 }],
          success: [{ put: { key: marker, value: '' } }, { range: { key: marker, keysOnly: true } }],
          failure: [...shapeProbes(shape), { range: { key: shape.path, countOnly: true } }],
        },
        call,
      );
      if (!response.succeeded) {
        const failure = shapeFailure(shape, response.responses, 0, key);
        if (failure?.code === 'NOT_A_DIRECTORY') throw failure;
        throw new KeyExistsError(key);
      }
      const kv = rangeOf(response.responses[1])[0]!;
      return {
        key: this.#keys.fromBackend(shape.path)!,
        dir: true,
        index: kv.modRevision,
        createIndex: kv.createRevision,
      };
    });
  }

  async compareAndSwap(
    key: string,
    value: V,
    condition: SwapCondition<V>,
    options?: SetOptions,
  ): Promise<Entry<V>> {
    const checked = beginCall(options, this.#closed, 'compareAndSwap');
    checkNoFlags(checked.flags, key, 'etcd v3');
    const shape = this.#shape(key);
    const swap = checkSwapCondition(condition, this.codec);
    const raw = this.codec.encode(value);
    const ttl = checkTtl(checked.ttl, this.capabilities.minTtl);
    const prevRaw = swap.kind === 'prevValue' ? this.codec.encode(swap.prevValue) : undefined;
    return this.#call(key, checked, async (call) => {
      if (swap.kind === 'prevExist') {
        return this.#write(
          shape,
          raw,
          ttl,
          {
            compare: [{ key: shape.path, target: 'create', result: '=', value: 0 }],
            probes: [{ range: { key: shape.path, countOnly: true } }],
            explain: (responses) => (countOf(responses[0]) > 0 ? new KeyExistsError(key) : undefined),
          },
          call,
          key,
        );
      }
      const index = swap.kind === 'prevIndex' ? swap.prevIndex : undefined;
      return this.#write(
        shape,
        raw,
        ttl,
        {
          compare: casCompares(shape.path, index, prevRaw),
          probes: [{ range: { key: shape.path, countOnly: true } }],
          explain: (responses) =>
            countOf(responses[0]) === 0 ? new KeyNotFoundError(key) : new CompareFailedError(key),
          // The key exists as a value, so its shape is right: no typed-directory compares needed.
          existing: true,
        },
        call,
        key,
      );
    });
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    const checked = beginCall(options, this.#closed, 'compareAndDelete');
    const path = this.#keys.toBackend(key);
    const swap = checkSwapCondition(condition, this.codec);
    if (swap.kind === 'prevExist')
      throw new InvalidArgumentError('condition', 'compareAndDelete takes prevValue or prevIndex');
    const prevRaw = swap.kind === 'prevValue' ? this.codec.encode(swap.prevValue) : undefined;
    await this.#call(key, checked, async (call) => {
      const response = await this.client.kv.txn(
        {
          compare: casCompares(path, swap.kind === 'prevIndex' ? swap.prevIndex : undefined, prevRaw),
          success: [{ deleteRange: { key: path } }],
          failure: [{ range: { key: path, countOnly: true } }],
        },
        call,
      );
      if (response.succeeded) return;
      if (countOf(response.responses[0]) === 0) throw new KeyNotFoundError(key);
      throw new CompareFailedError(key);
    });
  }

  async push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const checked = beginCall(options, this.#closed, 'push');
    checkNoFlags(checked.flags, dir, 'etcd v3');
    const dirKey = this.#keys.fromBackend(this.#keys.toBackend(dir, { argument: 'dir' }))!;
    const raw = this.codec.encode(value);
    const ttl = checkTtl(checked.ttl, this.capabilities.minTtl);
    const counter = this.#keys.reserved('push', ...(dirKey === '' ? [] : [dirKey]));
    return this.#call(dir, checked, async (call) => {
      for (let attempt = 0; ; attempt++) {
        const current = await this.client.kv.get(counter, call);
        const next = Number(current?.value.toString() ?? '0') + 1;
        const itemKey =
          dirKey === ''
            ? String(next).padStart(PUSH_DIGITS, '0')
            : `${dirKey}/${String(next).padStart(PUSH_DIGITS, '0')}`;
        const shape = this.#shape(itemKey);
        const taken = current?.modRevision ?? 0;
        try {
          return await this.#write(
            shape,
            raw,
            ttl,
            {
              compare: [{ key: counter, target: 'mod', result: '=', value: taken }],
              probes: [{ range: { key: counter, keysOnly: true } }],
              explain: (responses) =>
                (rangeOf(responses[0])[0]?.modRevision ?? 0) !== taken
                  ? new CompareFailedError(itemKey)
                  : undefined,
              extra: [{ put: { key: counter, value: String(next) } }],
            },
            call,
            itemKey,
          );
        } catch (error) {
          // Another pusher took this number: read the counter again.
          if (!(error instanceof CompareFailedError) || attempt >= 50) throw error;
          await sleep(backoffDelay(attempt, 5, 200), call.signal);
        }
      }
    });
  }

  /**
   * A watch on core's watch engine: the etcd v3 source (`watch/source.ts`) over the client's shared
   * watch stream, with `fromIndex` as the start revision; see `store/watch.ts` for the mapping.
   */
  watch(key: string, options?: WatchOptions): Watcher<V> {
    const { recursive = false, fromIndex, initial = true, signal } = checkOptions(options, 'watch');
    if (this.#closed) throw new ClosedError();
    const path = this.#keys.toBackend(key, { root: true });
    const userKey = this.#keys.fromBackend(path)!;
    if (fromIndex !== undefined) checkIndex(fromIndex, 'fromIndex');
    const range = watchRange(path, recursive);
    const watcher = new Watcher<V>(
      userKey,
      { recursive, fromIndex, signal, onEnd: this.#forget, toError: toStoreError },
      (sink, end) => {
        const handler = new StoreWatchHandler(sink, this.client, this.codec, this.#keys, path, {
          recursive,
          initial,
        });
        const source = new Etcd3PollSource(
          this.client,
          {
            key: range.key,
            end: range.end,
            fromRevision: fromIndex,
            readFirst: initial,
            read: this.#readWatched,
            stop: sink.stop,
          },
          handler,
        );
        startWatchLoop(source, sink, { stop: sink.stop, timing: this.client.options }, end);
      },
    );
    this.#watchers.add(watcher);
    return watcher;
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    return this.#queueLock(key, beginCall(options, this.#closed, 'lock'), 'locks', 1);
  }

  async semaphore(key: string, options: SemaphoreOptions): Promise<Lock> {
    const checked = beginCall(options, this.#closed, 'semaphore');
    return this.#queueLock(key, checked, 'semaphores', checkLimit(checked.limit));
  }

  /** etcd's lock recipe, or its semaphore form; the holding is kept for close() until lost or released. */
  async #queueLock(key: string, checked: LockOptions, space: string, limit: number): Promise<Lock> {
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, this.capabilities.minTtl)!;
    try {
      const dir = this.#keys.reserved(space, userKey);
      const lock = await acquireQueueLock(this.#queue, userKey, dir, { ...checked, ttl, limit });
      this.#locks.add(lock);
      const forget = (): void => void this.#locks.delete(lock);
      lock.once('lost', forget).once('released', forget);
      return lock;
    } catch (error) {
      throw toStoreError(error, key);
    }
  }

  /** A test aid: deletes the lock's queue node behind its holder's back (as a lease expiry would). */
  async breakLock(lock: Lock): Promise<void> {
    const dir = this.#keys.reserved('locks', lock.key);
    const { kvs } = await this.client.kv.range(`${dir}/`, { end: prefixEnd(`${dir}/`), keysOnly: true });
    const held = kvs.find((kv) => kv.createRevision === lock.fencingToken);
    if (held) await this.client.kv.delete(held.key);
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([
      ...[...this.#watchers].map((watcher) => watcher.close()),
      ...[...this.#locks].map((lock) => lock.release({ timeout: 5000 }).catch(() => undefined)),
    ]);
    if (this.#ownClient) await this.client.close();
  }

  #shape(key: string): Shaped {
    const backend = this.#keys.toBackend(key);
    return shaped(this.prefix, this.#keys.fromBackend(backend)!);
  }

  /** One write as one transaction (see `store/write.ts`), as the Store's entry. */
  async #write(
    shape: Shaped,
    raw: string | Uint8Array,
    ttl: number | undefined,
    check: WriteCheck,
    call: Call,
    userKey: string,
  ): Promise<Entry<V>> {
    const written = await writeKey(this.client, shape, raw, ttl, check, call, userKey);
    return {
      key: this.#keys.fromBackend(shape.path)!,
      value: decodeValue(this.codec, typeof raw === 'string' ? raw : Uint8Array.from(raw), userKey),
      index: written.index,
      createIndex: written.createIndex,
      ...(written.expiresAt ? { expiresAt: written.expiresAt } : {}),
    };
  }

  async #call<T>(key: string, options: CallOptions, fn: (call: Call) => Promise<T>): Promise<T> {
    const bound = deadline(options.signal, options.timeout);
    try {
      return await fn(bound.signal ? { signal: bound.signal } : {});
    } catch (error) {
      throw toStoreError(error, key, bound);
    } finally {
      bound.dispose();
    }
  }
}
