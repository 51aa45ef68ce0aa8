import { randomUUID } from 'node:crypto';
import {
  AbortError,
  acquireQueueLock,
  BackendError,
  beginCall,
  checkIndex,
  checkOptions,
  checkNoFlags,
  checkOptionTable,
  checkSwapCondition,
  checkTtl,
  checkUrlParams,
  ClosedError,
  decodeValue,
  CompareFailedError,
  InvalidArgumentError,
  isPolykvError,
  isReservedKey,
  KeyExistsError,
  KeyNotFoundError,
  KeySpace,
  KeyTypeError,
  LockLostError,
  PermissionDeniedError,
  runWatchLoop,
  StopSignal,
  TimeoutError,
  UnavailableError,
  UnrepresentableError,
  utf8Codec,
  ValueTooLargeError,
  Watcher,
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
  type LockQueue,
  type OpenStoreOptions,
  type OptionTableOf,
  type PolykvError,
  type QueueNode,
  type SetOptions,
  type Store,
  type StoreCapabilities,
  type StoreMethod,
  type StoreUrl,
  type SwapCondition,
  type UnlistedKey,
  type WatchOptions,
  type WatchSink,
} from '@polykv/core';
import type { EtcdNode, EtcdResult } from './api/keys.js';
import { EtcdClient } from './client.js';
import { AllHostsFailedError, EtcdError, isEtcdError } from './errors.js';
import { ETCD_CLIENT_OPTIONS, type EtcdClientOptions } from './options.js';
import { BASE64_MARKER, bytesToText, decodeStored, textBytes, textToStored } from './value-encoding.js';
import { EtcdPollSource } from './watch/source.js';

/** Options of {@link createEtcdStore}: the client's options, or a client, plus the store's. */
export interface EtcdStoreOptions<V = string> extends EtcdClientOptions {
  /** Every key lives under this path. @defaultValue `''` */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /** Use this client (the store then does not close it) instead of making one from the options. */
  client?: EtcdClient;
  /**
   * etcd v2 holds text. Without this option a value whose bytes are not UTF-8 is refused
   * (`UNREPRESENTABLE`); with `'base64'` such values are stored as `polykv:base64:` followed by
   * their base64 and read back as the bytes (other tools see that text). Text is always stored and
   * read as it is. URL: `?binaryEncoding=base64`.
   */
  binaryEncoding?: 'base64';
}

const capabilities: StoreCapabilities = Object.freeze({
  minTtl: 1,
  ttlExpiryFactor: 1,
  typedDirectories: true,
  watchHistory: 1000,
  flags: false,
  binaryValues: false,
});

/** The store's own options and the client's (nested ones are the client's to check). */
const STORE_OPTIONS_TABLE = {
  ...ETCD_CLIENT_OPTIONS,
  prefix: 'string',
  codec: 'object',
  client: 'object',
  binaryEncoding: 'string',
} satisfies OptionTableOf<EtcdStoreOptions>;

/** A client from store options; a bad option is the Store's INVALID_ARGUMENT, not a native error. */
function makeClient(options: EtcdStoreOptions<unknown>): EtcdClient {
  // The store's own options are not the client's.
  const {
    prefix: _prefix,
    codec: _codec,
    client: _client,
    binaryEncoding: _binary,
    ...clientOptions
  } = options;
  try {
    return new EtcdClient(clientOptions);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const argument = isEtcdError(cause) && cause.argument !== undefined ? cause.argument : 'hosts';
    throw new InvalidArgumentError(argument, `etcd store options: ${message}`, { cause });
  }
}

/** The etcd v2 Store. See the README for how each call maps onto etcd. */
export function createEtcdStore<V = string>(options: EtcdStoreOptions<V> = {}): EtcdStore<V> {
  return new EtcdStore<V>(options);
}

const URL_PARAMS = ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries', 'refresh', 'binaryEncoding'];

/** For `openStore('etcd://h1:2379,h2:2379/prefix')` and `etcds://`. */
export function storeFromUrl<V>(url: StoreUrl, options: OpenStoreOptions<V>): Store<V> {
  checkUrlParams(url, URL_PARAMS);
  const number = (name: string): number | undefined => {
    const text = url.params.get(name);
    if (text === null) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: ${name} must be a whole number >= 0`);
    return value;
  };
  const scheme = url.tls ? 'https' : 'http';
  const fromUrl: EtcdStoreOptions<V> = {
    hosts: url.hosts.map(({ host, port }) => `${scheme}://${host}:${port ?? 2379}`),
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
    ...(url.username !== undefined ? { auth: { username: url.username, password: url.password ?? '' } } : {}),
  };
  for (const name of ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries'] as const) {
    const value = number(name);
    if (value !== undefined) fromUrl[name] = value;
  }
  if (url.params.get('refresh') === 'true') fromUrl.refresh = true;
  const binaryEncoding = url.params.get('binaryEncoding');
  if (binaryEncoding !== null) {
    if (binaryEncoding !== 'base64')
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: binaryEncoding must be base64`);
    fromUrl.binaryEncoding = 'base64';
  }
  return createEtcdStore<V>({ ...fromUrl, ...(options.etcd as EtcdStoreOptions<V> | undefined) });
}

function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path[start] === '/') start++;
  while (end > start && path[end - 1] === '/') end--;
  return path.slice(start, end);
}

function isDeletion(action: string): boolean {
  return action === 'delete' || action === 'expire' || action === 'compareAndDelete';
}

/** The etcd v2 `Store`: etcd's own directories, TTLs, in-order keys and CAS, and the v2 lock recipe. */
export class EtcdStore<V = string> implements Store<V> {
  readonly kind = 'etcd';
  readonly prefix: string;
  readonly codec: Codec<V>;
  readonly capabilities = capabilities;
  /** The native client, for what the Store does not cover. */
  readonly client: EtcdClient;

  readonly #keys: KeySpace;
  readonly #ownClient: boolean;
  readonly #binary: boolean;
  /** `binaryEncoding: 'base64'`: bytes that are not UTF-8 are stored encoded (see value-encoding.ts). */
  readonly #base64: boolean;
  readonly #watchers = new Set<{ close(): Promise<void> }>();
  /** An ended watcher leaves `#watchers` (one function for all of them). */
  readonly #forget = (watcher: { close(): Promise<void> }): void => void this.#watchers.delete(watcher);
  readonly #locks = new Set<Lock>();
  #closed = false;

  constructor(options: EtcdStoreOptions<V> = {}) {
    checkOptionTable(options, STORE_OPTIONS_TABLE, 'createEtcdStore');
    this.#keys = new KeySpace(options.prefix ?? '');
    this.prefix = this.#keys.prefix;
    this.codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
    this.#binary = this.codec.binary;
    if (options.binaryEncoding !== undefined && options.binaryEncoding !== 'base64')
      throw new InvalidArgumentError('binaryEncoding', "binaryEncoding must be 'base64'");
    this.#base64 = options.binaryEncoding === 'base64';
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
      const { node } = await this.client.keys.set(path, raw, {
        ...(check.kind === 'prevExist'
          ? { prevExist: false }
          : check.kind === 'prevIndex'
            ? { prevIndex: check.prevIndex }
            : { prevValue: this.#encode(check.prevValue, key) }),
        ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
        signal,
        timeout,
      });
      return this.#entry(node);
    } catch (error) {
      throw this.#fail(this.#missingUnderValue(error, check.kind !== 'prevExist'), key);
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

  /** With prevValue/prevIndex, a path under a value (104) is a missing key, as on memory://. */
  #missingUnderValue(error: unknown, conditional: boolean): unknown {
    if (conditional && isEtcdError(error) && error.code === 'ETCD_NOT_A_DIRECTORY')
      return new EtcdError({ code: 'ETCD_KEY_NOT_FOUND', message: error.message, cause: error });
    return error;
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    const { signal, timeout } = this.#begin(options, 'compareAndDelete');
    const path = this.#keys.toBackend(key);
    const check = checkSwapCondition(condition, this.codec);
    if (check.kind === 'prevExist')
      throw new KeyExistsError(key, { message: 'compareAndDelete takes prevValue or prevIndex' });
    try {
      await this.client.keys.del(path, {
        ...(check.kind === 'prevIndex'
          ? { prevIndex: check.prevIndex }
          : { prevValue: this.#encode(check.prevValue, key) }),
        signal,
        timeout,
      });
    } catch (error) {
      throw this.#fail(this.#missingUnderValue(error, true), key);
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
        ...(expiresIn !== undefined ? { ttl: expiresIn } : {}),
        signal,
        timeout,
      });
      return this.#entry(node);
    } catch (error) {
      throw this.#fail(error, dir);
    }
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const { recursive = false, fromIndex, initial = true, signal } = checkOptions(options, 'watch');
    if (this.#closed) throw new ClosedError();
    const path = this.#keys.toBackend(key, { root: true });
    const userKey = this.#keys.fromBackend(path)!;
    if (fromIndex !== undefined) checkIndex(fromIndex, 'fromIndex');
    const watcher = new Watcher<V>(userKey, { recursive, fromIndex, signal, onEnd: this.#forget }, (sink) =>
      this.#runWatch(sink, path, recursive, fromIndex, initial),
    );
    this.#watchers.add(watcher);
    return watcher;
  }

  /**
   * The watch: core's watch loop over the etcd v2 source (`watch/source.ts`). Without `fromIndex`
   * the first round reads the key (the initial events; a watch started during an outage waits for
   * it, reporting `disconnected`); after a 401 the source re-reads and the sink emits the
   * differences, then `resync`.
   */
  #runWatch(
    sink: WatchSink<V>,
    path: string,
    recursive: boolean,
    fromIndex: number | undefined,
    initial: boolean,
  ): Promise<void> {
    const source = new EtcdPollSource<string>(
      this.client.waits,
      this.client.keys,
      path,
      { recursive, fromIndex, stop: sink.stop },
      {
        event: (result) => this.#emitEvent(sink, result),
        read: (nodes, index, cleared) => {
          const entries: Entry<V>[] = [];
          for (const node of nodes) {
            const key = this.#keys.fromBackend(node.key);
            if (key !== undefined && !isReservedKey(key)) entries.push(this.#entry(node));
          }
          entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          if (cleared) sink.resync(entries, index);
          else if (initial)
            for (const entry of entries) sink.emit({ type: 'put', ...entry, initial: true } as const);
        },
      },
    );
    // From an index, the first wait may block until the next event: the watch is anchored now.
    if (fromIndex !== undefined) sink.connected();
    return runWatchLoop(source, sink, { stop: sink.stop, timing: this.client.options }).catch(
      (error: unknown) => {
        throw this.#fail(error, this.#keys.fromBackend(path) ?? path);
      },
    );
  }

  #emitEvent(sink: WatchSink<V>, result: EtcdResult): void {
    const { node } = result;
    if (isDeletion(result.action)) {
      const type = result.action === 'expire' ? 'expire' : 'delete';
      if (!node.dir) {
        const key = this.#keys.fromBackend(node.key);
        if (key !== undefined && !isReservedKey(key)) sink.emit({ type, key, index: node.modifiedIndex });
        return;
      }
      // A directory went: one event per key below it that this watcher has delivered.
      const dirPath = trimSlashes(node.key);
      for (const key of [...sink.known.keys()]) {
        const backend = this.#keys.toBackend(key);
        if (dirPath === '' || backend === dirPath || backend.startsWith(`${dirPath}/`))
          sink.emit({ type, key, index: node.modifiedIndex });
      }
      return;
    }
    if (node.dir) return;
    const key = this.#keys.fromBackend(node.key);
    if (key === undefined || isReservedKey(key)) return;
    sink.emit({ type: 'put', ...this.#entry(node) });
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const checked = this.#begin(options, 'lock');
    const userKey = this.#keys.fromBackend(this.#keys.toBackend(key))!;
    const ttl = checkTtl(checked.ttl ?? 15, capabilities.minTtl)!;
    try {
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
    } catch (error) {
      throw this.#fail(error, key);
    }
  }

  /** The etcd v2 lock recipe's five operations (see core's `acquireQueueLock`). */
  #lockQueue(userKey: string): LockQueue {
    const keys = this.client.keys;
    const toNode = (node: EtcdNode): QueueNode => ({
      path: trimSlashes(node.key),
      index: node.modifiedIndex,
      createIndex: node.createdIndex,
    });
    const timing = this.client.options;
    // Our node's value: a refresh that fails its prevIndex check is adopted only when the node
    // still holds this token (our own refresh whose answer was lost), never after a foreign write.
    const token = `polykv-lock:${randomUUID()}`;
    return {
      enqueue: async (dir, ttl, signal) => toNode((await keys.create(dir, token, { ttl, signal })).node),
      refresh: async (node, ttl, signal) => {
        try {
          // CAS on prevIndex, never a blind update (docker/libkv#31): a node someone else
          // changed or deleted is a lost lock.
          return (await keys.refresh(node.path, ttl, { prevIndex: node.index, signal })).node.modifiedIndex;
        } catch (error) {
          if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')
            throw new LockLostError(userKey, { cause: error });
          if (isEtcdError(error) && error.code === 'ETCD_TEST_FAILED') {
            // A changed index on a node that is still ours (same createdIndex, our token) is our
            // own earlier refresh whose answer was lost: adopt it. Anything else is a lost lock.
            const current = await keys.get(node.path, { quorum: true, signal }).catch(() => undefined);
            if (current && current.node.createdIndex === node.createIndex && current.node.value === token)
              return current.node.modifiedIndex;
            throw new LockLostError(userKey, { cause: error });
          }
          throw error;
        }
      },
      contenders: async (dir, signal) => {
        try {
          const { node } = await keys.get(dir, { quorum: true, signal });
          return (node.nodes ?? [])
            .filter((child) => !child.dir)
            .map(toNode)
            .sort((a, b) => a.createIndex - b.createIndex);
        } catch (error) {
          if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return [];
          throw error;
        }
      },
      waitGone: async (node, signal) => {
        const stop = new StopSignal();
        const onAbort = (): void => stop.abort(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        let gone = false;
        const done = (): void => {
          gone = true;
          stop.abort(new AbortError());
        };
        // A poll of its own (`keys`, not the shared polls), as before shared polls: a lock waits
        // on one predecessor, so sharing saves nothing, and its safety should not depend on them.
        const source = new EtcdPollSource<string>(
          keys,
          keys,
          node.path,
          { recursive: false, fromIndex: node.index + 1, stop },
          {
            event: (result) => {
              if (isDeletion(result.action)) done();
            },
            // After a 401: gone unless the node read is still the one we waited on.
            read: (nodes) => {
              if (nodes[0]?.createdIndex !== node.createIndex) done();
            },
          },
        );
        try {
          await runWatchLoop(
            source,
            { connected: () => undefined, disconnected: () => undefined },
            { stop, timing },
          );
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        if (!gone) throw signal.reason instanceof Error ? signal.reason : new AbortError();
      },
      remove: async (node, signal) => {
        let index = node.index;
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            await keys.del(node.path, { prevIndex: index, signal });
            return;
          } catch (error) {
            if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return;
            if (!(isEtcdError(error) && error.code === 'ETCD_TEST_FAILED')) throw error;
            // A refresh moved the index; delete only if it is still our node.
            try {
              const current = await keys.get(node.path, { quorum: true, signal });
              if (current.node.createdIndex !== node.createIndex) return;
              index = current.node.modifiedIndex;
            } catch (readError) {
              if (isEtcdError(readError) && readError.code === 'ETCD_KEY_NOT_FOUND') return;
              throw readError;
            }
          }
        }
      },
      removeEmpty: async (dir, signal) => {
        // A non-recursive directory delete, which etcd refuses (108) while a contender's node is
        // in it: the queue folder, then each emptied parent up to `.polykv` itself.
        const top = this.#keys.reserved();
        for (let at = dir; at.startsWith(`${top}/`) || at === top; at = at.slice(0, at.lastIndexOf('/'))) {
          try {
            await keys.rmdir(at, { signal });
          } catch (error) {
            if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) return;
          }
          if (at === top) return;
        }
      },
    };
  }

  /**
   * A test aid: deletes the node of the lock's current holder (the first child, by createdIndex,
   * of `<prefix>/.polykv/locks/<key>`) behind its back. The holder's `lost` follows.
   */
  async breakLock(lock: Lock): Promise<void> {
    const dir = this.#keys.reserved('locks', lock.key);
    const { node } = await this.client.keys.get(dir, { quorum: true });
    const holder = [...(node.nodes ?? [])].sort((a, b) => a.createdIndex - b.createdIndex)[0];
    if (holder) await this.client.keys.del(holder.key);
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((watcher) => watcher.close()));
    await Promise.all([...this.#locks].map((lock) => lock.release({ timeout: 5000 }).catch(() => undefined)));
    if (this.#ownClient) await this.client.close();
  }

  #begin<T extends CallOptions>(options: T | undefined, method: StoreMethod): T {
    return beginCall(options, this.#closed, method);
  }

  /** A value as etcd v2 stores it: text (see value-encoding.ts). */
  #encode(value: V, key: string): string {
    const raw = this.codec.encode(value);
    if (typeof raw === 'string') return textToStored(raw, this.#base64);
    const text = bytesToText(raw, this.#base64);
    if (text === undefined) {
      throw new UnrepresentableError(
        `the value of ${JSON.stringify(key)} is not UTF-8 text (${raw.byteLength} bytes) and etcd v2 holds ` +
          `text; open the store with binaryEncoding: 'base64' (URL ?binaryEncoding=base64) to store such ` +
          `values as "${BASE64_MARKER}..." text`,
        { what: 'value', key },
      );
    }
    return text;
  }

  /** A stored text as the codec's value: the text's own bytes, never reinterpreted (but for the opt-in's marker). */
  #decode(text: string | undefined, key: string): V {
    const stored = text ?? '';
    const bytes = decodeStored(stored, this.#base64);
    if (bytes !== undefined) return decodeValue(this.codec, bytes, key);
    return decodeValue(this.codec, this.#binary ? textBytes(stored) : stored, key);
  }

  #entry(node: EtcdNode): Entry<V> {
    const key = this.#keys.fromBackend(node.key)!;
    const entry: Entry<V> = {
      key,
      value: this.#decode(node.value, key),
      index: node.modifiedIndex,
      createIndex: node.createdIndex,
    };
    if (node.expiration !== undefined) entry.expiresAt = new Date(node.expiration);
    return entry;
  }

  #dirEntry(node: EtcdNode): DirEntry {
    const entry: DirEntry = {
      key: this.#keys.fromBackend(node.key)!,
      dir: true,
      index: node.modifiedIndex,
      createIndex: node.createdIndex,
    };
    if (node.expiration !== undefined) entry.expiresAt = new Date(node.expiration);
    return entry;
  }

  /** etcd error → the Store's error, with the native one as `cause`. */
  #fail(error: unknown, key: string): PolykvError {
    if (isPolykvError(error)) return error;
    if (!isEtcdError(error))
      return new BackendError(`etcd call failed for ${JSON.stringify(key)}`, { cause: error, key });
    const e: EtcdError = error;
    const options = { cause: e };
    switch (e.code) {
      case 'ETCD_KEY_NOT_FOUND':
        return new KeyNotFoundError(key, options);
      case 'ETCD_TEST_FAILED':
        return new CompareFailedError(key, {
          ...options,
          message: `compare failed: ${key} (${e.etcdMessage ?? ''}: ${typeof e.cause === 'string' ? e.cause : ''})`,
        });
      case 'ETCD_NOT_A_FILE':
      case 'ETCD_DIR_NOT_EMPTY':
        return new KeyTypeError('IS_A_DIRECTORY', key, options);
      case 'ETCD_NOT_A_DIRECTORY':
        return new KeyTypeError('NOT_A_DIRECTORY', key, options);
      case 'ETCD_NODE_EXISTS':
        return new KeyExistsError(key, options);
      case 'ETCD_UNAUTHORIZED':
        return new PermissionDeniedError(`etcd refused the credentials for ${JSON.stringify(key)}`, {
          ...options,
          key,
        });
      case 'ETCD_TIMEOUT':
        return new TimeoutError(e.message, { ...options, key });
      case 'ETCD_ABORTED':
        return new AbortError(undefined, { cause: e.cause ?? e, key });
      case 'ETCD_CLOSED':
        return new ClosedError(undefined, { ...options, key });
      case 'ETCD_INVALID_ARGUMENT':
        return new InvalidArgumentError(e.argument ?? 'argument', e.message, { ...options, key });
      case 'ETCD_INVALID_FIELD':
        // etcd reports a request body over its limit as errorCode 210 "http: POST too large".
        if (/too large/i.test(`${e.etcdMessage ?? ''} ${e.message}`)) {
          return new ValueTooLargeError(`etcd refused the value of ${JSON.stringify(key)}: ${e.message}`, {
            ...options,
            key,
          });
        }
        return new InvalidArgumentError('options', e.message, { ...options, key });
      case 'ETCD_UNAVAILABLE':
        return new UnavailableError(e.message, {
          ...options,
          key,
          hosts:
            e instanceof AllHostsFailedError
              ? e.errors.map(({ host, error: cause }) => ({ host, error: cause }))
              : [],
        });
      case 'ETCD_RAFT':
      case 'ETCD_CONNECTION':
      case 'ETCD_TOO_MANY_REDIRECTS':
        return new UnavailableError(e.message, {
          ...options,
          key,
          ...(e.host ? { hosts: [{ host: e.host, error: e }] } : {}),
        });
      default:
        if (e.statusCode === 413) return new ValueTooLargeError(e.message, { ...options, key });
        if (e.statusCode !== undefined && e.statusCode >= 500)
          return new UnavailableError(e.message, {
            ...options,
            key,
            ...(e.host ? { hosts: [{ host: e.host, error: e }] } : {}),
          });
        return new BackendError(e.message, { ...options, key });
    }
  }
}
