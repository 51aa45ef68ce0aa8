import type { Codec } from './codec.js';
import type { Lock } from './lock.js';
import type { CallOptions } from './signal.js';
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
import type { Watcher } from './watch/watcher.js';

/**
 * One key-value store, whatever the backend: `memory://`, etcd v2 or Consul.
 *
 * This interface is the contract; the conformance suite (`@polykv/core/testing`) checks every
 * sentence of it against every backend.
 *
 * - Keys follow the portable key model (see `normalizeKey`): `/`-separated, one leading and one
 *   trailing slash ignored, no empty, `.` or `..` segments. Every key is relative to the store's
 *   `prefix`, and no key can reach outside it.
 * - Values go through the store's `codec`: strings by default, `Uint8Array` with `binaryCodec`
 *   (byte-exact where `capabilities.binaryValues`; etcd v2 holds UTF-8 text, and other bytes only
 *   with its base64 opt-in), any JSON value with `jsonCodec`. A value a text codec cannot decode
 *   (not UTF-8) rejects with `UNREPRESENTABLE`; no value is ever changed silently.
 * - Every method ends with an options bag with `signal` and `timeout`. A call rejects with a
 *   `PolykvError` whose `code` is stable: see the error classes. A call that rejects has not written
 *   anything, except where a backend cannot know (a connection lost after the request was sent:
 *   `UNAVAILABLE`, see the README's "Guarantees").
 * - Directories: setting `a/b/c` creates the directories `a` and `a/b`. A directory holds no value.
 *
 * @typeParam V - the value type, fixed by the codec.
 */
export interface Store<V = string> {
  /** `'memory'`, `'etcd'` or `'consul'`. */
  readonly kind: string;
  /** The prefix every key of this store lives under, without slashes at the ends; `''` for none. */
  readonly prefix: string;
  /** Turns values into what the backend holds and back; it fixes `V` (strings with the default codec). */
  readonly codec: Codec<V>;
  /** What this backend can and cannot do: its TTL minimum, flags, binary values, watch history... */
  readonly capabilities: StoreCapabilities;

  /**
   * The value at `key`, or `null` when there is none (the key is missing, or is a directory).
   */
  get(key: string, options?: GetOptions): Promise<Entry<V> | null>;

  /**
   * The children of directory `dir` (`''` for the root), sorted by key. With `recursive`, every
   * descendant. Directories come as `{ dir: true }` entries. A missing path, or a key that holds a
   * value, lists as `[]`.
   */
  list(dir: string, options?: ListOptions): Promise<ListEntry<V>[]>;

  /**
   * Keys below directory `dir` (`''` for the root) that the backend holds but `list` cannot return,
   * because the portable key model cannot carry them: on Consul a key ending in `/` that holds a
   * value or flags, keys with empty, `.` or `..` segments, non-printable characters, over 4,096
   * bytes. `[]` on clean data, on `memory://`, and on etcd v2 (which cannot enumerate its hidden
   * `_` keys at all). The reserved `.polykv/` space is not reported: it is polykv's own.
   */
  unlisted(dir: string, options?: CallOptions): Promise<UnlistedKey[]>;

  /**
   * Writes `value` at `key`, creating missing parent directories; with `ttl`, the key expires.
   * Rejects with `IS_A_DIRECTORY` when `key` is a directory and `NOT_A_DIRECTORY` when a parent holds
   * a value (on backends with `capabilities.typedDirectories`).
   */
  set(key: string, value: V, options?: SetOptions): Promise<Entry<V>>;

  /**
   * Deletes `key`. Resolves `true` when something was deleted, `false` when there was nothing.
   * A directory needs `recursive` unless it is empty; otherwise `IS_A_DIRECTORY`.
   * `del('', { recursive: true })` empties the store's prefix.
   */
  del(key: string, options?: DelOptions): Promise<boolean>;

  /** Creates an empty directory. Rejects with `ALREADY_EXISTS` when anything is at `key`. */
  mkdir(key: string, options?: SetOptions): Promise<DirEntry>;

  /**
   * Writes `value` only if the condition holds:
   * - `{ prevExist: false }`: only if nothing is at `key`, else `ALREADY_EXISTS`;
   * - `{ prevValue }`: only if the current value equals it, else `COMPARE_FAILED`;
   * - `{ prevIndex }`: only if the key's `index` equals it, else `COMPARE_FAILED`.
   * With `prevValue`/`prevIndex` a missing key rejects with `NOT_FOUND`.
   */
  compareAndSwap(key: string, value: V, condition: SwapCondition<V>, options?: SetOptions): Promise<Entry<V>>;

  /**
   * Deletes `key` only if its value (or index) matches; else `COMPARE_FAILED`, or `NOT_FOUND` when
   * the key is missing.
   */
  compareAndDelete(key: string, condition: DeleteCondition<V>, options?: CallOptions): Promise<void>;

  /**
   * Creates a new key under directory `dir` whose name sorts after every earlier push to `dir`,
   * also when several clients push at once (etcd: in-order keys, 20-digit zero-padded).
   */
  push(dir: string, value: V, options?: SetOptions): Promise<Entry<V>>;

  /**
   * Watches `key` (with `recursive`, every key below it). Without `fromIndex` it first delivers the
   * current value(s) as `put` events marked `initial` (all of them before the first `connected`
   * event), then every change; with `fromIndex` it
   * replays every change from that index on. Deleting a directory gives one `delete` event per key
   * below it. Events for one key come in index order and none is skipped: when history is gone the
   * watcher re-reads and emits the differences and a `resync` event. Connection failures are
   * retried; only a terminal error ends the watch, loudly.
   */
  watch(key: string, options?: WatchOptions): Watcher<V>;

  /**
   * Takes an exclusive lock named `key`. Locks live in the reserved `.polykv/` space, never in
   * `list` or `watch` results, and do not touch the value at `key`. Resolves once held; rejects
   * with `TIMEOUT` when `wait` runs out first.
   */
  lock(key: string, options?: LockOptions): Promise<Lock>;

  /**
   * Takes one of `limit` slots of the semaphore named `key`: at most `limit` holders at once.
   * The handle is a {@link Lock} with the lock's semantics (renewed every third of `ttl`, `lost`
   * and `signal` when the slot is lost, `release`); its `fencingToken` grows with every
   * acquisition of the key, but up to `limit` holders have valid ones at once. Semaphores live in
   * the reserved `.polykv/` space apart from locks (on Consul in the layout of Consul's own
   * semaphore, `consul lock -n`). Rejects with `TIMEOUT` when `wait` runs out first, and with
   * `INVALID_ARGUMENT` for a `limit` that is not an integer >= 1.
   */
  semaphore(key: string, options: SemaphoreOptions): Promise<Lock>;

  /**
   * Closes every socket, timer, watcher and held lock (locks are released on a best-effort basis).
   * Later calls reject with `CLOSED`.
   */
  close(options?: CallOptions): Promise<void>;
}
