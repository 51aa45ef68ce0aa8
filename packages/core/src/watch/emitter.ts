import { EventEmitter } from 'eventemitter3';
import { follow } from '../signal.js';
import { StopSignal } from '../stop.js';

interface Consumer<T> {
  queue: T[];
  wake: (() => void) | undefined;
}

/**
 * A watch's loop: runs until `stop` aborts, then calls `end(false)`, or ends with a terminal error,
 * `end(true, error)`; or returns a promise that settles the same way. `end` is core's
 * {@link startWatchLoop} callback; a promise suits {@link runWatchLoop} (what Stores pass).
 */
export type WatchRun = (stop: StopSignal, end: WatchEnd) => Promise<void> | void;

/** How a watch's loop ends: `end(false)` once stopped, `end(true, error)` on a terminal error. */
export type WatchEnd = (failed: boolean, error: unknown) => void;

/** Starts a watch's loop (set in `WatchEmitter`'s static block: a timer callback with no closure per watch). */
let startRun: (emitter: WatchEmitter<never, unknown, Error>) => void;

/**
 * The one running-watch surface: an eventemitter3 emitter and an async iterator over the same items,
 * a stop (`halt`) that resolves once the loop has stopped, the caller's `signal`, and the end
 * (`ended`, a terminal failure, `settled()`). The Store's {@link Watcher}, etcd's `EtcdWatcher` and
 * Consul's `ConsulWatch` are thin subclasses that name the events.
 *
 * `run` starts on the next turn (listeners attached right after construction see everything) and
 * runs until the stop aborts or a terminal error (see {@link WatchRun}); the stop aborts when the
 * watch ends, so `run` can take {@link WatchEmitter.stopSignal} as its only signal.
 *
 * An idle watch is kept small (S6 of bench/ holds 1,000 of them): iterator queues and the settle
 * promise are made on first use, and the loop stops with a {@link StopSignal}.
 */
export abstract class WatchEmitter<Events extends EventEmitter.ValidEventTypes, Item, Failure extends Error>
  extends EventEmitter<Events>
  implements AsyncIterable<Item>
{
  readonly #stop = new StopSignal();
  /** Dropped once started: an idle watch need not hold it. */
  #run: WatchRun | undefined;
  #ended = false;
  #failure: Failure | undefined = undefined;
  #consumers: Set<Consumer<Item>> | undefined = undefined;
  #settle: ((failure: Failure | undefined) => void)[] | undefined = undefined;
  /** Stops following the caller's signal (one listener on it however many watches share it). */
  #unfollowCaller: (() => void) | undefined = undefined;

  static {
    startRun = (emitter) => emitter.#start();
  }

  /** `run` starts on the next turn; the caller's `signal` ends the watch when it aborts (at once if so). */
  constructor(signal: AbortSignal | undefined, run: WatchRun) {
    super();
    this.#run = run;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => void this.halt(signal.reason));
      else {
        this.#unfollowCaller = follow(signal, { abort: (reason) => void this.halt(reason) });
      }
    }
    setImmediate(startRun, this as unknown as WatchEmitter<never, unknown, Error>);
  }

  /** Whether the watch has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The stop of the watch's loop: aborted by `halt()`, the caller's signal, or the end. */
  protected get stopSignal(): StopSignal {
    return this.#stop;
  }

  /** The terminal failure, once the watch has ended with one. */
  protected get failure(): Failure | undefined {
    return this.#failure;
  }

  /** The event names that carry items: breaking out of an iterator stops the watch unless one of them is listened to. */
  protected abstract get dataEvents(): readonly string[];

  /** Makes the terminal failure of whatever `run` rejected with. */
  protected abstract toFailure(error: unknown): Failure;

  /** Emits the surface's end events (`error`, `end`, `stop`...). Called once, after the iterators were woken. */
  protected abstract onEnd(failure: Failure | undefined): void;

  /** Stops the watch (once; `reason` becomes the stop's) and resolves when its loop has stopped. */
  protected async halt(reason: unknown): Promise<void> {
    if (!this.#stop.aborted)
      this.#stop.abort(reason ?? new DOMException('This operation was aborted', 'AbortError'));
    if (!this.#ended) await this.settled();
  }

  /**
   * Stops the watch and ends it at once (its `end` events now), without waiting for the loop: for
   * surfaces whose stop is synchronous (`ConsulWatch.end()`). The loop stops on its own after.
   */
  protected haltNow(reason: unknown): void {
    if (this.#ended) return;
    if (!this.#stop.aborted)
      this.#stop.abort(reason ?? new DOMException('This operation was aborted', 'AbortError'));
    this.#finish(undefined);
  }

  /** Resolves once the watch has ended, with its terminal failure (never rejects). */
  protected settled(): Promise<Failure | undefined> {
    if (this.#ended) return Promise.resolve(this.#failure);
    return new Promise((resolve) => (this.#settle ??= []).push(resolve));
  }

  /** Hands an item to every iterator. */
  protected push(item: Item): void {
    if (this.#consumers === undefined) return;
    for (const consumer of this.#consumers) {
      consumer.queue.push(item);
      consumer.wake?.();
      consumer.wake = undefined;
    }
  }

  /** Whether someone iterates (a terminal failure is then observed). */
  protected get iterated(): boolean {
    return (this.#consumers?.size ?? 0) > 0;
  }

  /** Emits without letting a throwing listener break the loop: the error is rethrown on its own. */
  protected safeEmit(emit: () => void): void {
    try {
      emit();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** The items as an async iterator; it ends when the run ends (and throws its terminal error). */
  [Symbol.asyncIterator](): AsyncIterator<Item> {
    const consumer: Consumer<Item> = { queue: [], wake: undefined };
    (this.#consumers ??= new Set()).add(consumer);
    const done = (): IteratorResult<Item> => ({ value: undefined, done: true });
    return {
      next: async () => {
        for (;;) {
          if (consumer.queue.length > 0) return { value: consumer.queue.shift()!, done: false };
          if (this.#ended) {
            this.#consumers?.delete(consumer);
            if (this.#failure) throw this.#failure;
            return done();
          }
          await new Promise<void>((resolve) => {
            consumer.wake = resolve;
          });
        }
      },
      return: async () => {
        this.#consumers?.delete(consumer);
        // Breaking out of `for await` frees the watch unless someone else still listens.
        const listened = this.dataEvents.some((name) => this.listenerCount(name as never) > 0);
        if (!this.#consumers?.size && !listened) await this.halt(undefined);
        return done();
      },
    };
  }

  #start(): void {
    const run = this.#run!;
    this.#run = undefined;
    if (this.#stop.aborted) {
      this.#finish(undefined);
      return;
    }
    let loop: Promise<void> | void;
    try {
      loop = run(this.#stop, this.#ended$);
    } catch (error) {
      this.#ended$(true, error);
      return;
    }
    if (loop)
      loop.then(
        () => this.#ended$(false, undefined),
        (error: unknown) => this.#ended$(true, error),
      );
  }

  /** The loop ended: a failure after the stop is no failure. */
  readonly #ended$ = (failed: boolean, error: unknown): void => {
    this.#finish(failed && !this.#stop.aborted ? error : undefined);
  };

  #finish(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#stop.aborted) this.#stop.abort(new DOMException('The watch ended', 'AbortError'));
    this.#unfollowCaller?.();
    this.#unfollowCaller = undefined;
    const failure = error === undefined ? undefined : this.toFailure(error);
    this.#failure = failure;
    if (this.#consumers) for (const consumer of this.#consumers) consumer.wake?.();
    this.onEnd(failure);
    const settle = this.#settle;
    this.#settle = undefined;
    if (settle) for (const resolve of settle) resolve(failure);
  }
}
