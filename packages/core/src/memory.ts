import { decodeValue, utf8Codec, sameRaw, type Codec } from './codec.js';
import { CompareFailedError, KeyExistsError, KeyNotFoundError, KeyTypeError } from './errors.js';
import { isReservedKey, joinKey, KeySpace } from './keys.js';
import type { Lock } from './lock.js';
import { acquireQueueLock } from './queue-lock.js';
import { StoreHandles } from './store-handles.js';
import { memoryLockQueue } from './memory-lock.js';
import type { CallOptions } from './signal.js';
import type { Store } from './store.js';
import type {
  DelOptions,
  DeleteCondition,
  DirEntry,
  Entry,
  GetOptions,
  ListEntry,
  ListOptions,
  LockOptions,
  SemaphoreOptions,
  SetOptions,
  StoreCapabilities,
  SwapCondition,
  UnlistedKey,
  WatchOptions,
} from './types.js';
import {
  beginCall,
  beginWatch,
  checkFlags,
  checkLimit,
  checkOptions,
  checkSwapCondition,
  checkOptionTable,
  checkTtl,
  type OptionTableOf,
  type StoreMethod,
} from './validate.js';
import { Watcher, type WatchSink } from './watch/watcher.js';
import {
  memoryBackend,
  type MemoryBackend,
  type HistoryEvent,
  type MemoryNode,
  type Raw,
  type Subscription,
} from './memory-backend.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions<V> {
  /**
   * Every key lives under this path.
   * @defaultValue `''`
   */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /**
   * Stores created with the same name share one data set (within this process), like clients of
   * one server. Without a name, each store has its own.
   */
  name?: string;
  /**
   * How many past events a watch with `fromIndex` can replay; older ones cause a `resync`.
   * Mirrors etcd's 1,000-event window by default so that tests meet the same behaviour.
   * @defaultValue 1000
   */
  historySize?: number;
}

const MEMORY_OPTIONS = {
  prefix: 'string',
  codec: 'object',
  name: 'string',
  historySize: 'number',
} satisfies OptionTableOf<MemoryStoreOptions<unknown>>;

const capabilities: StoreCapabilities = Object.freeze({
  minTtl: 1,
  ttlExpiryFactor: 1,
  typedDirectories: true,
  watchHistory: 1000,
  flags: true,
  binaryValues: true,
});

/**
 * An in-memory Store with the full semantics of the others (directories, TTL expiry, watch with
 * replay, CAS, in-order keys, locks that can be lost), for unit tests and local tools.
 * `openStore('memory://')` makes one; `memory://name/prefix` shares the named data set.
 */
export function createMemoryStore<V = string>(options: MemoryStoreOptions<V> = {}): MemoryStore<V> {
  return new MemoryStore(options);
}

/** The `memory://` Store. See {@link createMemoryStore}. */
export class MemoryStore<V = string> implements Store<V> {
  readonly kind = 'memory';
  readonly prefix: string;
  readonly codec: Codec<V>;
  readonly capabilities: StoreCapabilities;

  readonly #keys: KeySpace;
  readonly #backend: MemoryBackend;
  readonly #shared: boolean;
  /** The watchers and locks handed out, for close(). */
  readonly #handles = new StoreHandles();
  #closed = false;

  /** The same as {@link createMemoryStore}, which is the usual way to make one. */
  constructor(options: MemoryStoreOptions<V> = {}) {
    checkOptionTable(options, MEMORY_OPTIONS, 'createMemoryStore');
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    const historySize = options.historySize ?? 1000;
    this.capabilities =
      historySize === 1000 ? capabilities : Object.freeze({ ...capabilities, watchHistory: historySize });
    this.#shared = options.name !== undefined;
    this.#backend = memoryBackend(options.name, historySize);
  }

  async get(key: string, options?: GetOptions): Promise<Entry<V> | null> {
    this.#begin(options, 'get');
    const path = this.#keys.toBackend(key);
    const node = this.#backend.nodes.get(path);
    return node && !node.dir ? this.#entry(path, node) : null;
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    return this.listSync(dir, options);
  }

  /**
   * `list`, answered at once: the data is in this process (`loadConfigSync` reads `memory://` this
   * way, where another thread would see a registry of its own).
   */
  listSync(dir: string, options?: Omit<ListOptions, 'signal'>): ListEntry<V>[] {
    const { recursive = false } = this.#begin(options, 'list');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const node = this.#backend.nodes.get(path);
    if (!node?.dir) return [];
    const out: ListEntry<V>[] = [];
    const walk = (at: string, current: MemoryNode): void => {
      for (const name of [...current.children!].sort()) {
        const childPath = joinKey(at, name);
        const child = this.#backend.nodes.get(childPath)!;
        const key = this.#keys.fromBackend(childPath)!;
        if (isReservedKey(key)) continue;
        if (child.dir) {
          out.push(this.#dirEntry(childPath, child));
          if (recursive) walk(childPath, child);
        } else {
          out.push(this.#entry(childPath, child));
        }
      }
    };
    walk(path, node);
    return out;
  }

  async set(key: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const { ttl, flags } = this.#begin(options, 'set');
    const path = this.#keys.toBackend(key);
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const checkedFlags = checkFlags(flags);
    const existing = this.#backend.nodes.get(path);
    if (existing?.dir) throw new KeyTypeError('IS_A_DIRECTORY', key);
    return this.#write(key, path, raw, expiresIn, existing, checkedFlags);
  }

  /** memory:// holds exactly the portable key model: nothing is ever left out of `list`. */
  async unlisted(dir: string, options?: CallOptions): Promise<UnlistedKey[]> {
    this.#begin(options, 'unlisted');
    this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    return [];
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const { recursive = false } = this.#begin(options, 'del');
    const path = this.#keys.toBackend(key, { root: recursive });
    const node = this.#backend.nodes.get(path);
    if (!node) return false;
    if (node.dir && !recursive && node.children!.size > 0) throw new KeyTypeError('IS_A_DIRECTORY', key);
    if (path === '' || path === this.#keys.prefix) {
      // Emptying the store's prefix keeps the library's own keys (held locks) in place.
      const index = ++this.#backend.index;
      let removed = false;
      for (const name of [...node.children!]) {
        if (path === this.#keys.prefix && isReservedKey(name)) continue;
        this.#backend.remove(joinKey(path, name), 'delete', index);
        removed = true;
      }
      return removed;
    }
    this.#backend.remove(path, 'delete', ++this.#backend.index);
    return true;
  }

  async mkdir(key: string, options?: SetOptions): Promise<DirEntry> {
    const { ttl } = this.#begin(options, 'mkdir');
    const path = this.#keys.toBackend(key);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    if (this.#backend.nodes.has(path)) throw new KeyExistsError(key);
    const index = this.#backend.makeParents(key, path);
    const node: MemoryNode = {
      dir: true,
      raw: undefined,
      index,
      createIndex: index,
      expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000,
      children: new Set(),
      flags: 0n,
    };
    this.#backend.link(path, node);
    return this.#dirEntry(path, node);
  }

  async compareAndSwap(
    key: string,
    value: V,
    condition: SwapCondition<V>,
    options?: SetOptions,
  ): Promise<Entry<V>> {
    const { ttl, flags } = this.#begin(options, 'compareAndSwap');
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition, this.codec);
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const checkedFlags = checkFlags(flags);
    const existing = this.#backend.nodes.get(path);
    this.#compare(key, existing, check);
    return this.#write(key, path, raw, expiresIn, existing, checkedFlags);
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    this.#begin(options, 'compareAndDelete');
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition, this.codec);
    if (check.kind === 'prevExist')
      throw new KeyExistsError(key, { message: 'compareAndDelete takes prevValue or prevIndex' });
    const existing = this.#backend.nodes.get(path);
    this.#compare(key, existing, check);
    this.#backend.remove(path, 'delete', ++this.#backend.index);
  }

  async push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const { ttl, flags } = this.#begin(options, 'push');
    const dirPath = this.#keys.toBackend(dir, { argument: 'dir' });
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const checkedFlags = checkFlags(flags);
    const name = String(this.#backend.index + 1).padStart(20, '0');
    const path = joinKey(dirPath, name);
    const key = joinKey(this.#keys.fromBackend(dirPath)!, name);
    return this.#write(key, path, raw, expiresIn, undefined, checkedFlags);
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const start = beginWatch(options, this.#closed, this.#keys, key);
    const { path, recursive, fromIndex, initial } = start;
    // The watch starts now, not when its loop first runs: the current state is read here, and the
    // loop replays whatever is written in between, so a write right after watch() is never missed.
    const from =
      fromIndex !== undefined
        ? { fromIndex, initialEntries: [] }
        : {
            fromIndex: this.#backend.index + 1,
            initialEntries: initial ? this.#snapshotNodes(path, recursive) : [],
          };
    return this.#handles.watch<V>(start, (sink) =>
      this.#runWatch(sink, path, recursive, from.fromIndex, from.initialEntries),
    );
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const checked = this.#begin(options, 'lock');
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, this.capabilities.minTtl)!;
    const lock = await acquireQueueLock(
      memoryLockQueue(this.#backend, userKey, this.#keys.reserved(), (path, ttl) =>
        this.#write(userKey, path, '', ttl, undefined, 0n),
      ),
      userKey,
      this.#keys.reserved('locks', userKey),
      {
        ...checked,
        ttl,
      },
    );
    return this.#handles.lock(lock);
  }

  async semaphore(key: string, options: SemaphoreOptions): Promise<Lock> {
    const checked = this.#begin(options, 'semaphore');
    const limit = checkLimit(checked.limit);
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, this.capabilities.minTtl)!;
    const lock = await acquireQueueLock(
      memoryLockQueue(this.#backend, userKey, this.#keys.reserved(), (path, ttl) =>
        this.#write(userKey, path, '', ttl, undefined, 0n),
      ),
      userKey,
      this.#keys.reserved('semaphores', userKey),
      { ...checked, ttl, limit },
    );
    return this.#handles.lock(lock);
  }

  /**
   * A test aid: drops a held lock behind its holder's back, as a server would when the holder's
   * session or TTL ran out. The holder's `lost` event follows within a third of the TTL.
   */
  breakLock(lock: Lock): void {
    const dir = this.#backend.nodes.get(this.#keys.reserved('locks', lock.key));
    const holder = dir?.dir ? [...dir.children!].sort()[0] : undefined;
    if (holder !== undefined) {
      this.#backend.remove(
        joinKey(this.#keys.reserved('locks', lock.key), holder),
        'delete',
        ++this.#backend.index,
      );
    }
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await this.#handles.close();
    if (!this.#shared) for (const path of [...this.#backend.timers.keys()]) this.#backend.clearTimer(path);
  }

  #begin<T extends CallOptions>(options: T | undefined, method: StoreMethod): T {
    return beginCall(options, this.#closed, method);
  }

  #entry(path: string, node: MemoryNode): Entry<V> {
    const key = this.#keys.fromBackend(path)!;
    const entry: Entry<V> = {
      key,
      value: decodeValue(
        this.codec,
        typeof node.raw === 'string' ? node.raw : new Uint8Array(node.raw!),
        key,
      ),
      index: node.index,
      createIndex: node.createIndex,
    };
    if (node.expiresAt !== undefined) entry.expiresAt = new Date(node.expiresAt);
    if (node.flags !== 0n) entry.flags = node.flags;
    return entry;
  }

  #dirEntry(path: string, node: MemoryNode): DirEntry {
    const entry: DirEntry = {
      key: this.#keys.fromBackend(path)!,
      dir: true,
      index: node.index,
      createIndex: node.createIndex,
    };
    if (node.expiresAt !== undefined) entry.expiresAt = new Date(node.expiresAt);
    return entry;
  }

  #compare(key: string, node: MemoryNode | undefined, check: ReturnType<typeof checkSwapCondition<V>>): void {
    if (check.kind === 'prevExist') {
      if (node) throw new KeyExistsError(key);
      return;
    }
    if (!node) throw new KeyNotFoundError(key);
    if (node.dir) throw new KeyTypeError('IS_A_DIRECTORY', key);
    if (check.kind === 'prevIndex' && node.index !== check.prevIndex) {
      throw new CompareFailedError(key, {
        message: `compare failed: ${key} is at index ${node.index}, not ${check.prevIndex}`,
      });
    }
    if (check.kind === 'prevValue' && !sameRaw(node.raw!, this.codec.encode(check.prevValue))) {
      throw new CompareFailedError(key, { message: `compare failed: ${key} holds another value` });
    }
  }

  #write(
    key: string,
    path: string,
    raw: Raw,
    ttl: number | undefined,
    existing: MemoryNode | undefined,
    flags: bigint,
  ): Entry<V> {
    const index = existing ? ++this.#backend.index : this.#backend.makeParents(key, path);
    const node: MemoryNode = {
      dir: false,
      // Copy bytes so that the caller mutating its array later cannot change the stored value.
      raw: typeof raw === 'string' ? raw : new Uint8Array(raw),
      index,
      createIndex: existing?.createIndex ?? index,
      expiresAt: ttl === undefined ? undefined : Date.now() + ttl * 1000,
      children: undefined,
      flags,
    };
    this.#backend.link(path, node);
    this.#backend.record({
      type: 'put',
      path,
      raw: node.raw,
      index,
      createIndex: node.createIndex,
      expiresAt: node.expiresAt,
      flags,
    });
    return this.#entry(path, node);
  }

  async #runWatch(
    sink: WatchSink<V>,
    path: string,
    recursive: boolean,
    fromIndex: number,
    initialNodes: [string, MemoryNode][],
  ): Promise<void> {
    const backend = this.#backend;
    const toEvent = (event: HistoryEvent): void => {
      const key = this.#keys.fromBackend(event.path);
      if (key === undefined || isReservedKey(key)) return;
      if (event.type === 'put') {
        const raw = typeof event.raw === 'string' ? event.raw : new Uint8Array(event.raw!);
        sink.emit({
          type: 'put',
          key,
          value: decodeValue(this.codec, raw, key),
          index: event.index,
          createIndex: event.createIndex,
          ...(event.expiresAt === undefined ? {} : { expiresAt: new Date(event.expiresAt) }),
          ...(event.flags === 0n ? {} : { flags: event.flags }),
        });
      } else {
        sink.emit({ type: event.type, key, index: event.index });
      }
    };
    // A value the codec cannot read (UNREPRESENTABLE) ends the watch loudly, from a delivery too.
    let fail: (error: unknown) => void = () => undefined;
    const ended = new Promise<void>((resolve, reject) => {
      fail = reject;
      sink.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const subscription: Subscription = {
      path,
      recursive,
      deliver: (event) => {
        try {
          toEvent(event);
        } catch (error) {
          backend.subscriptions.delete(subscription);
          fail(error);
        }
      },
    };
    try {
      sink.anchor(fromIndex - 1);
      for (const [valuePath, node] of initialNodes)
        sink.emit({ type: 'put', ...this.#entry(valuePath, node), initial: true } as const);
      // Replay and subscribe in one synchronous step, so no write can fall between the two.
      if (fromIndex <= backend.droppedUpTo) {
        sink.resync(this.#snapshot(path, recursive), backend.index);
      } else {
        for (const event of backend.history) {
          const matches =
            event.path === path || (recursive && (path === '' || event.path.startsWith(`${path}/`)));
          if (event.index >= fromIndex && matches) toEvent(event);
        }
      }
      backend.subscriptions.add(subscription);
      sink.connected();
      await ended;
    } finally {
      backend.subscriptions.delete(subscription);
    }
  }

  /** The value nodes a watch starts from, taken at `watch()` (a write replaces a node, never changes it). */
  #snapshotNodes(path: string, recursive: boolean): [string, MemoryNode][] {
    return this.#backend
      .values(path)
      .filter(
        ([valuePath]) =>
          (recursive || valuePath === path) && !isReservedKey(this.#keys.fromBackend(valuePath)!),
      );
  }

  #snapshot(path: string, recursive: boolean): Entry<V>[] {
    return this.#snapshotNodes(path, recursive).map(([valuePath, node]) => this.#entry(valuePath, node));
  }
}
