import type { PolykvError } from '../errors.js';
import type { Entry } from '../types.js';

/** A key got a value (created or updated): the key's new entry. */
export interface PutEvent<V = string> extends Omit<Entry<V>, 'dir'> {
  /** Always `'put'`: tells the kinds apart in `change` listeners and the iterator. */
  type: 'put';
  /** Set on the events that carry the state found when the watch started. */
  initial?: true;
}

/** A key was deleted. Deleting a directory gives one event per key below it, all with one index. */
export interface DeleteEvent {
  /** Always `'delete'`. */
  type: 'delete';
  /** The deleted key, relative to the store's prefix. */
  key: string;
  /**
   * The backend's index of the deletion (etcd: the delete's `modifiedIndex`; Consul: the index of
   * the read that found the key gone). Resume a watch with `index + 1`.
   */
  index: number;
}

/** A key's TTL ran out (and so it is gone). */
export interface ExpireEvent {
  /** Always `'expire'`. */
  type: 'expire';
  /** The expired key, relative to the store's prefix. */
  key: string;
  /**
   * The backend's index of the expiry (etcd: the expiry's `modifiedIndex`; Consul: the index of
   * the read that found the key gone). Resume a watch with `index + 1`.
   */
  index: number;
}

/**
 * The watcher could not replay history (it was gone, or the connection was lost for too long), so it
 * re-read the state and emitted the differences as `put`/`delete` events just before this one. The
 * watcher's view now matches the store at `index`.
 */
export interface ResyncEvent {
  /** Always `'resync'`. */
  type: 'resync';
  /** The backend's index the fresh read was taken at; the watch goes on from there. */
  index: number;
}

/** An event about one key: written, deleted, or expired. */
export type KeyEvent<V = string> = PutEvent<V> | DeleteEvent | ExpireEvent;
/** Anything a watch delivers as an item: a key's event, or a `resync` after history was lost. */
export type WatchEvent<V = string> = KeyEvent<V> | ResyncEvent;

/** Every event a {@link Watcher} emits. */
export interface WatcherEvents<V> {
  /** A key got a value; also each current value at the start, with `initial: true`. */
  put: [event: PutEvent<V>];
  /** A key was deleted (one event per key below a deleted directory). */
  delete: [event: DeleteEvent];
  /** A key's TTL ran out. */
  expire: [event: ExpireEvent];
  /** History was lost and the state re-read: the differences came just before, as events. */
  resync: [event: ResyncEvent];
  /** Every `put`, `delete`, `expire` and `resync`, in order. */
  change: [event: WatchEvent<V>];
  /** The watcher is (again) receiving changes from the backend. */
  connected: [];
  /**
   * A request of the watch failed (from the first failed attempt on, also before the watch was
   * ever connected); the watcher retries with backoff and keeps its place. Emitted once per outage:
   * `connected` follows when a request succeeds again.
   */
  disconnected: [cause: unknown];
  /** A terminal error: the watch has ended. Never emitted for errors the watcher retries. */
  error: [error: PolykvError];
  /** The watch has ended (after `close()`, the caller's signal, or a terminal error). */
  end: [];
}
