import {
  extend,
  InvalidArgumentError,
  KeyExistsError,
  KeyNotFoundError,
  KeySpace,
  NotSupportedError,
  StoreHandles,
  Watcher,
  backoffDelay,
  beginCall,
  beginWatch,
  checkOptionTable,
  checkOptions,
  checkSwapCondition,
  deadline,
  sleep,
  utf8Codec,
  type BulkWrite,
  type CallOptions,
  type Codec,
  type DelOptions,
  type DeleteCondition,
  type DirEntry,
  type Entry,
  type ForeignHold,
  type GetOptions,
  type ListEntry,
  type ListOptions,
  type ListPage,
  type Lock,
  type PageOptions,
  type SetOptions,
  type Store,
  type StoreCapabilities,
  type StoreMethod,
  type SwapCondition,
  type UnlistedKey,
  type WatchOptions,
} from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import type { TxnResponse } from '../api/txn.js';
import { ConsulClient } from '../client.js';
import { valueBytes } from '../codec.js';
import type { QueryOptions } from '../options.js';
import {
  STORE_OPTIONS_TABLE,
  checkSessionTtl,
  checkStoreFlags,
  encodeValue,
  makeClient,
  toEntry,
  type ConsulStoreOptions,
  type Raw,
  type StoreParts,
} from './common.js';
import { bulkOps, pushItem } from './bulk.js';
import { indexMismatch, whileHolding } from './compare.js';
import { toStoreError, txnFailure } from './errors.js';
import { foreignHolds, listEntries, unlistedKeys } from './list.js';
import { consulPages, PAGES_AHEAD } from './pages.js';
import {
  LOCK_OPTIONS,
  acquireStoreLock,
  breakStoreLock,
  type ConsulStoreLockOptions,
  type LockSettings,
} from './lock.js';
import { SEMAPHORE_OPTIONS, acquireStoreSemaphore, type ConsulStoreSemaphoreOptions } from './semaphore.js';
import { StoreWatches } from './watch.js';
import { KvWrites, NONE, type Condition, type WriteResult } from './writes.js';

/** Makes a Consul {@link Store}. See the package README, section "Store", for how Consul differs. */
export function createConsulStore<V = string>(options: ConsulStoreOptions<V> = {}): ConsulStore<V> {
  return new ConsulStore(options);
}

const NO_OPTIONS: QueryOptions = Object.freeze({});
/** How many keys' backend paths a store remembers (see `#path`). */
const PATH_CACHE_SIZE = 4096;

/**
 * The Consul `Store`: keys are KV entries under the prefix, directories are implied by `/` (or
 * marked by an empty `dir/` key from `mkdir`), TTLs are sessions with `Behavior=delete`, watches are
 * blocking queries diffed per key, and locks are Consul sessions with lock-delay.
 */
export class ConsulStore<V = string> implements Store<V> {
  readonly kind = 'consul';
  readonly prefix: string;
  /** Turns values into what Consul stores and back (`options.codec`; UTF-8 text by default). */
  readonly codec: Codec<V>;
  /**
   * What this backend can do: TTLs of at least `minTtl` seconds that may expire up to 2× late
   * (sessions), flags and any bytes, no typed directories, no watch history.
   */
  readonly capabilities: StoreCapabilities;
  /** The native client, for what the Store does not cover. */
  readonly client: ConsulClient;

  readonly #keys: KeySpace;
  readonly #ownClient: boolean;
  readonly #minTtl: number;
  readonly #lockDelay: number;
  readonly #read: QueryOptions;
  /** What the store's parts (list.ts, watch.ts) share. */
  readonly #parts: StoreParts<V>;
  readonly #writes: KvWrites;
  readonly #watches: StoreWatches<V>;
  /** The watchers and locks handed out, for close(). */
  readonly #handles = new StoreHandles();
  /** Backend paths of recently used keys: validating a key (a Unicode regex, a split) once, not per call. */
  readonly #paths = new Map<string, string>();
  #closed = false;

  /**
   * Usually made with `createConsulStore(options)`. Checks the options (a wrong one is refused with
   * `INVALID_ARGUMENT`); makes a client of its own unless `options.client` is one.
   */
  constructor(options: ConsulStoreOptions<V> = {}) {
    checkOptionTable(options, STORE_OPTIONS_TABLE, 'createConsulStore');
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    const minTtl = options.minTtl ?? 10;
    if (!Number.isInteger(minTtl) || minTtl < 1)
      throw new InvalidArgumentError('minTtl', 'minTtl must be a whole number of seconds >= 1');
    this.#minTtl = minTtl;
    this.#lockDelay = options.lockDelay ?? 15_000;
    const watchWait = options.watchWait ?? 60_000;
    if (typeof this.#lockDelay !== 'number' || !(this.#lockDelay >= 0) || !Number.isFinite(this.#lockDelay))
      throw new InvalidArgumentError('lockDelay', 'lockDelay must be a number of milliseconds >= 0');
    if (typeof watchWait !== 'number' || !(watchWait >= 1) || !Number.isFinite(watchWait))
      throw new InvalidArgumentError('watchWait', 'watchWait must be a number of milliseconds >= 1');
    this.#read = options.consistent ? Object.freeze({ consistent: true }) : NO_OPTIONS;
    this.capabilities = Object.freeze({
      minTtl,
      ttlExpiryFactor: 2,
      typedDirectories: false,
      watchHistory: 0,
      flags: true,
      binaryValues: true,
    });
    this.#ownClient = !(options.client instanceof ConsulClient);
    this.client = options.client instanceof ConsulClient ? options.client : makeClient(options.client);
    this.#parts = { client: this.client, keys: this.#keys, codec: this.codec, read: this.#read };
    this.#writes = new KvWrites(this.client, this.#keys);
    this.#watches = new StoreWatches(this.#parts, watchWait);
  }

  async get(key: string, options?: GetOptions): Promise<Entry<V> | null> {
    const checked = this.#begin(options, 'get');
    const path = this.#path(key);
    if (checked.signal === undefined && !checked.timeout && !checked.consistent) {
      // The common case, without a deadline or a closure: as close to one bare request as it gets.
      try {
        const { data } = await this.client.kv.get(path, this.#read);
        return data ? this.#entry(data) : null;
      } catch (error) {
        throw toStoreError(error, key);
      }
    }
    return this.#call(key, checked, async (call) => {
      const read = checked.consistent ? extend(call, { consistent: true }) : call;
      const { data } = await this.client.kv.get(path, read);
      return data ? this.#entry(data) : null;
    });
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    const checked = this.#begin(options, 'list');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const folder = path === '' ? '' : `${path}/`;
    const recursive = checked.recursive ?? false;
    return this.#call(dir, checked, async (call) => {
      const read = checked.consistent ? extend(call, { consistent: true }) : call;
      const { data } = await this.client.kv.list(folder, read);
      return listEntries(this.#parts, data, folder, recursive);
    });
  }

  /**
   * Keys below `dir` that Consul holds and `list` leaves out: keys ending in `/` that hold a value
   * or flags, keys with empty, `.` or `..` segments, characters that are not printable, over 4,096
   * bytes. `path` is the Consul key relative to the store's prefix, verbatim.
   */
  async unlisted(dir: string, options?: CallOptions): Promise<UnlistedKey[]> {
    const checked = this.#begin(options, 'unlisted');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const folder = path === '' ? '' : `${path}/`;
    return this.#call(dir, checked, async (call) => {
      const { data } = await this.client.kv.list(folder, extend(call, { consistent: true }));
      return unlistedKeys(this.#keys, data, folder);
    });
  }

  /**
   * The keys below `dir` held by sessions the store did not create (a Go service's lock, `consul
   * lock`, anyone's session): `copy` names them, because a hold is not something it can copy. The
   * optional `HoldReporter` capability of the Store.
   */
  async foreignHolds(dir: string, options?: CallOptions): Promise<ForeignHold[]> {
    const checked = this.#begin(options, 'foreignHolds');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const folder = path === '' ? '' : `${path}/`;
    return this.#call(dir, checked, async (call) => {
      const { data } = await this.client.kv.list(folder, extend(call, { consistent: true }));
      return foreignHolds(this.#parts, data, call);
    });
  }

  /**
   * The tree below `dir` in pages of at most 250 keys (the optional `PagedReader` capability that
   * `copy` and `diff` use): one `?keys` listing, then `?recurse` reads of prefixes.
   */
  readPages(dir: string, options?: PageOptions): AsyncIterable<ListPage<V>> {
    const checked = this.#begin(options, 'readPages');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const run = <T>(fn: (call: QueryOptions) => Promise<T>): Promise<T> =>
      this.#call(dir, checked, (call) => fn(checked.consistent ? extend(call, { consistent: true }) : call));
    return consulPages(this.#parts, path === '' ? '' : `${path}/`, checked.concurrency ?? PAGES_AHEAD, run);
  }

  async set(key: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const checked = this.#begin(options, 'set');
    const path = this.#path(key);
    const raw = this.#encode(key, value);
    const ttl = checkSessionTtl(checked.ttl, this.#minTtl);
    const flags = checkStoreFlags(checked.flags, ttl, key);
    if (ttl === undefined && checked.signal === undefined && !checked.timeout) {
      // The common case (no TTL, no deadline): one transaction, no closure, no deadline object.
      let result: WriteResult;
      try {
        result = await this.#writes.write(path, raw, undefined, NONE, this.#read, flags);
      } catch (error) {
        throw toStoreError(error, key);
      }
      if (!result.ok) throw txnFailure(key, result.errors);
      const entry = this.#entry(result.pair, undefined, raw);
      return this.#watches.idle ? entry : this.#watches.written(entry);
    }
    return this.#call(key, checked, async (call) => {
      for (let attempt = 0; ; attempt++) {
        const result = await this.#writes.write(path, raw, ttl, NONE, call, flags);
        if (result.ok) return this.#watches.written(this.#entry(result.pair, ttl, raw));
        // Only a TTL write can fail unconditionally: another writer took the key in between.
        if (ttl === undefined || attempt >= 20) throw txnFailure(key, result.errors);
        await sleep(backoffDelay(attempt, 20, 500), call.signal);
      }
    });
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const checked = this.#begin(options, 'del');
    const recursive = checked.recursive ?? false;
    const path = this.#keys.toBackend(key, { root: recursive });
    const deleted = await this.#call(key, checked, (call) => this.#writes.delete(key, path, recursive, call));
    if (deleted) await this.#watches.gone(this.#keys.fromBackend(path)!, recursive);
    return deleted;
  }

  async mkdir(key: string, options?: SetOptions): Promise<DirEntry> {
    const checked = this.#begin(options, 'mkdir');
    const path = this.#path(key);
    if (checked.ttl !== undefined) {
      throw new NotSupportedError(
        'mkdir with a ttl is not supported on Consul (a directory is a key, not a session)',
        {
          key,
        },
      );
    }
    return this.#call(key, checked, async (call) => {
      const { data: keys } = await this.client.kv.keys(path, call);
      if (keys.some((k) => k === path || k.startsWith(`${path}/`))) throw new KeyExistsError(key);
      const marker = `${path}/`;
      const response = await this.#writes.txn(
        [{ KV: { Verb: 'cas', Key: marker, Index: 0 } }, { KV: { Verb: 'get', Key: marker } }],
        call,
      );
      if (!response.ok) throw new KeyExistsError(key);
      const pair = response.Results.at(-1)!.KV!;
      return {
        key: this.#keys.fromBackend(path)!,
        dir: true,
        index: pair.ModifyIndex,
        createIndex: pair.CreateIndex,
      };
    });
  }

  async compareAndSwap(
    key: string,
    value: V,
    condition: SwapCondition<V>,
    options?: SetOptions,
  ): Promise<Entry<V>> {
    const checked = this.#begin(options, 'compareAndSwap');
    const path = this.#path(key);
    const check = checkSwapCondition(condition, this.codec);
    const raw = this.#encode(key, value);
    const ttl = checkSessionTtl(checked.ttl, this.#minTtl);
    const flags = checkStoreFlags(checked.flags, ttl, key);
    return this.#call(key, checked, async (call) => {
      const write = async (condition: Condition): Promise<KvPair | undefined> => {
        const result = await this.#writes.write(path, raw, ttl, condition, call, flags);
        return result.ok ? result.pair : undefined;
      };
      let pair: KvPair | undefined;
      if (check.kind === 'prevExist') {
        pair = await write({ kind: 'absent' });
        if (!pair) throw new KeyExistsError(key);
      } else if (check.kind === 'prevIndex') {
        // Consul's cas=0 means "create": no key ever has index 0, so that condition can only fail.
        if (check.prevIndex !== 0) pair = await write({ kind: 'index', index: check.prevIndex });
        pair ??= await indexMismatch(this.client, key, path, check.prevIndex, call);
      } else {
        const expected = valueBytes(this.codec.encode(check.prevValue));
        pair = await whileHolding(this.client, key, path, expected, call, (index) =>
          write({ kind: 'index', index }),
        );
      }
      return this.#watches.written(this.#entry(pair, ttl, raw));
    });
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    const checked = this.#begin(options, 'compareAndDelete');
    const path = this.#path(key);
    const check = checkSwapCondition(condition, this.codec);
    if (check.kind === 'prevExist')
      throw new InvalidArgumentError('condition', 'compareAndDelete takes prevValue or prevIndex');
    await this.#call(key, checked, async (call) => {
      const kv = this.client.kv;
      if (check.kind === 'prevIndex') {
        // Consul answers `true` to a delete with `cas` of a key that does not exist: look first.
        const { data: before } = await kv.get(path, call);
        if (!before) throw new KeyNotFoundError(key);
        const matches = check.prevIndex !== 0 && before.ModifyIndex === check.prevIndex;
        if (matches && (await kv.delete(path, extend(call, { cas: check.prevIndex })))) return;
        return indexMismatch(this.client, key, path, check.prevIndex, call);
      }
      const expected = valueBytes(this.codec.encode(check.prevValue));
      await whileHolding(this.client, key, path, expected, call, async (index) =>
        (await kv.delete(path, extend(call, { cas: index }))) ? true : undefined,
      );
    });
    await this.#watches.gone(this.#keys.fromBackend(path)!, false);
  }

  /**
   * Writes many keys with one transaction (`copy` sends at most 64): each a `cas` on its
   * `prevIndex` (0: only if absent). When the transaction cannot be used or rolls back (a key
   * changed meanwhile, a value too large, a refusal), every write goes through the single-key path
   * so each key gets its own answer. Resolves one entry per write: `undefined` or the error. The
   * optional `BulkWriter` capability of the Store, used by `copy`.
   */
  async writeMany(writes: readonly BulkWrite<V>[], options?: CallOptions): Promise<unknown[]> {
    const checked = this.#begin(options, 'writeMany');
    const one = async (write: BulkWrite<V>): Promise<unknown> => {
      try {
        const condition =
          write.prevIndex === 0 ? { prevExist: false as const } : { prevIndex: write.prevIndex };
        const flags = write.flags === undefined ? {} : { flags: write.flags };
        await this.compareAndSwap(write.key, write.value, condition, extend(checked, flags));
        return undefined;
      } catch (error) {
        if (checked.signal?.aborted) throw error;
        return error;
      }
    };
    const each = (): Promise<unknown[]> => Promise.all(writes.map(one));
    if (writes.length === 0) return [];
    const ops = bulkOps(
      writes,
      (key) => this.#path(key),
      (key, value) => this.#encode(key, value),
    );
    if (ops === undefined) return each();
    let response: TxnResponse;
    try {
      response = await this.#call(writes[0]!.key, checked, (call) => this.#writes.txn(ops, call));
    } catch (error) {
      if (checked.signal?.aborted) throw error;
      return each();
    }
    if (!response.ok) return each();
    // A key held by a session keeps it under a cas. The store's own TTL session is released and
    // destroyed (the key becomes permanent, as with set()); anyone else's hold stays, as
    // `consul kv put` leaves it.
    return Promise.all(
      writes.map(async (write, i) => {
        const pair = response.Results[i]?.KV;
        if (!pair?.Session) return undefined;
        const { Key, Value, Flags = 0n } = ops[i]!.KV;
        try {
          const flags = BigInt(Flags);
          await this.#call(write.key, checked, (call) =>
            this.#writes.releaseOwn(Key, Value, flags, pair, call),
          );
          return undefined;
        } catch (error) {
          if (checked.signal?.aborted) throw error;
          return error;
        }
      }),
    );
  }

  async push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const checked = this.#begin(options, 'push');
    const dirPath = this.#keys.toBackend(dir, { argument: 'dir' });
    const dirKey = this.#keys.fromBackend(dirPath)!;
    const raw = this.#encode(dir, value);
    const ttl = checkSessionTtl(checked.ttl, this.#minTtl);
    const flags = checkStoreFlags(checked.flags, ttl, dir);
    const counter = this.#keys.reserved('push', dirKey);
    return this.#call(dir, checked, (call) =>
      pushItem(this.client, this.#writes, dir, dirPath, counter, raw, ttl, flags, call, (pair) =>
        this.#entry(pair, ttl),
      ).then((entry) => this.#watches.written(entry)),
    );
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const start = beginWatch(options, this.#closed, this.#keys, key);
    return this.#handles.watch<V>(start, (sink, end) => this.#watches.run(sink, start, end), toStoreError);
  }

  async lock(key: string, options?: ConsulStoreLockOptions): Promise<Lock> {
    checkOptionTable(options, LOCK_OPTIONS, 'lock');
    const checked = beginCall(options, this.#closed);
    return this.#handles.lock(await acquireStoreLock(this.#lockSettings(), key, checked));
  }

  async semaphore(key: string, options: ConsulStoreSemaphoreOptions): Promise<Lock> {
    checkOptionTable(options, SEMAPHORE_OPTIONS, 'semaphore');
    const checked = beginCall(options, this.#closed);
    return this.#handles.lock(await acquireStoreSemaphore(this.#lockSettings(), key, checked));
  }

  #lockSettings(): LockSettings {
    return { client: this.client, keys: this.#keys, minTtl: this.#minTtl, lockDelay: this.#lockDelay };
  }

  /**
   * A test aid: destroys the session holding `lock` behind its holder's back, as Consul does when a
   * holder's node fails or its TTL runs out. The holder's `lost` event follows.
   */
  async breakLock(lock: Lock): Promise<void> {
    await breakStoreLock(this.client, this.#keys, lock);
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await this.#handles.close();
    if (this.#ownClient) await this.client.close();
  }

  // -------------------------------------------------------------------------------------------

  /** `this.#keys.toBackend(key)`, remembered for the last few thousand keys. */
  #path(key: string): string {
    let path = this.#paths.get(key);
    if (path === undefined) {
      path = this.#keys.toBackend(key);
      if (this.#paths.size >= PATH_CACHE_SIZE) this.#paths.clear();
      this.#paths.set(key, path);
    }
    return path;
  }

  #begin<T extends CallOptions>(options: T | undefined, method: StoreMethod): T {
    return beginCall(options, this.#closed, method);
  }

  /** Runs one Store call: one deadline for all its requests, native errors mapped up. */
  async #call<T>(key: string, options: CallOptions, fn: (call: QueryOptions) => Promise<T>): Promise<T> {
    const d = deadline(options.signal, options.timeout);
    const call = d.signal ? extend(this.#read, { signal: d.signal }) : this.#read;
    try {
      return await fn(call);
    } catch (error) {
      if (d.signal?.aborted) throw d.error(error);
      throw toStoreError(error, key);
    } finally {
      d.dispose();
    }
  }

  #encode(key: string, value: V): Raw {
    return encodeValue(this.codec, key, value);
  }

  /** An entry from a pair; `raw`: the value just written (write results carry no value). */
  #entry(pair: KvPair, ttl?: number, raw?: Raw): Entry<V> {
    return toEntry(this.#parts, pair, ttl, raw);
  }
}
