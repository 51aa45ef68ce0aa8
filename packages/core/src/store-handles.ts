import type { Lock } from './lock.js';
import type { CallOptions } from './signal.js';

/**
 * The watchers and locks a store has handed out, so that its `close()` ends them: every store's
 * bookkeeping, once. A watcher leaves when it ends (pass {@link StoreHandles.forget} as the
 * `Watcher`'s `onEnd`: one function for every watcher, not a listener each), a lock when it is
 * lost or released.
 */
export class StoreHandles {
  readonly #watchers = new Set<{ close(): Promise<void> }>();
  readonly #locks = new Set<Lock>();
  /** A watcher ended: it leaves (the `onEnd` of the store's watchers). */
  readonly forget = (watcher: { close(): Promise<void> }): void => void this.#watchers.delete(watcher);

  /** Keeps `watcher` until it ends. */
  watcher<W extends { close(): Promise<void> }>(watcher: W): W {
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
