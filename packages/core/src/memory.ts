import { utf8Codec, sameRaw, type Codec } from './codec.js';
import {
  ClosedError,
  CompareFailedError,
  KeyExistsError,
  KeyNotFoundError,
  KeyTypeError,
  LockLostError,
} from './errors.js';
import { isReservedKey, joinKey, KeySpace, parentKey } from './keys.js';
import type { Lock } from './lock.js';
import { acquireQueueLock, type LockQueue, type QueueNode } from './queue-lock.js';
import { MAX_TIMER_MS, throwIfAborted, type CallOptions } from './signal.js';
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
  SetOptions,
  StoreCapabilities,
  SwapCondition,
  WatchOptions,
} from './types.js';
import { beginCall, checkIndex, checkOptions, checkSwapCondition, checkTtl } from './validate.js';
import { Watcher, type WatchSink } from './watch/watcher.js';

type Raw = string | Uint8Array;

interface MemoryNode {
  dir: boolean;
  raw: Raw | undefined;
  index: number;
  createIndex: number;
  expiresAt: number | undefined;
  children: Set<string> | undefined;
}

interface HistoryEvent {
  type: 'put' | 'delete' | 'expire';
  path: string;
  raw: Raw | undefined;
  index: number;
  createIndex: number;
  expiresAt: number | undefined;
}

interface Subscription {
  path: string;
  recursive: boolean;
  deliver(event: HistoryEvent): void;
}

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

/** The shared state of one in-memory "server". */
class MemoryBackend {
  index = 0;
  readonly nodes = new Map<string, MemoryNode>([
    ['', { dir: true, raw: undefined, index: 0, createIndex: 0, expiresAt: undefined, children: new Set() }],
  ]);
  readonly history: HistoryEvent[] = [];
  /** The highest index whose events were dropped from `history`. */
  droppedUpTo = 0;
  readonly subscriptions = new Set<Subscription>();
  readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(readonly historySize: number) {}

  record(event: HistoryEvent): void {
    this.history.push(event);
    while (this.history.length > this.historySize) this.droppedUpTo = this.history.shift()!.index;
    for (const subscription of this.subscriptions) {
      const { path, recursive } = subscription;
      const matches =
        event.path === path || (recursive && (path === '' || event.path.startsWith(`${path}/`)));
      // Delivered on a microtask, in order, so that listeners never run inside the writer's call.
      if (matches) queueMicrotask(() => subscription.deliver(event));
    }
  }

  /** Every value path at or below `path`, with its node, in key order. */
  values(path: string): [string, MemoryNode][] {
    const node = this.nodes.get(path);
    if (!node) return [];
    if (!node.dir) return [[path, node]];
    const out: [string, MemoryNode][] = [];
    for (const name of [...node.children!].sort()) out.push(...this.values(joinKey(path, name)));
    return out;
  }

  /** Removes `path` and its subtree; records one event per value removed. */
  remove(path: string, type: 'delete' | 'expire', index: number): void {
    const node = this.nodes.get(path);
    if (!node) return;
    if (node.dir) for (const name of [...node.children!]) this.remove(joinKey(path, name), type, index);
    this.clearTimer(path);
    if (path === '') return;
    this.nodes.delete(path);
    this.nodes.get(parentKey(path))?.children?.delete(path.slice(path.lastIndexOf('/') + 1));
    if (!node.dir) {
      this.record({ type, path, raw: undefined, index, createIndex: node.createIndex, expiresAt: undefined });
    }
  }

  clearTimer(path: string): void {
    const timer = this.timers.get(path);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(path);
    }
  }

  armExpiry(path: string, node: MemoryNode): void {
    this.clearTimer(path);
    if (node.expiresAt === undefined) return;
    const expiresAt = node.expiresAt;
    const timer = setTimeout(
      () => {
        this.timers.delete(path);
        const current = this.nodes.get(path);
        if (current?.expiresAt !== expiresAt) return;
        // A TTL longer than one timer can wait (about 24.8 days) takes several timers.
        if (Date.now() < expiresAt) this.armExpiry(path, current);
        else this.remove(path, 'expire', ++this.index);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - Date.now())),
    );
    timer.unref();
    this.timers.set(path, timer);
  }
}

const namedBackends = new Map<string, MemoryBackend>();

const capabilities: StoreCapabilities = Object.freeze({
  minTtl: 1,
  ttlExpiryFactor: 1,
  typedDirectories: true,
  watchHistory: 1000,
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
  readonly #watchers = new Set<Watcher<V>>();
  readonly #locks = new Set<Lock>();
  #closed = false;

  constructor(options: MemoryStoreOptions<V> = {}) {
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    const historySize = options.historySize ?? 1000;
    this.capabilities =
      historySize === 1000 ? capabilities : Object.freeze({ ...capabilities, watchHistory: historySize });
    this.#shared = options.name !== undefined;
    if (options.name !== undefined) {
      let backend = namedBackends.get(options.name);
      if (!backend) {
        backend = new MemoryBackend(historySize);
        namedBackends.set(options.name, backend);
      }
      this.#backend = backend;
    } else {
      this.#backend = new MemoryBackend(historySize);
    }
  }

  async get(key: string, options?: GetOptions): Promise<Entry<V> | null> {
    this.#begin(options);
    const path = this.#keys.toBackend(key);
    const node = this.#backend.nodes.get(path);
    return node && !node.dir ? this.#entry(path, node) : null;
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    const { recursive = false } = this.#begin(options);
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
    const { ttl } = this.#begin(options);
    const path = this.#keys.toBackend(key);
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const existing = this.#backend.nodes.get(path);
    if (existing?.dir) throw new KeyTypeError('IS_A_DIRECTORY', key);
    return this.#write(key, path, raw, expiresIn, existing);
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const { recursive = false } = this.#begin(options);
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
    const { ttl } = this.#begin(options);
    const path = this.#keys.toBackend(key);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    if (this.#backend.nodes.has(path)) throw new KeyExistsError(key);
    const index = this.#makeParents(key, path);
    const node: MemoryNode = {
      dir: true,
      raw: undefined,
      index,
      createIndex: index,
      expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000,
      children: new Set(),
    };
    this.#link(path, node);
    return this.#dirEntry(path, node);
  }

  async compareAndSwap(
    key: string,
    value: V,
    condition: SwapCondition<V>,
    options?: SetOptions,
  ): Promise<Entry<V>> {
    const { ttl } = this.#begin(options);
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition);
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const existing = this.#backend.nodes.get(path);
    this.#compare(key, existing, check);
    return this.#write(key, path, raw, expiresIn, existing);
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    this.#begin(options);
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition);
    if (check.kind === 'prevExist')
      throw new KeyExistsError(key, { message: 'compareAndDelete takes prevValue or prevIndex' });
    const existing = this.#backend.nodes.get(path);
    this.#compare(key, existing, check);
    this.#backend.remove(path, 'delete', ++this.#backend.index);
  }

  async push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const { ttl } = this.#begin(options);
    const dirPath = this.#keys.toBackend(dir, { argument: 'dir' });
    const raw = this.codec.encode(value);
    const expiresIn = checkTtl(ttl, this.capabilities.minTtl);
    const name = String(this.#backend.index + 1).padStart(20, '0');
    const path = joinKey(dirPath, name);
    return this.#write(joinKey(this.#keys.fromBackend(dirPath)!, name), path, raw, expiresIn, undefined);
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const { recursive = false, fromIndex, initial = true, signal } = checkOptions(options);
    if (this.#closed) throw new ClosedError();
    const path = this.#keys.toBackend(key, { root: true });
    const userKey = this.#keys.fromBackend(path)!;
    if (fromIndex !== undefined) checkIndex(fromIndex, 'fromIndex');
    // The watch starts now, not when its loop first runs: the current state is read here, and the
    // loop replays whatever is written in between, so a write right after watch() is never missed.
    const start =
      fromIndex !== undefined
        ? { fromIndex, initialEntries: [] }
        : {
            fromIndex: this.#backend.index + 1,
            initialEntries: initial ? this.#snapshot(path, recursive) : [],
          };
    const watcher = new Watcher<V>(userKey, { recursive, fromIndex, signal }, (sink) =>
      this.#runWatch(sink, path, recursive, start.fromIndex, start.initialEntries),
    );
    this.#watchers.add(watcher);
    watcher.on('end', () => this.#watchers.delete(watcher));
    return watcher;
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const checked = this.#begin(options);
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, this.capabilities.minTtl)!;
    const lock = await acquireQueueLock(
      this.#lockQueue(userKey),
      userKey,
      this.#keys.reserved('locks', userKey),
      {
        ...checked,
        ttl,
      },
    );
    this.#locks.add(lock);
    const forget = (): void => void this.#locks.delete(lock);
    lock.once('lost', forget).once('released', forget);
    return lock;
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((watcher) => watcher.close()));
    await Promise.all([...this.#locks].map((lock) => lock.release().catch(() => undefined)));
    if (!this.#shared) for (const path of [...this.#backend.timers.keys()]) this.#backend.clearTimer(path);
  }

  #begin<T extends CallOptions>(options: T | undefined): T {
    return beginCall(options, this.#closed);
  }

  #entry(path: string, node: MemoryNode): Entry<V> {
    const entry: Entry<V> = {
      key: this.#keys.fromBackend(path)!,
      value: this.codec.decode(typeof node.raw === 'string' ? node.raw : new Uint8Array(node.raw!)),
      index: node.index,
      createIndex: node.createIndex,
    };
    if (node.expiresAt !== undefined) entry.expiresAt = new Date(node.expiresAt);
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

  /** Creates missing parent directories of `path`; returns the index the write will use. */
  #makeParents(key: string, path: string): number {
    const index = ++this.#backend.index;
    const missing: string[] = [];
    for (let at = parentKey(path); ; at = parentKey(at)) {
      const node = this.#backend.nodes.get(at);
      if (node) {
        if (!node.dir)
          throw new KeyTypeError('NOT_A_DIRECTORY', key, {
            message: `not a directory: a parent of ${key} holds a value`,
          });
        break;
      }
      missing.push(at);
      if (at === '') break;
    }
    for (const at of missing.reverse()) {
      this.#link(at, {
        dir: true,
        raw: undefined,
        index,
        createIndex: index,
        expiresAt: undefined,
        children: new Set(),
      });
    }
    return index;
  }

  #link(path: string, node: MemoryNode): void {
    this.#backend.nodes.set(path, node);
    this.#backend.nodes.get(parentKey(path))?.children?.add(path.slice(path.lastIndexOf('/') + 1));
    this.#backend.armExpiry(path, node);
  }

  #write(
    key: string,
    path: string,
    raw: Raw,
    ttl: number | undefined,
    existing: MemoryNode | undefined,
  ): Entry<V> {
    const index = existing ? ++this.#backend.index : this.#makeParents(key, path);
    const node: MemoryNode = {
      dir: false,
      // Copy bytes so that the caller mutating its array later cannot change the stored value.
      raw: typeof raw === 'string' ? raw : new Uint8Array(raw),
      index,
      createIndex: existing?.createIndex ?? index,
      expiresAt: ttl === undefined ? undefined : Date.now() + ttl * 1000,
      children: undefined,
    };
    this.#link(path, node);
    this.#backend.record({
      type: 'put',
      path,
      raw: node.raw,
      index,
      createIndex: node.createIndex,
      expiresAt: node.expiresAt,
    });
    return this.#entry(path, node);
  }

  async #runWatch(
    sink: WatchSink<V>,
    path: string,
    recursive: boolean,
    fromIndex: number,
    initialEntries: Entry<V>[],
  ): Promise<void> {
    const backend = this.#backend;
    const toEvent = (event: HistoryEvent): void => {
      const key = this.#keys.fromBackend(event.path);
      if (key === undefined || isReservedKey(key)) return;
      if (event.type === 'put') {
        sink.emit({
          type: 'put',
          key,
          value: this.codec.decode(typeof event.raw === 'string' ? event.raw : new Uint8Array(event.raw!)),
          index: event.index,
          createIndex: event.createIndex,
          ...(event.expiresAt === undefined ? {} : { expiresAt: new Date(event.expiresAt) }),
        });
      } else {
        sink.emit({ type: event.type, key, index: event.index });
      }
    };
    for (const entry of initialEntries) sink.emit({ type: 'put', ...entry, initial: true } as const);
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
    const subscription: Subscription = { path, recursive, deliver: toEvent };
    backend.subscriptions.add(subscription);
    sink.connected();
    try {
      await new Promise<void>((resolve) =>
        sink.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    } finally {
      backend.subscriptions.delete(subscription);
    }
  }

  #snapshot(path: string, recursive: boolean): Entry<V>[] {
    return this.#backend
      .values(path)
      .filter(([valuePath]) => recursive || valuePath === path)
      .map(([valuePath, node]) => this.#entry(valuePath, node))
      .filter((entry) => !isReservedKey(entry.key));
  }

  #lockQueue(userKey: string): LockQueue {
    const backend = this.#backend;
    const nodeOf = (path: string): MemoryNode | undefined => backend.nodes.get(path);
    const queueNode = (path: string, node: MemoryNode): QueueNode => ({
      path,
      index: node.index,
      createIndex: node.createIndex,
    });
    return {
      enqueue: async (dir, ttl, signal) => {
        throwIfAborted(signal);
        const name = String(backend.index + 1).padStart(20, '0');
        const path = joinKey(dir, name);
        this.#write(userKey, path, '', ttl, undefined);
        return queueNode(path, nodeOf(path)!);
      },
      refresh: async (node, ttl) => {
        const current = nodeOf(node.path);
        if (!current || current.index !== node.index) throw new LockLostError(userKey);
        current.index = ++backend.index;
        current.expiresAt = Date.now() + ttl * 1000;
        backend.armExpiry(node.path, current);
        return current.index;
      },
      contenders: async (dir) => {
        const node = nodeOf(dir);
        if (!node?.dir) return [];
        return [...node.children!]
          .map((name) => queueNode(joinKey(dir, name), nodeOf(joinKey(dir, name))!))
          .sort((a, b) => a.createIndex - b.createIndex);
      },
      waitGone: (node, signal) =>
        new Promise<void>((resolve, reject) => {
          if (nodeOf(node.path)?.createIndex !== node.createIndex) {
            resolve();
            return;
          }
          const subscription: Subscription = {
            path: node.path,
            recursive: false,
            deliver: (event) => {
              if (event.type === 'put') return;
              backend.subscriptions.delete(subscription);
              resolve();
            },
          };
          backend.subscriptions.add(subscription);
          signal.addEventListener(
            'abort',
            () => {
              backend.subscriptions.delete(subscription);
              reject(signal.reason instanceof Error ? signal.reason : new ClosedError('wait aborted'));
            },
            { once: true },
          );
        }),
      remove: async (node) => {
        if (nodeOf(node.path)?.createIndex === node.createIndex)
          backend.remove(node.path, 'delete', ++backend.index);
      },
    };
  }
}
