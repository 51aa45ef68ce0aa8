// The shapes of etcd's v2 keys API (`/v2/keys`): its nodes, results and the options of each call.
import type { EtcdCallOptions } from '../options.js';

/** A node of etcd's v2 key space. */
export interface EtcdNode<V = string> {
  /** The full key, with a leading slash: `/a/b`. */
  key: string;
  /** The value (parsed when the client's `json` option is on); absent for directories. */
  value?: V;
  /** True for a directory; absent for a key holding a value. */
  dir?: boolean;
  /** The children, for directories read with `recursive` (or one level without). */
  nodes?: EtcdNode<V>[];
  /**
   * The etcd index of the change that created the node. A plain `set` replaces the node, so it
   * moves; `update` and compare-and-swap keep it.
   */
  createdIndex: number;
  /**
   * The etcd index of the node's last change: what `prevIndex` compares against, and where a watch
   * resumes (`modifiedIndex + 1`).
   */
  modifiedIndex: number;
  /** Seconds left, for keys with a TTL. */
  ttl?: number;
  /** When the key expires (RFC 3339), for keys with a TTL. */
  expiration?: string;
}

/** What every keys call resolves with: etcd's JSON answer plus the meta headers. */
export interface EtcdResult<V = string> {
  /** `get`, `set`, `update`, `create`, `delete`, `expire`, `compareAndSwap`, `compareAndDelete`. */
  action: string;
  /**
   * The node acted on: as read (with its children for a directory), as written, or, for a delete
   * or an expiry, its key with the index of the removal and no value.
   */
  node: EtcdNode<V>;
  /** The node before a write or delete changed it; absent on reads and when there was none. */
  prevNode?: EtcdNode<V>;
  /** X-Etcd-Index of the response. */
  etcdIndex: number | undefined;
  /**
   * X-Raft-Index: the raft index of the member that answered (not the key space's etcd index);
   * `undefined` without the header.
   */
  raftIndex: number | undefined;
  /** X-Raft-Term: the raft term, which grows with each leader election; `undefined` without the header. */
  raftTerm: number | undefined;
  /** X-Etcd-Cluster-Id: the cluster's id, in hex; `undefined` without the header. */
  clusterId: string | undefined;
  /** The host that answered. */
  host: string;
}

/** A wait that ended without an event (the server closed the poll): resume at `etcdIndex + 1`. */
export interface EtcdEmptyWait {
  /** `null`: no event (this is how an empty wait differs from an {@link EtcdResult}). */
  action: null;
  /** Never set: there is no node without an event. */
  node?: undefined;
  /**
   * X-Etcd-Index: the store's index when etcd registered the poll; wait again from `etcdIndex + 1`.
   * `undefined` without the header.
   */
  etcdIndex: number | undefined;
  /** The host that answered. */
  host: string;
}

/** Options of reads. */
export interface EtcdGetOptions extends EtcdCallOptions {
  /** @defaultValue false */
  recursive?: boolean;
  /** Sort children by key. @defaultValue false */
  sorted?: boolean;
  /** Linearizable read through the leader (`quorum=true`). @defaultValue false */
  quorum?: boolean;
}

/** Options of `wait` / `watchIndex`. */
export interface EtcdWaitOptions extends EtcdCallOptions {
  /** @defaultValue false */
  recursive?: boolean;
  /** Return the first event at or after this index (replayed from etcd's 1,000-event history). */
  waitIndex?: number;
}

/** Options of writes. */
export interface EtcdSetOptions extends EtcdCallOptions {
  /** Seconds to live; `null` removes a TTL on update. */
  ttl?: number | null;
  /** `true`: must exist (update); `false`: must not exist (create). */
  prevExist?: boolean;
  /**
   * Write only if the current value is this text (with the `json` option: the JSON text etcd
   * holds). A mismatch is `ETCD_TEST_FAILED`, a missing key `ETCD_KEY_NOT_FOUND`.
   */
  prevValue?: string;
  /**
   * Write only if the key's `modifiedIndex` is this. A mismatch is `ETCD_TEST_FAILED`, a missing
   * key `ETCD_KEY_NOT_FOUND`.
   */
  prevIndex?: number;
  /** Refresh the TTL without changing the value and without notifying watchers (needs `ttl`). */
  refresh?: boolean;
  /** Create a directory. */
  dir?: boolean;
  /**
   * Whether the request may be sent to another host after it may have reached one. By default:
   * yes for a plain `set`, no with any `prev*` condition or `refresh` (a replay could report a
   * false compare failure or apply twice). See the README's failover and replay rules.
   */
  idempotent?: boolean;
}

/** Options of `create` (POST, in-order keys). */
export interface EtcdCreateOptions extends EtcdCallOptions {
  /** Seconds until the new key expires; without it, it never does. */
  ttl?: number;
}

/** Options of deletes. */
export interface EtcdDelOptions extends EtcdCallOptions {
  /** @defaultValue false */
  recursive?: boolean;
  /** Allow deleting an (empty, without `recursive`) directory. @defaultValue false */
  dir?: boolean;
  /**
   * Delete only if the current value is this text (with the `json` option: the JSON text etcd
   * holds). A mismatch is `ETCD_TEST_FAILED`, a missing key `ETCD_KEY_NOT_FOUND`.
   */
  prevValue?: string;
  /**
   * Delete only if the key's `modifiedIndex` is this. A mismatch is `ETCD_TEST_FAILED`, a missing
   * key `ETCD_KEY_NOT_FOUND`.
   */
  prevIndex?: number;
  /** See {@link EtcdSetOptions.idempotent}. Default: yes without `prev*`. */
  idempotent?: boolean;
}
