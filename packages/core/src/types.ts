import type { CallOptions } from './signal.js';

/** A key that holds a value. */
export interface Entry<V = string> {
  /** The key, relative to the store's prefix, without leading or trailing slashes. */
  key: string;
  /** The value, as the store's codec decodes it (a string with the default codec). */
  value: V;
  /** The backend's index of the last change to this key (etcd `modifiedIndex`, Consul `ModifyIndex`). */
  index: number;
  /** The index at which the key was created (etcd `createdIndex`, Consul `CreateIndex`). */
  createIndex: number;
  /** When the key expires, for keys set with a TTL. */
  expiresAt?: Date;
  /**
   * The key's flags (Consul's `Flags`, a uint64), present only when not 0. polykv's own TTL stamp
   * in Consul's `Flags` is never reported as flags. Only on backends with `capabilities.flags`.
   */
  flags?: bigint;
  /** Never `true`: tells an entry with a value from a {@link DirEntry} in a `list` answer. */
  dir?: false;
}

/** A directory, as `list` and `mkdir` report it. */
export interface DirEntry {
  /** The directory's key, relative to the store's prefix, without leading or trailing slashes. */
  key: string;
  /** Always `true`: marks a directory in a `list` answer. */
  dir: true;
  /** The directory's last change; 0 when the backend only implies the directory. */
  index: number;
  /** The index at which the directory was created; 0 when the backend only implies the directory. */
  createIndex: number;
  /** When the directory expires, for a directory made with a TTL (etcd v2, `memory://`). */
  expiresAt?: Date;
}

/** One child in a `list` answer: an entry with a value, or a directory. */
export type ListEntry<V = string> = Entry<V> | DirEntry;

/** Options of `get`. */
export interface GetOptions extends CallOptions {
  /**
   * Read from the leader (etcd `quorum=true`, Consul `?consistent`) rather than any member.
   * @defaultValue false
   */
  consistent?: boolean;
}

/** Options of `list`. */
export interface ListOptions extends GetOptions {
  /**
   * List every descendant (values and directories), not only the direct children.
   * @defaultValue false
   */
  recursive?: boolean;
}

/** Options of a paged read of a tree (`readPages`, and the optional `PagedReader.readPages`). */
export interface PageOptions extends GetOptions {
  /**
   * Requests in flight at once while reading ahead: 2 by default for Consul's pages of at most 250
   * keys, 16 for a directory walk (a page per directory).
   */
  concurrency?: number;
}

/** Options of writes that can give the key a time to live. */
export interface SetOptions extends CallOptions {
  /**
   * Seconds until the key expires: a positive whole number. Backends may have a minimum and may
   * expire late (Consul: at least 10 s, and up to twice the TTL); see `store.capabilities`.
   */
  ttl?: number;
  /**
   * The key's flags, 0 to 2^64 - 1 (Consul's `Flags`). A write without `flags` writes 0: a write
   * replaces the whole entry, as `consul kv put` does. Non-zero flags on a backend without
   * `capabilities.flags` reject with `NOT_SUPPORTED`, and so do flags with a `ttl` on Consul (the
   * TTL's stamp lives in `Flags`). Ignored by `mkdir`.
   * @defaultValue 0
   */
  flags?: number | bigint;
}

/** Options of `del`. */
export interface DelOptions extends CallOptions {
  /**
   * Delete a directory and everything below it. Without it, deleting a non-empty directory
   * rejects with `IS_A_DIRECTORY`.
   * @defaultValue false
   */
  recursive?: boolean;
}

/** The condition of a compare-and-swap: exactly one of the three forms. */
export type SwapCondition<V> =
  | {
      /** Swap only while the key holds this value. */
      prevValue: V;
    }
  | {
      /** Swap only while the key's last change has this index (its `Entry.index`). */
      prevIndex: number;
    }
  | {
      /** Only `false`: create the key, which must not exist yet (else `ALREADY_EXISTS`). */
      prevExist: false;
    };

/** The condition of a compare-and-delete. */
export type DeleteCondition<V> =
  | {
      /** Delete only while the key holds this value. */
      prevValue: V;
    }
  | {
      /** Delete only while the key's last change has this index (its `Entry.index`). */
      prevIndex: number;
    };

/** Options of `watch`. */
export interface WatchOptions extends CallOptions {
  /**
   * Watch every key below `key` rather than `key` alone.
   * @defaultValue false
   */
  recursive?: boolean;
  /**
   * Replay every change with an index at or above this one, then go on live. Resume a watch with
   * `lastEvent.index + 1`. When the backend no longer has that history, the watcher re-reads the
   * state, emits the differences and a `resync` event.
   */
  fromIndex?: number;
  /**
   * Without `fromIndex`: deliver the current value(s) first, as `put` events with `initial: true`.
   * @defaultValue true
   */
  initial?: boolean;
}

/** Options of `lock`. */
export interface LockOptions extends CallOptions {
  /**
   * Seconds the lock survives its holder going silent. The holder renews it every third of
   * that. Backends may raise it to their minimum (Consul: 10 s).
   * @defaultValue 15
   */
  ttl?: number;
  /**
   * Milliseconds to wait for the lock when another holder has it; then the call rejects with
   * `TIMEOUT`. `0` tries once. `signal` and `timeout` bound the wait too.
   * @defaultValue Infinity
   */
  wait?: number;
}

/** Options of `semaphore`. */
export interface SemaphoreOptions extends LockOptions {
  /**
   * How many may hold it at once (an integer >= 1). Every contender on one key must use the same
   * limit: Consul refuses another with `INVALID_ARGUMENT` (its semaphore records the limit); the
   * other backends compare each contender's place in the queue with its own limit.
   */
  limit: number;
}

/**
 * What a backend can and cannot do, so callers and the conformance suite need no backend names.
 * The README's support matrix is the human-readable form of this.
 */
export interface StoreCapabilities {
  /** The smallest TTL in seconds the backend honours; shorter TTLs are rejected with `INVALID_ARGUMENT`. */
  minTtl: number;
  /** How late expiry may come, as a factor of the TTL (Consul: 2, etcd and memory: about 1). */
  ttlExpiryFactor: number;
  /**
   * True when the backend keeps values and directories apart like a file system (setting a key
   * under a value fails with `NOT_A_DIRECTORY`, setting a directory's path fails with `IS_A_DIRECTORY`).
   */
  typedDirectories: boolean;
  /** How many past events the backend can replay to a watch with `fromIndex`. */
  watchHistory: number;
  /** True when keys carry flags (`Entry.flags`, `SetOptions.flags`): Consul and `memory://`. */
  flags: boolean;
  /**
   * True when any byte sequence is held as it is (Consul, `memory://`). False for etcd v2, which
   * holds text: bytes that are not UTF-8 are refused there unless the store opted into base64.
   */
  binaryValues: boolean;
}

/** Why a key the backend holds cannot be returned by `list`; see `Store.unlisted`. */
export type UnlistedCode = 'trailing-slash' | 'invalid-key' | 'reserved';

/** A key the backend holds that the portable key model cannot carry. */
export interface UnlistedKey {
  /** The backend's key relative to the store's prefix, verbatim (it may end in `/`, have `//`...). */
  path: string;
  /** Why `list` leaves it out, as a stable code; `reason` says it in words. */
  code: UnlistedCode;
  /** Why, in words. */
  reason: string;
}
