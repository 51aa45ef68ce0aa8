import type { Lock } from './lock.js';
import type { CallOptions } from './signal.js';
import type { WatchStart } from './validate.js';
import type { WatchEnd } from './watch/emitter.js';
import { Watcher, type WatchSink } from './watch/watcher.js';

/**
 * The watchers and locks a store has handed out, so that its `close()` ends them: every store's
 * bookkeeping, once. A watcher leaves when it ends (through the `Watcher`'s `onEnd`: one function
 * for every watcher, not a listener each), a lock when it is lost or released.
 */
export class StoreHandles {
  readonly #watchers = new Set<{ close(): Promise<void> }>();
  readonly #locks = new Set<Lock>();
  /** A watcher ended: it leaves (the `onEnd` of every watcher). */
  readonly #forget = (watcher: { close(): Promise<void> }): void => void this.#watchers.delete(watcher);

  /**
   * A store's watcher (see `beginWatch`), running `run` and kept until it ends; `toError` is the
   * store's translation of a terminal error (see {@link Watcher}'s constructor).
   */
  watch<V>(
    start: WatchStart,
    run: (sink: WatchSink<V>, end: WatchEnd) => Promise<void> | void,
    toError?: (error: unknown, key: string) => unknown,
  ): Watcher<V> {
    const { recursive, fromIndex, signal } = start;
    const watcher = new Watcher<V>(
      start.key,
      { recursive, fromIndex, signal, onEnd: this.#forget, ...(toError ? { toError } : {}) },
      run,
    );
    this.#watchers.add(watcher);
    return watcher;
  }

  /** Keeps `lock` until it is lost or released. */
  lock(lock: Lock): Lock {
    this.#locks.add(lock);
    const forget = (): void => void this.#locks.delete(lock);
    lock.once('lost', forget).once('released', forget);
    return lock;
  }

  /** Closes every watcher, then releases every lock with `release` (failures ignored: the store is closing). */
  async close(release: CallOptions = {}): Promise<void> {
    await Promise.all([...this.#watchers].map((watcher) => watcher.close()));
    await Promise.all([...this.#locks].map((lock) => lock.release(release).catch(() => undefined)));
  }
}
