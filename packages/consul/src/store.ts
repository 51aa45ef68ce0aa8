import {
  AbortError,
  BackendError,
  ClosedError,
  CompareFailedError,
  InvalidArgumentError,
  KeyExistsError,
  KeyHeldError,
  KeyNotFoundError,
  KeySpace,
  KeyTypeError,
  Lock,
  LockLostError,
  NotSupportedError,
  PermissionDeniedError,
  TimeoutError,
  UnavailableError,
  ValueTooLargeError,
  Watcher,
  backoffDelay,
  runWatchLoop,
  checkIndex,
  beginCall,
  checkOptions,
  checkOptionTable,
  checkSwapCondition,
  checkFlags,
  checkTtl,
  checkUrlParams,
  deadline,
  decodeValue,
  isPolykvError,
  isReservedKey,
  keyProblem,
  joinKey,
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
  type LockOptions,
  type OpenStoreOptions,
  type OptionTableOf,
  type SetOptions,
  type Store,
  type StoreCapabilities,
  type StoreMethod,
  type StoreUrl,
  type SwapCondition,
  type UnlistedKey,
  type WatchOptions,
  type WatchSink,
  type WatchTiming,
  type BulkWrite,
  type ForeignHold,
} from '@polykv/core';
import type { KvPair } from './api/kv.js';
import type { SessionEntry } from './api/session.js';
import type { TxnKvOp, TxnOp, TxnOpError, TxnResponse } from './api/txn.js';
import { ConsulClient } from './client.js';
import { KV_MAX_VALUE_SIZE, TXN_MAX_OPS, valueBytes } from './codec.js';
import { isConsulError, type ConsulError } from './errors.js';
import { ConsulLock } from './lock.js';
import type { ConsulClientOptions, QueryOptions } from './options.js';
import { unmodelled } from './key-model.js';
import {
  createTtlSession,
  destroyQuietly,
  expiryFlags,
  expiryOf,
  holderOf,
  userFlags,
  type Holder,
} from './ttl-sessions.js';
import { ConsulBlockingSource, type AnswerKind } from './watch/source.js';

/** The byte size of an encoded value. */
function rawSize(raw: Raw): number {
  return typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
}

/** A transaction operation refused by the ACL system (Consul reports it in `Errors[].What`). */
const TXN_DENIED = /Permission denied|ACL not found/i;

/** The options of {@link ConsulStoreOptions}, with their types (`client`'s are the client's to check). */
const STORE_OPTIONS_TABLE = {
  client: 'object',
  prefix: 'string',
  codec: 'object',
  minTtl: 'number',
  lockDelay: 'number',
  watchWait: 'number',
  consistent: 'boolean',
} satisfies OptionTableOf<ConsulStoreOptions>;

/** Options of {@link createConsulStore}. */
export interface ConsulStoreOptions<V = string> {
  /**
   * A client to use (the store leaves it open on `close()`), or options to make one (the store owns
   * it and closes it).
   * @defaultValue a client for `127.0.0.1:8500`
   */
  client?: ConsulClient | ConsulClientOptions;
  /** Every key lives under this path. @defaultValue `''` */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /**
   * The smallest TTL in seconds (Consul's `session_ttl_min`). Set 1 for agents run with
   * `session_ttl_min = "1s"`.
   * @defaultValue 10
   */
  minTtl?: number;
  /** Lock-delay of lock sessions, in ms: how long a lock stays unavailable after its holder was invalidated. @defaultValue 15000 */
  lockDelay?: number;
  /** How long each blocking query of a watch waits, in ms. @defaultValue 60000 */
  watchWait?: number;
  /** Read with `?consistent` (from the leader, with a quorum check) by default. @defaultValue false */
  consistent?: boolean;
}

/** Makes a Consul {@link Store}. See the package README, section "Store", for how Consul differs. */
export function createConsulStore<V = string>(options: ConsulStoreOptions<V> = {}): ConsulStore<V> {
  return new ConsulStore(options);
}

const URL_PARAMS = ['dc', 'token', 'minTtl', 'lockDelay', 'watchWait', 'consistent', 'timeout'];

/** `openStore('consul://h1:8500,h2:8500/prefix?token=...&dc=...&minTtl=...')`. */
export function storeFromUrl<V>(url: StoreUrl, options: OpenStoreOptions<V>): Store<V> {
  checkUrlParams(url, URL_PARAMS);
  const number = (name: string): number | undefined => {
    const text = url.params.get(name);
    if (text === null) return undefined;
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < 0)
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: ${name} must be a whole number >= 0`);
    return value;
  };
  const scheme = url.tls ? 'https' : 'http';
  const client: ConsulClientOptions = {
    address: url.hosts.map(({ host, port }) => `${scheme}://${host}:${port ?? 8500}`),
    ...(url.hosts.length > 1 ? { failover: true } : {}),
    ...(url.username !== undefined
      ? { basicAuth: { username: url.username, password: url.password ?? '' } }
      : {}),
  };
  const dc = url.params.get('dc');
  const token = url.params.get('token');
  const timeout = number('timeout');
  if (dc !== null) client.dc = dc;
  if (token !== null) client.token = token;
  if (timeout !== undefined) client.timeout = timeout;
  const fromUrl: ConsulStoreOptions<V> = {
    client,
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
  };
  const minTtl = number('minTtl');
  const lockDelay = number('lockDelay');
  const watchWait = number('watchWait');
  if (minTtl !== undefined) fromUrl.minTtl = minTtl;
  if (lockDelay !== undefined) fromUrl.lockDelay = lockDelay;
  if (watchWait !== undefined) fromUrl.watchWait = watchWait;
  const consistent = url.params.get('consistent');
  if (consistent !== null) fromUrl.consistent = consistent === '' || consistent === 'true';
  const extra = options.consul as ConsulStoreOptions<V> | undefined;
  const merged = { ...fromUrl, ...extra };
  // Client options from `options.consul` go over the URL's, field by field.
  if (extra?.client && !(extra.client instanceof ConsulClient))
    merged.client = { ...client, ...extra.client };
  if (merged.minTtl === 0)
    throw new InvalidArgumentError('url', `store URL ${url.redacted}: minTtl must be >= 1`);
  return createConsulStore<V>(merged);
}

/** Consul's longest session TTL: 24 h. */
const MAX_SESSION_TTL = 86_400;
/** Values whose base64 would make a txn body this large go through `PUT /v1/kv` instead. */
const TXN_VALUE_LIMIT = 380 * 1024;
const LOCK_SESSION_NAME = 'polykv-lock';
const EMPTY = new Uint8Array(0);
const NO_OPTIONS: QueryOptions = Object.freeze({});
// 500s of a cluster in transition: an election, or a node whose serfHealth check the leader has not
// registered yet (a fresh cluster refuses sessions on it for a moment: TTL writes and locks).
const UNAVAILABLE_BODY =
  /no cluster leader|rpc error|leadership lost|raft|not leader|timed out|EOF|connection|missing check 'serfHealth'/i;

type Raw = string | Uint8Array;

/** A running watch of this store, as its own writes see it (see `#settle`). */
interface LocalWatch {
  /** The watched user key (`''`: the store's root). */
  key: string;
  recursive: boolean;
  /** False until the first answer was processed. */
  ready: boolean;
  /** The index of every key the watch has delivered and not seen go. */
  seen: ReadonlyMap<string, { index: number }>;
  /** Called after each processed answer, and when the watch ends. */
  wake: Set<() => void>;
}

/** What a watch has delivered of a key: a later answer is a change when any of it differs. */
interface Seen {
  index: number;
  createIndex: number;
  value: Uint8Array | null;
  session: string | undefined;
}

/** The retry rhythm of a Store watch. */
const WATCH_TIMING: WatchTiming = { backoffMs: 100, maxBackoffMs: 5000 };

/** How long a write waits for this store's own watchers to see it. */
const SETTLE_MS = 250;
type Condition = { kind: 'none' } | { kind: 'absent' } | { kind: 'index'; index: number };
type WriteResult = { ok: true; pair: KvPair } | { ok: false; errors: TxnOpError[] };

const NONE: Condition = { kind: 'none' };
const FREE: Holder = Object.freeze({ kind: 'free' });
/** How many keys' backend paths a store remembers (see `#path`). */
const PATH_CACHE_SIZE = 4096;

/** Sorts keys segment by segment, as a tree walk would (`a/b/c` before `a/b-x`). */
function compareKeys(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  }
  return left.length - right.length;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return Buffer.compare(a ?? EMPTY, b ?? EMPTY) === 0;
}

/**
 * The Consul `Store`: keys are KV entries under the prefix, directories are implied by `/` (or
 * marked by an empty `dir/` key from `mkdir`), TTLs are sessions with `Behavior=delete`, watches are
 * blocking queries diffed per key, and locks are Consul sessions with lock-delay.
 */
export class ConsulStore<V = string> implements Store<V> {
  readonly kind = 'consul';
  readonly prefix: string;
  readonly codec: Codec<V>;
  readonly capabilities: StoreCapabilities;
  /** The native client, for what the Store does not cover. */
  readonly client: ConsulClient;

  readonly #keys: KeySpace;
  readonly #ownClient: boolean;
  readonly #minTtl: number;
  readonly #lockDelay: number;
  readonly #watchWait: number;
  readonly #read: QueryOptions;
  readonly #watchers = new Set<Watcher<V>>();
  readonly #locks = new Set<Lock>();
  readonly #local = new Set<LocalWatch>();
  /** Backend paths of recently used keys: validating a key (a Unicode regex, a split) once, not per call. */
  readonly #paths = new Map<string, string>();
  #closed = false;

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
    this.#watchWait = options.watchWait ?? 60_000;
    if (typeof this.#lockDelay !== 'number' || !(this.#lockDelay >= 0) || !Number.isFinite(this.#lockDelay))
      throw new InvalidArgumentError('lockDelay', 'lockDelay must be a number of milliseconds >= 0');
    if (typeof this.#watchWait !== 'number' || !(this.#watchWait >= 1) || !Number.isFinite(this.#watchWait))
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
    if (options.client instanceof ConsulClient) {
      this.client = options.client;
      this.#ownClient = false;
    } else {
      try {
        this.client = new ConsulClient(options.client ?? {});
      } catch (cause) {
        // A bad client option is the Store's INVALID_ARGUMENT, not a native error.
        const argument = isConsulError(cause) && cause.argument ? `client.${cause.argument}` : 'client';
        throw new InvalidArgumentError(argument, `consul store options: ${(cause as Error).message}`, {
          cause,
        });
      }
      this.#ownClient = true;
    }
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
        throw this.#mapError(error, key);
      }
    }
    return this.#call(key, checked, async (call) => {
      const read = checked.consistent ? { ...call, consistent: true } : call;
      const { data } = await this.client.kv.get(path, read);
      return data ? this.#entry(data) : null;
    });
  }

  async list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]> {
    const checked = this.#begin(options, 'list');
    const path = this.#keys.toBackend(dir, { root: true, argument: 'dir' });
    const folder = path === '' ? '' : `${path}/`;
    const recursive = checked.recursive ?? false;
    const prefixLength = this.#prefixLength();
    return this.#call(dir, checked, async (call) => {
      const read = checked.consistent ? { ...call, consistent: true } : call;
      const { data } = await this.client.kv.list(folder, read);
      const out: ListEntry<V>[] = [];
      const dirs = new Map<string, DirEntry>();
      const addDir = (backendPath: string, marker: KvPair | undefined): void => {
        const existing = dirs.get(backendPath);
        if (existing && (!marker || existing.index !== 0)) return;
        const entry: DirEntry = {
          key: this.#keys.fromBackend(backendPath)!,
          dir: true,
          index: marker?.ModifyIndex ?? 0,
          createIndex: marker?.CreateIndex ?? 0,
        };
        dirs.set(backendPath, entry);
      };
      for (const pair of data) {
        const rest = pair.Key.slice(folder.length);
        if (rest === '') continue; // the directory's own marker
        const userKey = this.#keys.fromBackend(pair.Key);
        if (userKey === undefined || isReservedKey(userKey)) continue;
        const isMarker = rest.endsWith('/');
        const relative = pair.Key.slice(prefixLength);
        // A key the model cannot carry (`a//b`, `a/./b`, ...) is left out here and named by `unlisted`.
        if (keyProblem(isMarker ? relative.slice(0, -1) : relative) !== undefined) continue;
        const segments = (isMarker ? rest.slice(0, -1) : rest).split('/');
        // `dir/` holding a value or flags is not a directory marker but a key `unlisted` names: a
        // directory in its place would be a silent change (copy would make an empty folder of it).
        const holding = isMarker && unmodelled(relative, pair) !== undefined;
        if (!recursive) {
          if (segments.length === 1 && !isMarker) out.push(this.#entry(pair));
          else if (!(segments.length === 1 && holding))
            addDir(folder + segments[0]!, segments.length === 1 ? pair : undefined);
          continue;
        }
        for (let i = 1; i < segments.length; i++) addDir(folder + segments.slice(0, i).join('/'), undefined);
        if (isMarker) {
          if (!holding) addDir(folder + segments.join('/'), pair);
        } else out.push(this.#entry(pair));
      }
      out.push(...dirs.values());
      return out.sort((a, b) => compareKeys(a.key, b.key) || (a.dir ? 1 : -1));
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
    const prefixLength = this.#prefixLength();
    return this.#call(dir, checked, async (call) => {
      const { data } = await this.client.kv.list(folder, { ...call, consistent: true });
      const out: UnlistedKey[] = [];
      for (const pair of data) {
        const relative = pair.Key.slice(prefixLength);
        const body = relative.endsWith('/') ? relative.slice(0, -1) : relative;
        if (isReservedKey(body)) continue; // polykv's own space
        if (body === '' || pair.Key === folder) {
          // The folder's (or the prefix's) own marker: a directory unless it holds something.
          const why = unmodelled('x/', pair);
          if (why?.code === 'trailing-slash')
            out.push({ path: relative === '' ? '/' : relative, code: why.code, reason: why.reason });
          continue;
        }
        const why = unmodelled(relative, pair);
        if (why) out.push({ path: relative, code: why.code, reason: why.reason });
      }
      return out;
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
      const { data } = await this.client.kv.list(folder, { ...call, consistent: true });
      const sessions = new Map<string, SessionEntry | null>();
      const out: ForeignHold[] = [];
      for (const pair of data) {
        const key = pair.Session ? this.#keys.fromBackend(pair.Key) : undefined;
        if (key === undefined || isReservedKey(key)) continue;
        const holder = await holderOf(this.client, pair, pair.Flags, call, sessions);
        if (holder.kind !== 'foreign') continue;
        out.push({ key, session: holder.session, sessionName: holder.info.Name, node: holder.info.Node });
      }
      return out;
    });
  }

  async set(key: string, value: V, options?: SetOptions): Promise<Entry<V>> {
    const checked = this.#begin(options, 'set');
    const path = this.#path(key);
    const raw = this.#encode(key, value);
    const ttl = this.#checkTtl(checked.ttl);
    const flags = this.#checkFlags(checked.flags, ttl, key);
    if (ttl === undefined && checked.signal === undefined && !checked.timeout) {
      // The common case (no TTL, no deadline): one transaction, no closure, no deadline object.
      let result: WriteResult;
      try {
        result = await this.#write(path, raw, undefined, NONE, this.#read, flags);
      } catch (error) {
        throw this.#mapError(error, key);
      }
      if (!result.ok) throw this.#txnFailure(key, result.errors);
      const entry = this.#entry(result.pair, undefined, raw);
      return this.#local.size === 0 ? entry : this.#written(entry);
    }
    return this.#call(key, checked, async (call) => {
      for (let attempt = 0; ; attempt++) {
        const result = await this.#write(path, raw, ttl, NONE, call, flags);
        if (result.ok) return this.#written(this.#entry(result.pair, ttl, raw));
        // Only a TTL write can fail unconditionally: another writer took the key in between.
        if (ttl === undefined || attempt >= 20) throw this.#txnFailure(key, result.errors);
        await sleep(backoffDelay(attempt, 20, 500), call.signal);
      }
    });
  }

  async del(key: string, options?: DelOptions): Promise<boolean> {
    const checked = this.#begin(options, 'del');
    const recursive = checked.recursive ?? false;
    const path = this.#keys.toBackend(key, { root: recursive });
    const deleted = await this.#call(key, checked, async (call) => {
      if (recursive && path === this.#keys.prefix) return this.#deleteRoot(path, call);
      if (recursive) {
        const { data: keys } = await this.client.kv.keys(path, call);
        if (!keys.some((k) => k === path || k.startsWith(`${path}/`))) return false;
        const response = await this.#txn(
          [{ KV: { Verb: 'delete-tree', Key: `${path}/` } }, { KV: { Verb: 'delete', Key: path } }],
          call,
        );
        if (!response.ok) throw this.#txnFailure(key, response.Errors);
        return true;
      }
      const response = await this.#txn(
        [{ KV: { Verb: 'get', Key: path } }, { KV: { Verb: 'delete', Key: path } }],
        call,
      );
      if (response.ok) return true;
      if (!response.Errors.every((error) => error.OpIndex === 0))
        throw this.#txnFailure(key, response.Errors);
      // No value at the key: maybe a directory.
      const { data: children } = await this.client.kv.keys(`${path}/`, call);
      if (children.length === 0) return false;
      if (children.length === 1 && children[0] === `${path}/`) {
        await this.client.kv.delete(`${path}/`, call);
        return true;
      }
      throw new KeyTypeError('IS_A_DIRECTORY', key);
    });
    if (deleted) await this.#gone(this.#keys.fromBackend(path)!, recursive);
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
      const response = await this.#txn(
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
    const ttl = this.#checkTtl(checked.ttl);
    const flags = this.#checkFlags(checked.flags, ttl, key);
    return this.#call(key, checked, async (call) => {
      if (check.kind === 'prevExist') {
        const result = await this.#write(path, raw, ttl, { kind: 'absent' }, call, flags);
        if (!result.ok) throw new KeyExistsError(key);
        return this.#written(this.#entry(result.pair, ttl, raw));
      }
      if (check.kind === 'prevIndex') {
        // Consul's cas=0 means "create": no key ever has index 0, so that condition can only fail.
        if (check.prevIndex !== 0) {
          const at: Condition = { kind: 'index', index: check.prevIndex };
          const result = await this.#write(path, raw, ttl, at, call, flags);
          if (result.ok) return this.#written(this.#entry(result.pair, ttl, raw));
        }
        const { data } = await this.client.kv.get(path, call);
        if (!data) throw new KeyNotFoundError(key);
        throw new CompareFailedError(key, {
          message: `compare failed: ${key} is at index ${data.ModifyIndex}, not ${check.prevIndex}`,
        });
      }
      const expected = valueBytes(this.codec.encode(check.prevValue));
      for (let attempt = 0; ; attempt++) {
        const { data } = await this.client.kv.get(path, call);
        if (!data) throw new KeyNotFoundError(key);
        if (!sameBytes(data.Value, expected))
          throw new CompareFailedError(key, { message: `compare failed: ${key} holds another value` });
        const at: Condition = { kind: 'index', index: data.ModifyIndex };
        const result = await this.#write(path, raw, ttl, at, call, flags);
        if (result.ok) return this.#written(this.#entry(result.pair, ttl, raw));
        // Written in between: compare again with what is there now.
        if (attempt > 0) await sleep(backoffDelay(attempt, 10, 200), call.signal);
      }
    });
  }

  async compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void> {
    const checked = this.#begin(options, 'compareAndDelete');
    const path = this.#path(key);
    const check = checkSwapCondition(condition, this.codec);
    if (check.kind === 'prevExist')
      throw new InvalidArgumentError('condition', 'compareAndDelete takes prevValue or prevIndex');
    await this.#call(key, checked, async (call) => {
      if (check.kind === 'prevIndex') {
        // Consul answers `true` to a delete with `cas` of a key that does not exist: look first.
        const { data: before } = await this.client.kv.get(path, call);
        if (!before) throw new KeyNotFoundError(key);
        const matches = check.prevIndex !== 0 && before.ModifyIndex === check.prevIndex;
        if (matches && (await this.client.kv.delete(path, { ...call, cas: check.prevIndex }))) return;
        const { data } = await this.client.kv.get(path, call);
        if (!data) throw new KeyNotFoundError(key);
        throw new CompareFailedError(key, {
          message: `compare failed: ${key} is at index ${data.ModifyIndex}, not ${check.prevIndex}`,
        });
      }
      const expected = valueBytes(this.codec.encode(check.prevValue));
      for (let attempt = 0; ; attempt++) {
        const { data } = await this.client.kv.get(path, call);
        if (!data) throw new KeyNotFoundError(key);
        if (!sameBytes(data.Value, expected))
          throw new CompareFailedError(key, { message: `compare failed: ${key} holds another value` });
        if (await this.client.kv.delete(path, { ...call, cas: data.ModifyIndex })) return;
        if (attempt > 0) await sleep(backoffDelay(attempt, 10, 200), call.signal);
      }
    });
    await this.#gone(this.#keys.fromBackend(path)!, false);
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
        await this.compareAndSwap(write.key, write.value, condition, { ...checked, ...flags });
        return undefined;
      } catch (error) {
        if (checked.signal?.aborted) throw error;
        return error;
      }
    };
    const each = (): Promise<unknown[]> => Promise.all(writes.map(one));
    if (writes.length === 0) return [];
    let ops: { KV: TxnKvOp & { Value: Raw } }[];
    try {
      ops = writes.map((write) => {
        const op: TxnKvOp & { Value: Raw } = {
          Verb: 'cas',
          Key: this.#path(write.key),
          Value: this.#encode(write.key, write.value),
          Index: write.prevIndex,
        };
        // Carried as Consul keeps them (copy passes the source's flags); none writes 0, as a set does.
        const flags = checkFlags(write.flags);
        if (flags !== 0n) op.Flags = flags;
        return { KV: op };
      });
    } catch {
      return each();
    }
    const body = ops.reduce(
      (sum, op) => sum + Math.ceil(rawSize(op.KV.Value) / 3) * 4 + op.KV.Key.length + 100,
      0,
    );
    if (ops.length > TXN_MAX_OPS || body > TXN_VALUE_LIMIT) return each();
    let response: TxnResponse;
    try {
      response = await this.#call(writes[0]!.key, checked, (call) => this.#txn(ops, call));
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
          await this.#call(write.key, checked, (call) => this.#releaseOwn(Key, Value, flags, pair, call));
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
    const ttl = this.#checkTtl(checked.ttl);
    const flags = this.#checkFlags(checked.flags, ttl, dir);
    const counter = this.#keys.reserved('push', dirKey);
    return this.#call(dir, checked, async (call) => {
      let skip = 0;
      let session: string | undefined;
      try {
        for (let attempt = 0; ; attempt++) {
          const { data } = await this.client.kv.get(counter, { ...call, consistent: true });
          const last = data ? Number(Buffer.from(data.Value ?? EMPTY).toString()) || 0 : 0;
          const next = last + 1 + skip;
          const item = joinKey(dirPath, String(next).padStart(20, '0'));
          // A TTL session is bound to the one key it holds (see ttl-sessions.ts): made per item.
          if (ttl !== undefined) session = await createTtlSession(this.client, item, ttl, call);
          const write: TxnKvOp =
            session === undefined
              ? { Verb: 'set', Key: item, Value: raw, ...(flags !== 0n ? { Flags: flags } : {}) }
              : { Verb: 'lock', Key: item, Value: raw, Session: session, Flags: expiryFlags(ttl!) };
          const response = await this.#txn(
            [
              { KV: { Verb: 'cas', Key: counter, Index: data?.ModifyIndex ?? 0, Value: String(next) } },
              { KV: { Verb: 'check-not-exists', Key: item } },
              { KV: write },
              { KV: { Verb: 'get', Key: item } },
            ],
            call,
          );
          if (response.ok) {
            const entry = this.#entry(response.Results.at(-1)!.KV!, ttl);
            session = undefined;
            return await this.#written(entry);
          }
          if (session !== undefined) {
            await destroyQuietly(this.client, session);
            session = undefined;
          }
          if (response.Errors.some((error) => error.OpIndex === 1)) skip++;
          else if (response.Errors.some((error) => error.OpIndex !== 0))
            throw this.#txnFailure(dir, response.Errors);
          else skip = 0;
          await sleep(backoffDelay(Math.min(attempt, 6), 5, 100), call.signal);
        }
      } finally {
        if (session !== undefined) await destroyQuietly(this.client, session);
      }
    });
  }

  watch(key: string, options?: WatchOptions): Watcher<V> {
    const { recursive = false, fromIndex, initial = true, signal } = checkOptions(options, 'watch');
    if (this.#closed) throw new ClosedError();
    const path = this.#keys.toBackend(key, { root: true });
    const userKey = this.#keys.fromBackend(path)!;
    if (fromIndex !== undefined) checkIndex(fromIndex, 'fromIndex');
    const watcher = new Watcher<V>(
      userKey,
      { recursive, ...(fromIndex !== undefined ? { fromIndex } : {}), ...(signal ? { signal } : {}) },
      (sink) => this.#runWatch(sink, path, recursive || path === this.#keys.prefix, fromIndex, initial),
    );
    this.#watchers.add(watcher);
    watcher.on('end', () => this.#watchers.delete(watcher));
    return watcher;
  }

  async lock(key: string, options?: LockOptions): Promise<Lock> {
    const checked = this.#begin(options, 'lock');
    const path = this.#path(key);
    const userKey = this.#keys.fromBackend(path)!;
    const ttl = Math.max(checkTtl(checked.ttl ?? 15, 1)!, this.#minTtl);
    if (ttl > MAX_SESSION_TTL) throw new InvalidArgumentError('ttl', `ttl ${ttl} s is above Consul's 24 h`);
    const wait = checked.wait ?? Infinity;
    if (typeof wait !== 'number' || !(wait >= 0))
      throw new InvalidArgumentError('wait', 'wait must be a number of milliseconds >= 0');
    const lockPath = this.#keys.reserved('locks', userKey);
    const d = deadline(checked.signal, checked.timeout);
    // `wait: 0` tries once: a held lock times out at once; a free one gets a short bound for the round trips.
    const waitMs = wait === 0 ? 5000 : wait;
    const waitSignal = Number.isFinite(waitMs) ? AbortSignal.timeout(Math.max(1, waitMs)) : undefined;
    const signals = [d.signal, waitSignal].filter((s): s is AbortSignal => s !== undefined);
    const signal =
      signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const stopped = (cause: unknown): Error => {
      if (d.signal?.aborted) return d.error(cause);
      if (waitSignal?.aborted)
        return new TimeoutError(`lock ${key}: not acquired within ${wait} ms`, { key, cause });
      return this.#mapError(cause, key);
    };
    try {
      if (wait === 0) {
        const { data } = await this.client.kv.get(lockPath, {
          consistent: true,
          ...(signal ? { signal } : {}),
        });
        if (data?.Session) throw new TimeoutError(`lock ${key} is held (wait: 0)`, { key });
      }
      const native = new ConsulLock(this.client, lockPath, {
        sessionName: LOCK_SESSION_NAME,
        sessionTtl: `${ttl}s`,
        lockDelay: `${Math.round(this.#lockDelay)}ms`,
        retryTime: Math.max(100, Math.min(this.#lockDelay, 5000)),
        waitTime: '15s',
      });
      native.on('error', () => undefined);
      const held = await native.acquire(signal ? { signal } : {});
      const lock = new Lock(
        userKey,
        held.fencingToken,
        async (releaseOptions) => {
          if (!native.held) return;
          const options = releaseOptions.signal ? { signal: releaseOptions.signal } : {};
          try {
            await native.release(options);
          } catch (error) {
            if (native.held) throw this.#mapError(error, key);
          }
          // Nothing stays behind once nobody waits: the lock key goes unless a session holds it
          // again (a cas on its index; a waiter that takes it in between keeps it). Best effort.
          await native.destroy(options).catch(() => undefined);
        },
        () => native.validUntil,
      );
      const onLost = (cause: unknown): void => lock.markLost(new LockLostError(userKey, { cause }));
      native.once('lost', onLost);
      // Lost by the renewal deadline (read on `lock.held`): reading the native lock's `held` past
      // the same deadline gives its session up too.
      lock.once('lost', () => void native.held);
      if (held.signal.aborted && !native.held) onLost(held.signal.reason);
      this.#locks.add(lock);
      const forget = (): void => void this.#locks.delete(lock);
      lock.once('lost', forget).once('released', forget);
      return lock;
    } catch (error) {
      if (isPolykvError(error)) throw error;
      throw stopped(error);
    } finally {
      d.dispose();
    }
  }

  /**
   * A test aid: destroys the session holding `lock` behind its holder's back, as Consul does when a
   * holder's node fails or its TTL runs out. The holder's `lost` event follows.
   */
  async breakLock(lock: Lock): Promise<void> {
    const { data } = await this.client.kv.get(this.#keys.reserved('locks', lock.key), { consistent: true });
    if (!data?.Session) return;
    // Only a lock session of polykv's: never anyone else's.
    const { data: info } = await this.client.session.info(data.Session, { consistent: true });
    if (info?.Name === LOCK_SESSION_NAME) await this.client.session.destroy(data.Session);
  }

  async close(options?: CallOptions): Promise<void> {
    checkOptions(options, 'close');
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((watcher) => watcher.close()));
    await Promise.all([...this.#locks].map((lock) => lock.release().catch(() => undefined)));
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
    const call = d.signal ? { ...this.#read, signal: d.signal } : this.#read;
    try {
      return await fn(call);
    } catch (error) {
      if (d.signal?.aborted) throw d.error(error);
      throw this.#mapError(error, key);
    } finally {
      d.dispose();
    }
  }

  #mapError(error: unknown, key: string): Error {
    if (isPolykvError(error)) return error;
    if (!isConsulError(error)) return new BackendError(`consul: ${String(error)}`, { cause: error, key });
    const options = { cause: error, key };
    switch (error.code) {
      case 'CONSUL_PERMISSION_DENIED':
        return new PermissionDeniedError(`consul: ${error.message}`, options);
      case 'CONSUL_TOO_LARGE':
        return new ValueTooLargeError(`consul: ${error.message}`, { ...options, limit: KV_MAX_VALUE_SIZE });
      case 'CONSUL_UNAVAILABLE':
        return new UnavailableError(`consul: ${error.message}`, {
          ...options,
          hosts: error.causes.map((failure) => ({ host: failure.agent, error: failure.error })),
        });
      case 'CONSUL_TIMEOUT':
        return new TimeoutError(`consul: ${error.message}`, options);
      case 'CONSUL_ABORTED':
        return new AbortError(`consul: ${error.message}`, options);
      case 'CONSUL_INVALID_ARGUMENT':
        return new InvalidArgumentError(error.argument ?? 'argument', `consul: ${error.message}`, options);
      case 'CONSUL_CLOSED':
        return new ClosedError(`consul: ${error.message}`, options);
      default:
        // During an election the servers answer 500 "No cluster leader" or "rpc error ...".
        if (this.#unavailableStatus(error)) return new UnavailableError(`consul: ${error.message}`, options);
        return new BackendError(`consul: ${error.message}`, options);
    }
  }

  #unavailableStatus(error: ConsulError): boolean {
    return (
      error.statusCode !== undefined &&
      error.statusCode >= 500 &&
      (error.statusCode !== 500 || UNAVAILABLE_BODY.test(error.body ?? ''))
    );
  }

  /**
   * Every transaction of the store. A token without write rights makes Consul roll the transaction
   * back with "Permission denied" as an operation error (not a 403): that is a permission error, not
   * a failed condition, whatever the caller's condition was.
   */
  async #txn(ops: readonly TxnOp[], call: QueryOptions): Promise<TxnResponse> {
    const response = await this.client.txn.apply(ops, call);
    const denied = response.ok ? undefined : response.Errors.find((error) => TXN_DENIED.test(error.What));
    if (denied) throw new PermissionDeniedError(`consul: ${denied.What}`, { cause: response.Errors });
    return response;
  }

  #txnFailure(key: string, errors: TxnOpError[]): Error {
    return new BackendError(`consul: transaction failed: ${errors.map((error) => error.What).join('; ')}`, {
      key,
    });
  }

  #encode(key: string, value: V): Raw {
    const raw = this.codec.encode(value);
    // A string's UTF-8 is at most 3 bytes per UTF-16 unit: short strings need no byte count.
    if (typeof raw === 'string' && raw.length * 3 <= KV_MAX_VALUE_SIZE) return raw;
    const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (size > KV_MAX_VALUE_SIZE) {
      throw new ValueTooLargeError(
        `value of ${key} is ${size} bytes; Consul accepts at most ${KV_MAX_VALUE_SIZE}`,
        {
          key,
          size,
          limit: KV_MAX_VALUE_SIZE,
        },
      );
    }
    return raw;
  }

  #checkTtl(ttl: number | undefined): number | undefined {
    const checked = checkTtl(ttl, this.#minTtl);
    if (checked !== undefined && checked > MAX_SESSION_TTL)
      throw new InvalidArgumentError('ttl', `ttl ${checked} s is above Consul's longest session TTL (24 h)`);
    return checked;
  }

  /** `SetOptions.flags`, checked; with a TTL only 0 (the TTL's expiry stamp lives in `Flags`). */
  #checkFlags(flags: number | bigint | undefined, ttl: number | undefined, key: string): bigint {
    if (flags === undefined) return 0n;
    const checked = checkFlags(flags);
    if (checked !== 0n && ttl !== undefined) {
      throw new NotSupportedError(
        `${key}: Consul cannot keep flags on a key with a TTL (the store keeps the TTL's expiry in Flags)`,
        { key },
      );
    }
    return checked;
  }

  /** How many characters of a Consul key are the store's prefix and its `/`. */
  #prefixLength(): number {
    return this.#keys.prefix === '' ? 0 : this.#keys.prefix.length + 1;
  }

  /** An entry from a pair; `raw`: the value just written (write results carry no value). */
  #entry(pair: KvPair, ttl?: number, raw?: Raw): Entry<V> {
    const key = this.#keys.fromBackend(pair.Key)!;
    const entry: Entry<V> = {
      key,
      // Bytes are copied, so that the caller changing its array later cannot change the entry.
      value: decodeValue(
        this.codec,
        raw === undefined ? (pair.Value ?? EMPTY) : typeof raw === 'string' ? raw : raw.slice(),
        key,
      ),
      index: pair.ModifyIndex,
      createIndex: pair.CreateIndex,
    };
    if (ttl !== undefined) entry.expiresAt = new Date(Date.now() + ttl * 1000);
    else {
      const expiresAt = expiryOf(pair);
      if (expiresAt !== undefined) entry.expiresAt = expiresAt;
    }
    const flags = userFlags(pair);
    if (flags !== undefined) entry.flags = flags;
    return entry;
  }

  /** The `HELD` error for a key a foreign session holds. */
  #held(path: string, holder: Extract<Holder, { kind: 'foreign' }>): KeyHeldError {
    return new KeyHeldError(this.#keys.fromBackend(path) ?? path, {
      session: holder.session,
      sessionName: holder.info.Name,
      node: holder.info.Node,
    });
  }

  /**
   * After a plain write found the key held (`pair.Session`): the store's own TTL session is
   * unlocked from the key and destroyed, so the key becomes permanent; a session polykv did not
   * create keeps its hold, exactly as `consul kv put` leaves it. Resolves the key's newest pair.
   */
  async #releaseOwn(
    path: string,
    raw: Raw,
    flags: bigint,
    pair: KvPair,
    call: QueryOptions,
  ): Promise<KvPair> {
    const holder = await holderOf(this.client, pair, undefined, call);
    if (holder.kind !== 'own') return pair;
    const unlock: TxnKvOp = { Verb: 'unlock', Key: path, Value: raw, Session: holder.session };
    if (flags !== 0n) unlock.Flags = flags;
    const released = await this.#txn(
      [
        { KV: { Verb: 'check-index', Key: path, Index: pair.ModifyIndex } },
        { KV: unlock },
        { KV: { Verb: 'get', Key: path } },
      ],
      call,
    );
    await destroyQuietly(this.client, holder.session);
    if (!released.ok) return pair; // written again since: the newer write decides
    return released.Results.at(-1)!.KV!;
  }

  /**
   * Writes a value under a condition, in one transaction that also reads the entry back. Without a
   * TTL a key held by the store's own TTL session is released from it (so it becomes permanent),
   * and a key held by anyone else's session stays held. With a TTL a new session with
   * `Behavior=delete` locks the key, replacing the store's earlier one; a key held by anyone
   * else's session is refused (`HELD`).
   */
  async #write(
    path: string,
    raw: Raw,
    ttl: number | undefined,
    condition: Condition,
    call: QueryOptions,
    flags: bigint,
  ): Promise<WriteResult> {
    // Base64 of a string takes at most 4 characters per UTF-16 unit: short strings need no byte count.
    if (typeof raw !== 'string' || raw.length * 4 > TXN_VALUE_LIMIT) {
      const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
      if (Math.ceil(bytes / 3) * 4 > TXN_VALUE_LIMIT)
        return this.#writeLarge(path, raw, ttl, condition, call, flags);
    }
    if (ttl === undefined) {
      const write: TxnKvOp =
        condition.kind === 'none'
          ? { Verb: 'set', Key: path, Value: raw }
          : { Verb: 'cas', Key: path, Value: raw, Index: condition.kind === 'absent' ? 0 : condition.index };
      if (flags !== 0n) write.Flags = flags;
      // A `set`/`cas` result carries the entry's indexes and session (not its value): one op is enough.
      const response = await this.#txn([{ KV: write }], call);
      if (!response.ok) return { ok: false, errors: response.Errors };
      const pair = response.Results.at(-1)!.KV!;
      if (pair.Session === undefined || pair.Session === '') return { ok: true, pair };
      return { ok: true, pair: await this.#releaseOwn(path, raw, flags, pair, call) };
    }
    const { data: current } = await this.client.kv.get(path, { ...call, consistent: true });
    if (condition.kind === 'index' && current?.ModifyIndex !== condition.index) {
      return { ok: false, errors: [{ OpIndex: 0, What: 'index is stale', op: undefined }] };
    }
    if (condition.kind === 'absent' && current) {
      return { ok: false, errors: [{ OpIndex: 0, What: 'key exists', op: undefined }] };
    }
    const holder: Holder = current ? await holderOf(this.client, current, current.Flags, call) : FREE;
    if (holder.kind === 'foreign') throw this.#held(path, holder);
    const session = await createTtlSession(this.client, path, ttl, call);
    const ops: TxnOp[] = [];
    if (current) ops.push({ KV: { Verb: 'check-index', Key: path, Index: current.ModifyIndex } });
    else ops.push({ KV: { Verb: 'check-not-exists', Key: path } });
    const old = holder.kind === 'own' ? holder.session : undefined;
    if (old) ops.push({ KV: { Verb: 'unlock', Key: path, Session: old } });
    ops.push(
      { KV: { Verb: 'lock', Key: path, Value: raw, Session: session, Flags: expiryFlags(ttl) } },
      { KV: { Verb: 'get', Key: path } },
    );
    let response;
    try {
      response = await this.#txn(ops, call);
    } catch (error) {
      await destroyQuietly(this.client, session);
      throw error;
    }
    if (!response.ok) {
      await destroyQuietly(this.client, session);
      return { ok: false, errors: response.Errors };
    }
    if (old) await destroyQuietly(this.client, old);
    return { ok: true, pair: response.Results.at(-1)!.KV! };
  }

  /** Values too large for a transaction body: `PUT /v1/kv` and a read. Holds as in {@link #write}. */
  async #writeLarge(
    path: string,
    raw: Raw,
    ttl: number | undefined,
    condition: Condition,
    call: QueryOptions,
    flags: bigint,
  ): Promise<WriteResult> {
    if (ttl !== undefined && condition.kind !== 'none') {
      throw new NotSupportedError(
        'Consul cannot write a value over 285 KiB with both a TTL and a condition atomically',
      );
    }
    const { data: current } = await this.client.kv.get(path, { ...call, consistent: true });
    const holder: Holder = current ? await holderOf(this.client, current, current.Flags, call) : FREE;
    if (holder.kind === 'foreign' && ttl !== undefined) throw this.#held(path, holder);
    const own = holder.kind === 'own' ? holder.session : undefined;
    const withFlags = flags !== 0n ? { flags } : {};
    let session: string | undefined;
    let ok: boolean;
    if (ttl !== undefined) {
      // Our earlier session lets go first (writing the new value), then the new one takes the key.
      if (own) await this.client.kv.release(path, own, raw, call);
      session = await createTtlSession(this.client, path, ttl, call);
      ok = await this.client.kv.put(path, raw, { ...call, acquire: session, flags: expiryFlags(ttl) });
    } else if (own) {
      // Write the value and free it from our own session in one step.
      const stale =
        condition.kind === 'absent' ||
        (condition.kind === 'index' && current!.ModifyIndex !== condition.index);
      ok = !stale && (await this.client.kv.release(path, own, raw, { ...call, ...withFlags }));
    } else if (condition.kind === 'none') {
      // Always a `?cas=` on the index just read: a plain PUT counts as idempotent and could be
      // resent to another agent after a connection broke, landing after a newer write. Someone
      // writing in between only means reading again (a set wins either way). A foreign session's
      // hold stays (a cas keeps the key's session, as `consul kv put` does).
      let seen = current;
      ok = false;
      for (let attempt = 0; attempt < 10 && !ok; attempt++) {
        ok = await this.client.kv.put(path, raw, { ...call, ...withFlags, cas: seen?.ModifyIndex ?? 0 });
        if (!ok) ({ data: seen } = await this.client.kv.get(path, { ...call, consistent: true }));
      }
    } else {
      const cas = condition.kind === 'absent' ? 0 : condition.index;
      ok = await this.client.kv.put(path, raw, { ...call, ...withFlags, cas });
    }
    if (own) await destroyQuietly(this.client, own);
    if (!ok) {
      if (session) await destroyQuietly(this.client, session);
      return { ok: false, errors: [{ OpIndex: 0, What: 'conditional write refused', op: undefined }] };
    }
    const { data } = await this.client.kv.get(path, { ...call, consistent: true });
    if (!data) throw new BackendError(`consul: ${path} vanished right after it was written`);
    return { ok: true, pair: data };
  }

  /** `del('', { recursive })`: every top-level child of the prefix except the reserved `.polykv/`. */
  async #deleteRoot(path: string, call: QueryOptions): Promise<boolean> {
    const folder = path === '' ? '' : `${path}/`;
    const { data: children } = await this.client.kv.keys(folder, { ...call, separator: '/' });
    const ops: TxnOp[] = [];
    for (const child of children) {
      const name = child.slice(folder.length);
      if (name === '' || isReservedKey(name.endsWith('/') ? name.slice(0, -1) : name)) continue;
      ops.push({ KV: { Verb: name.endsWith('/') ? 'delete-tree' : 'delete', Key: child } });
    }
    for (let at = 0; at < ops.length; at += TXN_MAX_OPS) {
      const response = await this.#txn(ops.slice(at, at + TXN_MAX_OPS), call);
      if (!response.ok) throw this.#txnFailure('', response.Errors);
    }
    return ops.length > 0;
  }

  /**
   * The watch: core's watch loop over the Consul poll source (`watch/source.ts`), reading the key
   * (or the folder) through the client's shared KV reads, and each answer diffed per key against
   * what this watch has delivered. The source's index rules make the first round, every round after
   * a failure and the round after an index reset a plain read: the agent may have restarted with
   * lower indexes, and a blocking query on the old index would hide its changes for the whole wait.
   * Such a read's differences are followed by `resync`.
   */
  #runWatch(
    sink: WatchSink<V>,
    path: string,
    recursive: boolean,
    fromIndex: number | undefined,
    initial: boolean,
  ): Promise<void> {
    const seen = new Map<string, Seen>();
    const local: LocalWatch = {
      key: this.#keys.fromBackend(path) ?? '',
      recursive,
      ready: false,
      seen,
      wake: new Set(),
    };
    this.#local.add(local);
    const wakeAll = (): void => {
      if (local.wake.size > 0) for (const wake of [...local.wake]) wake();
    };
    const folder = path === '' ? '' : `${path}/`;
    // The store's root is a folder (its own key is nobody's); any other key is watched with its subtree.
    const listed = path === this.#keys.prefix ? folder : path;
    const target = recursive ? listed : path;
    // Shared blocking reads: the watches of keys under one folder share one long poll of it.
    const reads = this.client.kvReads;
    /** After each processed answer: the initial state arrives before `connected`. */
    const processed = (): void => {
      local.ready = true;
      wakeAll();
    };
    /**
     * Diffs one answer and emits its events, synchronously unless a vanished key was held by a TTL
     * session (whether it expired takes a request): then it resolves when done. Synchronous
     * handling matters for latency (S5 in bench/): the loop sends the next blocking query right
     * after, and an event queued for later would wait for that request to be written.
     */
    const handle = (data: KvPair[], index: number, kind: AnswerKind): Promise<void> | undefined => {
      const now = new Set<string>();
      const puts: { key: string; pair: KvPair }[] = [];
      for (const pair of data) {
        if (pair.Key.endsWith('/')) continue; // directory markers hold no value
        if (recursive ? pair.Key !== path && !pair.Key.startsWith(folder) : pair.Key !== path) continue;
        const key = this.#keys.fromBackend(pair.Key);
        if (key === undefined || isReservedKey(key)) continue;
        now.add(key);
        const before = seen.get(key);
        const session = pair.Session || undefined;
        if (
          before &&
          before.index === pair.ModifyIndex &&
          before.createIndex === pair.CreateIndex &&
          sameBytes(before.value, pair.Value)
        ) {
          before.session = session;
          continue;
        }
        seen.set(key, {
          index: pair.ModifyIndex,
          createIndex: pair.CreateIndex,
          value: pair.Value,
          session,
        });
        puts.push({ key, pair });
      }
      if (puts.length > 1) puts.sort((a, b) => a.pair.ModifyIndex - b.pair.ModifyIndex);
      if (kind === 'first' && fromIndex !== undefined) {
        sink.resync(
          puts.filter(({ pair }) => pair.ModifyIndex >= fromIndex).map(({ pair }) => this.#entry(pair)),
          index,
        );
      } else if (kind !== 'first' || initial) {
        for (const { key, pair } of puts) {
          const flags = userFlags(pair);
          sink.emit({
            type: 'put',
            key,
            value: decodeValue(this.codec, pair.Value ?? EMPTY, key),
            index: pair.ModifyIndex,
            createIndex: pair.CreateIndex,
            ...(flags !== undefined ? { flags } : {}),
            ...(kind === 'first' ? { initial: true as const } : {}),
          });
        }
      }
      const done = (): undefined => {
        if (kind === 'resync') sink.resynced(index);
        processed();
        return undefined;
      };
      let gone: [string, Seen][] | undefined;
      if (seen.size > now.size) {
        for (const entry of seen) if (!now.has(entry[0])) (gone ??= []).push(entry);
      }
      if (gone === undefined) return done();
      for (const [key] of gone) seen.delete(key);
      const vanished = gone;
      if (!vanished.some(([, before]) => before.session !== undefined)) {
        for (const [key] of vanished) sink.emit({ type: 'delete', key, index });
        return done();
      }
      return (async () => {
        for (const [key, before] of vanished) {
          // A key held by a TTL session that is gone has expired; one deleted while its session lives was deleted.
          const expired =
            before.session !== undefined && !(await this.#sessionExists(before.session, sink.signal));
          sink.emit({ type: expired ? 'expire' : 'delete', key, index });
        }
        done();
      })();
    };
    const source = new ConsulBlockingSource<KvPair[]>(
      (options) => reads.read(target, { ...options, recursive }),
      {
        query: this.#read,
        index: undefined,
        waitMs: this.#watchWait,
        minInterval: 0,
        backoffBase: 100,
        backoffMax: 5000,
        random: undefined,
        // The shared reads take the watch's StopSignal as is (no AbortSignal per watch: about 0.7 KB of an idle watcher, S6 in bench/).
        signal: sink.stop as unknown as AbortSignal,
      },
      (result, kind) => handle(result.data, result.meta.index ?? 0, kind),
    );
    return runWatchLoop(source, sink, { stop: sink.stop, timing: WATCH_TIMING }).then(
      () => this.#endLocal(local),
      (error: unknown) => {
        this.#endLocal(local);
        if (sink.stop.aborted) return;
        throw this.#mapError(error, this.#keys.fromBackend(path) ?? path);
      },
    );
  }

  /** A watch ended: its writers stop waiting for it. */
  #endLocal(local: LocalWatch): void {
    this.#local.delete(local);
    local.ready = false;
    if (local.wake.size > 0) for (const wake of [...local.wake]) wake();
  }

  /**
   * Waits (at most {@link SETTLE_MS}) until every running watch of this store that covers `key`
   * has seen a write that just succeeded. Consul keeps no history, so writes that follow each
   * other faster than a blocking query's round trip would reach a watcher as one event; with this,
   * a store's own writes reach its own watchers one by one, in order. Free without watchers.
   */
  async #settle(key: string, tree: boolean, done: (seen: LocalWatch['seen']) => boolean): Promise<void> {
    if (this.#local.size === 0) return;
    const waits: Promise<void>[] = [];
    for (const watch of this.#local) {
      const covers = watch.recursive
        ? watch.key === '' ||
          key === watch.key ||
          key.startsWith(`${watch.key}/`) ||
          (tree && (key === '' || watch.key.startsWith(`${key}/`)))
        : key === watch.key || (tree && (key === '' || watch.key.startsWith(`${key}/`)));
      if (!covers || !watch.ready || done(watch.seen)) continue;
      waits.push(
        new Promise<void>((resolve) => {
          const finish = (): void => {
            clearTimeout(timer);
            watch.wake.delete(check);
            resolve();
          };
          const check = (): void => {
            if (!watch.ready || done(watch.seen)) finish();
          };
          const timer = setTimeout(finish, SETTLE_MS);
          watch.wake.add(check);
        }),
      );
    }
    if (waits.length > 0) await Promise.all(waits);
  }

  async #written(entry: Entry<V>): Promise<Entry<V>> {
    await this.#settled(entry.key, entry.index);
    return entry;
  }

  /** After a write of `key` at `index`. */
  #settled(key: string, index: number): Promise<void> {
    return this.#settle(key, false, (seen) => (seen.get(key)?.index ?? 0) >= index);
  }

  /** After a delete of `key` (with `tree`, of everything at or below it). */
  #gone(key: string, tree: boolean): Promise<void> {
    return this.#settle(key, tree, (seen) => {
      if (!tree) return !seen.has(key);
      for (const known of seen.keys()) {
        if (key === '' || known === key || known.startsWith(`${key}/`)) return false;
      }
      return true;
    });
  }

  async #sessionExists(session: string, signal: AbortSignal): Promise<boolean> {
    try {
      return (await this.client.session.info(session, { signal })).data !== null;
    } catch {
      return false;
    }
  }
}
