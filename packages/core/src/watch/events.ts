import type { PolykvError } from '../errors.js';

/** A key got a value (created or updated). */
export interface PutEvent<V = string> {
  type: 'put';
  key: string;
  value: V;
  index: number;
  createIndex: number;
  expiresAt?: Date;
  /** The key's flags, when not 0 (see `Entry.flags`). */
  flags?: bigint;
  /** Set on the events that carry the state found when the watch started. */
  initial?: true;
}

/** A key was deleted. Deleting a directory gives one event per key below it, all with one index. */
export interface DeleteEvent {
  type: 'delete';
  key: string;
  index: number;
}

/** A key's TTL ran out (and so it is gone). */
export interface ExpireEvent {
  type: 'expire';
  key: string;
  index: number;
}

/**
 * The watcher could not replay history (it was gone, or the connection was lost for too long), so it
 * re-read the state and emitted the differences as `put`/`delete` events just before this one. The
 * watcher's view now matches the store at `index`.
 */
export interface ResyncEvent {
  type: 'resync';
  index: number;
}

export type KeyEvent<V = string> = PutEvent<V> | DeleteEvent | ExpireEvent;
export type WatchEvent<V = string> = KeyEvent<V> | ResyncEvent;

/** Every event a {@link Watcher} emits. */
export interface WatcherEvents<V> {
  put: [event: PutEvent<V>];
  delete: [event: DeleteEvent];
  expire: [event: ExpireEvent];
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
