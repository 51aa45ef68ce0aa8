import {
  InvalidArgumentError,
  KeyExistsError,
  KeySpace,
  KeyTypeError,
  StoreHandles,
  Watcher,
  acquireQueueLock,
  checkLimit,
  beginCall,
  beginWatch,
  checkNoFlags,
  checkOptionTable,
  checkOptions,
  checkSwapCondition,
  checkTtl,
  isReservedKey,
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
  type Lock,
  type LockOptions,
  type SemaphoreOptions,
  type SetOptions,
  type Store,
  type StoreMethod,
  type SwapCondition,
  type UnlistedKey,
  type WatchOptions,
} from '@polykv/core';
import type { EtcdNode } from '../api/keys.js';
import type { EtcdClient } from '../client.js';
import { isEtcdError } from '../errors.js';
import { STORE_OPTIONS_TABLE, capabilities, makeClient, type EtcdStoreOptions } from './common.js';
import { missingUnderValue, toStoreError } from './errors.js';
import { breakQueueLock, etcdLockQueue } from './lock.js';
import { EtcdValues } from './values.js';
import { runStoreWatch } from './watch.js';

/** The etcd v2 Store. See the README for how each call maps onto etcd. */
export function createEtcdStore<V = string>(options: EtcdStoreOptions<V> = {}): EtcdStore<V> {
  return new EtcdStore<V>(options);
}

/** The etcd v2 `Store`: etcd's own directories, TTLs, in-order keys and CAS, and the v2 lock recipe. */
export class EtcdStore<V = string> implements Store<V> {
  readonly kind = 'etcd';
  readonly prefix: string;
  /** Turns values into what etcd holds and back: `options.codec`, by default `utf8Codec` (strings). */
  readonly codec: Codec<V>;
  /**
   * What etcd v2 offers: TTLs from 1 s, typed directories, a 1,000-event watch history, no flags,
   * and text values (other bytes only through the `binaryEncoding` opt-in).
   */
  readonly capabilities = capabilities;
  /** The native client, for what the Store does not cover. */
  readonly client: EtcdClient;

  readonly #keys: KeySpace;
  readonly #ownClient: boolean;
  /** Values as etcd v2 text, and entries (see values.ts). */
  readonly #values: EtcdValues<V>;
  /** The watchers and locks handed out, for close(). */
  readonly #handles = new StoreHandles();
  #closed = false;

  /**
   * The same as {@link createEtcdStore}: a client made from the options, or `options.client`
   * (then not closed with the store). A bad option throws `INVALID_ARGUMENT`.
   */
  constructor(options: EtcdStoreOptions<V> = {}) {
    checkOptionTable(options, STORE_OPTIONS_TABLE, 'createEtcdStore');
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    if (options.binaryEncoding !== undefined && options.binaryEncoding !== 'base64')
      throw new InvalidArgumentError('binaryEncoding', "binaryEncoding must be 'base64'");
    this.#values = new EtcdValues(this.#keys, this.codec, options.binaryEncoding === 'base64');
    this.#ownClient = options.client === undefined;
    this.client = options.client ?? makeClient(options);
  }

  async get(key: string, options?: GetOptions): Promise<Entry<V> | null> {
    const { consistent, signal, timeout } = this.#begin(options, 'get');
    const path = this.#keys.toBackend(key);
    try {
      const { node } = await this.client.keys.get(path, { quorum: consistent === true, signal, timeout });
      return node.dir ? null : this.#entry(node);
    } catch (error) {
      if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return null;
      if (isEtcdError(error) && error.code === 'ETCD_NOT_A_DIRECTORY') return null;
      throw this.#fail(error, key);
    }
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    const { recursive = false, consistent, signal, timeout } = this.#begin(options, 'list');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    let node: EtcdNode;
    try {
      ({ node } = await this.client.keys.get(path, {
        recursive,
        quorum: consistent === true,
        signal,
        timeout,
      }));
    } catch (error) {
      if (
        isEtcdError(error) &&
        (error.code === 'ETCD_KEY_NOT_FOUND' || error.code === 'ETCD_NOT_A_DIRECTORY')
      )
        return [];
      throw this.#fail(error, dir);
    }
    if (!node.dir) return [];
    const out: ListEntry<V>[] = [];
    const walk = (parent: EtcdNode): void => {
      const children = [...(parent.nodes ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const child of children) {
        const key = this.#keys.fromBackend(child.key);
        if (key === undefined || isReservedKey(key)) continue;
        if (child.dir) {
          out.push(this.#dirEntry(child));
          if (recursive) walk(child);
        } else {
          out.push(this.#entry(child));
        }
      }
    };
    walk(node);
    return out;
  }

  /** `[]`: etcd v2 cannot enumerate its hidden `_` keys, and every key it lists fits the model. */
  async unlisted(dir: string, options?: CallOptions): Promise<UnlistedKey[]> {
    this.#begin(options, 'unlisted');
    this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    return [];
  }

  async set(key: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const { ttl, signal, timeout, flags } = this.#begin(options, 'set');
    const path = this.#visiblePath(key);
    checkNoFlags(flags, key, 'etcd v2');
    const raw = this.#encode(value, key);
    const expiresIn = checkTtl(ttl, capabilities.minTtl);
    const keys = this.client.keys;
    // etcd's plain `set` replaces the node (a new createdIndex); an update keeps it, as the
    // contract wants. So: update, and create when there is nothing to update. Neither is replayed
    // on another host after it may have reached one: the first copy could still land later, after
    // the replay was acknowledged, and overwrite a newer value (a lost update under a lock, seen
    // in the fault tests with a paused member). Such a failure is UNAVAILABLE, `cause.uncertain`.
    if (raw === '') {
      // etcd accepts an update with an empty value on a directory (and drops the directory's
      // TTL): check first, so that set() of '' on a directory changes nothing.
      const existing = await keys.get(path, { signal, timeout }).catch((error: unknown) => {
        if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return undefined;
        throw this.#fail(error, key);
      });
      if (existing?.node.dir) throw new KeyTypeError('IS_A_DIRECTORY', key);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await keys.set(path, raw, {
          prevExist: true,
          ttl: expiresIn ?? null,
          signal,
          timeout,
        });
        if (result.node.dir) throw new KeyTypeError('IS_A_DIRECTORY', key);
        return this.#entry(result.node);
      } catch (error) {
        if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) throw this.#fail(error, key);
      }
      try {
        const result = await keys.set(path, raw, {
          prevExist: false,
          ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
          signal,
          timeout,
        });
        return this.#entry(result.node);
      } catch (error) {
        // Created by someone else in between: update it (a set wins either way).
        if (!(isEtcdError(error) && error.code === 'ETCD_NODE_EXISTS') || attempt >= 10)
          throw this.#fail(error, key);
      }
    }
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const { recursive = false, signal, timeout } = this.#begin(options, 'del');
    const path = this.#keys.toBackend(key, { root: recursive });
    if (path === this.#keys.prefix) return this.#empty(path, signal, timeout);
    try {
      // Not replayed either: a delayed first copy could delete a value written after the replay.
      await this.client.keys.del(path, { dir: true, recursive, idempotent: false, signal, timeout });
      return true;
    } catch (error) {
      // A path under a value (104) holds nothing either, as on memory://.
      if (
        isEtcdError(error) &&
        (error.code === 'ETCD_KEY_NOT_FOUND' || error.code === 'ETCD_NOT_A_DIRECTORY')
      )
        return false;
      throw this.#fail(error, key);
    }
  }

  /** `del('', { recursive })`: every child of the prefix but the library's own `.polykv/`. */
  async #empty(path: string, signal: AbortSignal | undefined, timeout: number | undefined): Promise<boolean> {
    let children: EtcdNode[];
    try {
      children = (await this.client.keys.get(path, { quorum: true, signal, timeout })).node.nodes ?? [];
    } catch (error) {
      if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return false;
      throw this.#fail(error, '');
    }
    let removed = false;
    for (const child of children) {
      const key = this.#keys.fromBackend(child.key);
      if (key === undefined || isReservedKey(key)) continue;
      try {
        await this.client.keys.del(child.key, {
          dir: true,
          recursive: true,
          idempotent: false,
          signal,
          timeout,
        });
        removed = true;
      } catch (error) {
        if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) throw this.#fail(error, key);
      }
    }
    return removed;
  }

  async mkdir(key: string, options?: SetOptions): Promise<DirEntry> {
    const { ttl, signal, timeout } = this.#begin(options, 'mkdir');
    const path = this.#visiblePath(key);
    const expiresIn = checkTtl(ttl, capabilities.minTtl);
    try {
      const { node } = await this.client.keys.mkdir(path, {
        prevExist: false,
        ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
        signal,
        timeout,
      });
      return this.#dirEntry(node);
    } catch (error) {
      throw this.#fail(error, key);
    }
  }

  async compareAndSwap(
    key: string,
    value: V,
    condition: SwapCondition<V>,
    options?: SetOptions,
  ): Promise<Entry<V>> {
    const { ttl, signal, timeout, flags } = this.#begin(options, 'compareAndSwap');
    const path = this.#visiblePath(key);
    const check = checkSwapCondition(condition, this.codec);
    checkNoFlags(flags, key, 'etcd v2');
    const raw = this.#encode(value, key);
    const expiresIn = checkTtl(ttl, capabilities.minTtl);
    try {
      // Its own properties first: a literal that starts with a spread costs old-space garbage on
      // every call (core's `extend`).
      const { node } = await this.client.keys.set(path, raw, {
        signal,
        timeout,
        ...(check.kind === 'prevExist'
          ? { prevExist: false }
          : check.kind === 'prevIndex'
            ? { prevIndex: check.prevIndex }
            : { prevValue: this.#encode(check.prevValue, key) }),
        ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
      });
      return this.#entry(node);
    } catch (error) {
      throw this.#fail(missingUnderValue(error, check.kind !== 'prevExist'), key);
    }
  }

  /**
   * The backend path of a key a call may create. etcd v2 leaves every node whose name starts with
   * `_` out of its parent's listings and recursive watches, so such a key would be written and then
   * missing from `list`, `watch`, `copy` and `mirror`: it is refused instead. Reads and deletes of
   * such keys (written by other tools) still work.
   */
  #visiblePath(key: string, argument = 'key'): string {
    const path = this.#keys.toBackend(key, { argument });
    const relative = this.#keys.fromBackend(path)!;
    if (relative.startsWith('_') || relative.includes('/_')) {
      throw new InvalidArgumentError(
        argument,
        `${argument} ${JSON.stringify(relative)} has a segment starting with "_": etcd v2 hides such keys from listings and watches`,
      );
    }
    return path;
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    const { signal, timeout } = this.#begin(options, 'compareAndDelete');
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition, this.codec);
    if (check.kind === 'prevExist')
      throw new KeyExistsError(key, { message: 'compareAndDelete takes prevValue or prevIndex' });
    try {
      await this.client.keys.del(path, {
        signal,
        timeout,
        ...(check.kind === 'prevIndex'
          ? { prevIndex: check.prevIndex }
          : { prevValue: this.#encode(check.prevValue, key) }),
      });
    } catch (error) {
      throw this.#fail(missingUnderValue(error, true), key);
    }
  }

  async push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const { ttl, signal, timeout, flags } = this.#begin(options, 'push');
    const path = this.#visiblePath(dir, 'dir');
    checkNoFlags(flags, dir, 'etcd v2');
    const raw = this.#encode(value, dir);
    const expiresIn = checkTtl(ttl, capabilities.minTtl);
    try {
      const { node } = await this.client.keys.create(path, raw, {
        signal,
        timeout,
        ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
      });
      return this.#entry(node);
    } catch (error) {
      throw this.#fail(error, dir);
    }
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const start = beginWatch(options, this.#closed, this.#keys, key);
    return this.#handles.watch<V>(
      start,
      (sink, end) => runStoreWatch(this.client, this.#keys, this.#values, sink, start, end),
      toStoreError,
    );
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const checked = this.#begin(options, 'lock');
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, capabilities.minTtl)!;
    try {
      const lock = await acquireQueueLock(
        etcdLockQueue(this.client, this.#keys, userKey),
        userKey,
        this.#keys.reserved('locks', userKey),
        {
          ...checked,
          ttl,
        },
      );
      return this.#handles.lock(lock);
    } catch (error) {
      throw this.#fail(error, key);
    }
  }

  async semaphore(key: string, options: SemaphoreOptions): Promise<Lock> {
    const checked = this.#begin(options, 'semaphore');
    const limit = checkLimit(checked.limit);
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, capabilities.minTtl)!;
    try {
      const lock = await acquireQueueLock(
        etcdLockQueue(this.client, this.#keys, userKey),
        userKey,
        this.#keys.reserved('semaphores', userKey),
        { ...checked, ttl, limit },
      );
      return this.#handles.lock(lock);
    } catch (error) {
      throw this.#fail(error, key);
    }
  }

  /**
   * A test aid: deletes the node of the lock's current holder (the first child, by createdIndex,
   * of `<prefix>/.polykv/locks/<key>`) behind its back. The holder's `lost` follows.
   */
  async breakLock(lock: Lock): Promise<void> {
    await breakQueueLock(this.client, this.#keys, lock);
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await this.#handles.close({ timeout: 5000 });
    if (this.#ownClient) await this.client.close();
  }

  #begin<T extends CallOptions>(options: T | undefined, method: StoreMethod): T {
    return beginCall(options, this.#closed, method);
  }

  /** A value as etcd v2 stores it: text (see values.ts). */
  #encode(value: V, key: string): string {
    return this.#values.encode(value, key);
  }

  #entry(node: EtcdNode): Entry<V> {
    return this.#values.entry(node);
  }

  #dirEntry(node: EtcdNode): DirEntry {
    return this.#values.dirEntry(node);
  }

  #fail(error: unknown, key: string): Error {
    return toStoreError(error, key);
  }
}
