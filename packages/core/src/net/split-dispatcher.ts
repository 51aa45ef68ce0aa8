import { Dispatcher } from 'undici';

/**
 * Routes long polls and every other request to two dispatchers: each long poll holds a socket for
 * up to its wait, so they get a pool without a cap, while ordinary requests share a capped one (a
 * burst of reads then queues instead of opening hundreds of sockets). A cap shared with the polls
 * would let idle watches starve reads. Both native clients build their default transport with it.
 */
export class SplitDispatcher extends Dispatcher {
  readonly #ordinary: Dispatcher;
  readonly #longPolls: Dispatcher;
  readonly #isLongPoll: (path: string) => boolean;

  /**
   * Sends long polls to `longPolls` and every other request to `ordinary`.
   * @param isLongPoll - whether a request path (with its query) is a long poll.
   */
  constructor(ordinary: Dispatcher, longPolls: Dispatcher, isLongPoll: (path: string) => boolean) {
    super();
    this.#ordinary = ordinary;
    this.#longPolls = longPolls;
    this.#isLongPoll = isLongPoll;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (this.#isLongPoll(options.path) ? this.#longPolls : this.#ordinary).dispatch(options, handler);
  }

  /** Closes both pools once their requests have finished. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.#ordinary.close(), this.#longPolls.close()]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  /** Destroys both pools at once: requests in flight fail. */
  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const done = Promise.all([this.#ordinary.destroy(err), this.#longPolls.destroy(err)]).then(
      () => undefined,
    );
    if (!cb) return done;
    void done.then(cb, cb);
  }
}
