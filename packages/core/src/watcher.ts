import { EventEmitter } from 'eventemitter3';
import { ClosedError, isPolykvError, BackendError, type PolykvError } from './errors.js';
import { StopSignal } from './stop.js';
import type { Entry } from './types.js';

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
  /** The connection failed; the watcher retries with backoff and keeps its place. */
  disconnected: [cause: unknown];
  /** A terminal error: the watch has ended. Never emitted for errors the watcher retries. */
  error: [error: PolykvError];
  /** The watch has ended (after `close()`, the caller's signal, or a terminal error). */
  end: [];
}

/** What a backend's watch loop reports into; see {@link Watcher}. */
export interface WatchSink<V> {
  /** The loop's stop signal: aborted by `close()` or the caller's signal (a real one, made on first use). */
  readonly signal: AbortSignal;
  /**
   * The same stop as {@link WatchSink.signal}, without the cost of an `AbortSignal` (about 0.7 KB
   * per watcher): for loops that can take a {@link StopSignal}.
   */
  readonly stop: StopSignal;
  /** Delivers a key event and moves the cursor to `event.index + 1`. */
  emit(event: KeyEvent<V>): void;
  /** Compares a fresh read with what this watcher has delivered, emits the differences, then `resync`. */
  resync(entries: Iterable<Entry<V>>, index: number): void;
  connected(): void;
  disconnected(cause: unknown): void;
  /** The index of every key this watcher has delivered and not seen deleted. */
  readonly known: ReadonlyMap<string, number>;
}

const DATA_EVENTS = ['put', 'delete', 'expire', 'resync', 'change'] as const;

interface Consumer<V> {
  queue: WatchEvent<V>[];
  wake: (() => void) | undefined;
}

function ignore(): void {
  // A rejection someone observes another way.
}

/** The watcher internals the sink reaches (set in `Watcher`'s static block; not exported). */
let internals: {
  deliver<V>(watcher: Watcher<V>, event: WatchEvent<V>): void;
  resync<V>(watcher: Watcher<V>, entries: Iterable<Entry<V>>, index: number): void;
  connected(watcher: Watcher<unknown>, connected: boolean, cause: unknown): void;
  stop(watcher: Watcher<unknown>): StopSignal;
  known(watcher: Watcher<unknown>): ReadonlyMap<string, number>;
  start<V>(watcher: Watcher<V>, run: (sink: WatchSink<V>) => Promise<void>): void;
};

/** The sink of one watcher: one field, its methods on the prototype (no closures per watcher). */
class Sink<V> implements WatchSink<V> {
  readonly #watcher: Watcher<V>;
  constructor(watcher: Watcher<V>) {
    this.#watcher = watcher;
  }
  get signal(): AbortSignal {
    return internals.stop(this.#watcher).signal;
  }
  get stop(): StopSignal {
    return internals.stop(this.#watcher);
  }
  get known(): ReadonlyMap<string, number> {
    return internals.known(this.#watcher);
  }
  emit(event: KeyEvent<V>): void {
    internals.deliver(this.#watcher, event);
  }
  resync(entries: Iterable<Entry<V>>, index: number): void {
    internals.resync(this.#watcher, entries, index);
  }
  connected(): void {
    internals.connected(this.#watcher, true, undefined);
  }
  disconnected(cause: unknown): void {
    internals.connected(this.#watcher, false, cause);
  }
}

function startWatcher<V>(watcher: Watcher<V>, run: (sink: WatchSink<V>) => Promise<void>): void {
  internals.start(watcher, run);
}

/**
 * A running watch: an eventemitter3 emitter and an async iterator over the same events.
 *
 * Errors are loud. The watcher retries connection failures by itself (emitting `disconnected` and
 * `connected`); anything it cannot retry ends the watch with an `error` event, makes the async
 * iterator throw, and rejects {@link Watcher.closed}. If nobody listens for `error`, iterates or
 * awaits `closed`, that rejection is unhandled, as an unhandled `'error'` event is in Node.
 *
 * An idle watcher is kept small (S6 of the benchmark holds 1,000 of them): its maps, queues and
 * the `closed` promise are made when first used, and it stops its loop with a {@link StopSignal}.
 */
export class Watcher<V = string>
  extends EventEmitter<WatcherEvents<V>>
  implements AsyncIterable<WatchEvent<V>>
{
  readonly key: string;
  readonly recursive: boolean;

  #nextIndex: number | undefined;
  #ended = false;
  #failure: PolykvError | undefined = undefined;
  #connected = false;
  readonly #stop = new StopSignal();
  #consumers: Set<Consumer<V>> | undefined = undefined;
  /**
   * What the watcher has delivered (key → index): one key in two fields (a watch on one key never
   * knows more), a Map once a second key shows up or `sink.known` is asked for.
   */
  #known: Map<string, number> | undefined = undefined;
  #knownKey: string | undefined = undefined;
  #knownIndex = 0;
  #closed: Promise<void> | undefined = undefined;
  #resolve: (() => void) | undefined = undefined;
  #reject: ((error: PolykvError) => void) | undefined = undefined;
  #loop: Promise<void> | undefined = undefined;
  #callerSignal: AbortSignal | undefined = undefined;
  #onCallerAbort: (() => void) | undefined = undefined;
  readonly #onEnd: ((watcher: { close(): Promise<void> }) => void) | undefined;

  static {
    internals = {
      deliver: (watcher, event) => watcher.#deliver(event),
      resync: (watcher, entries, index) => watcher.#resync(entries, index),
      connected: (watcher, connected, cause) => watcher.#setConnected(connected, cause),
      stop: (watcher) => watcher.#stop,
      known: (watcher) => watcher.#knownMap(),
      start: (watcher, run) => watcher.#start(run),
    };
  }

  /**
   * For backends: starts `run` on the next tick, so listeners attached right after `watch()` see
   * every event. `run` loops until `sink.signal` (or `sink.stop`) aborts; a rejection ends the
   * watch with an error. `onEnd` is called once when the watch ends, before `end` is emitted (a
   * store's bookkeeping: cheaper than a listener per watcher).
   */
  constructor(
    key: string,
    options: {
      recursive?: boolean;
      fromIndex?: number;
      signal?: AbortSignal;
      onEnd?: (watcher: { close(): Promise<void> }) => void;
    },
    run: (sink: WatchSink<V>) => Promise<void>,
  ) {
    super();
    this.key = key;
    this.recursive = options.recursive ?? false;
    this.#nextIndex = options.fromIndex;
    this.#onEnd = options.onEnd;
    const callerSignal = options.signal;
    if (callerSignal) {
      if (callerSignal.aborted) queueMicrotask(() => void this.close());
      else {
        this.#callerSignal = callerSignal;
        this.#onCallerAbort = () => void this.close();
        callerSignal.addEventListener('abort', this.#onCallerAbort, { once: true });
      }
    }
    setImmediate(startWatcher<V>, this, run);
  }

  /** Settles when the watch ends: resolves on `close()`, rejects with the terminal error. */
  get closed(): Promise<void> {
    if (this.#closed === undefined) {
      if (!this.#ended)
        this.#closed = new Promise<void>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      else if (this.#failure) {
        // The failure was observed when it happened (else `closed` was made then, unhandled).
        this.#closed = Promise.reject(this.#failure);
        this.#closed.catch(ignore);
      } else this.#closed = Promise.resolve();
    }
    return this.#closed;
  }

  /** The index to resume from: the last delivered event's index + 1 (or the `fromIndex` given). */
  get nextIndex(): number | undefined {
    return this.#nextIndex;
  }

  /** True while the watcher is receiving changes. */
  get isConnected(): boolean {
    return this.#connected;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Stops the watch and frees its sockets and timers. Resolves once the loop has stopped. */
  async close(): Promise<void> {
    if (!this.#stop.aborted) this.#stop.abort(new ClosedError('the watcher was closed'));
    if (this.#loop) await this.#loop;
    else if (!this.#ended) await new Promise<void>((resolve) => this.once('end', resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<V>> {
    const consumer: Consumer<V> = { queue: [], wake: undefined };
    (this.#consumers ??= new Set()).add(consumer);
    const done = (): IteratorResult<WatchEvent<V>> => ({ value: undefined, done: true });
    return {
      next: async () => {
        for (;;) {
          const event = consumer.queue.shift();
          if (event) return { value: event, done: false };
          if (this.#ended) {
            this.#consumers?.delete(consumer);
            if (this.#failure) {
              const failure = this.#failure;
              consumer.wake = undefined;
              throw failure;
            }
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
        if (!this.#consumers?.size && !DATA_EVENTS.some((name) => this.listenerCount(name) > 0))
          await this.close();
        return done();
      },
    };
  }

  #start(run: (sink: WatchSink<V>) => Promise<void>): void {
    if (this.#stop.aborted) {
      this.#finish(undefined);
      return;
    }
    let loop: Promise<void>;
    try {
      loop = run(new Sink(this));
    } catch (error) {
      loop = Promise.reject(error);
    }
    this.#loop = loop.then(
      () => this.#finish(undefined),
      (error: unknown) => this.#finish(this.#stop.aborted ? undefined : error),
    );
  }

  #knownMap(): Map<string, number> {
    if (this.#known === undefined) {
      this.#known = new Map();
      if (this.#knownKey !== undefined) this.#known.set(this.#knownKey, this.#knownIndex);
      this.#knownKey = undefined;
    }
    return this.#known;
  }

  #know(key: string, index: number): void {
    if (this.#known) this.#known.set(key, index);
    else if (this.#knownKey === undefined || this.#knownKey === key) {
      this.#knownKey = key;
      this.#knownIndex = index;
    } else this.#knownMap().set(key, index);
  }

  #forget(key: string): void {
    if (this.#known) this.#known.delete(key);
    else if (key === this.#knownKey) this.#knownKey = undefined;
  }

  #knownAt(key: string): number | undefined {
    if (this.#known) return this.#known.get(key);
    return key === this.#knownKey ? this.#knownIndex : undefined;
  }

  #deliver(event: WatchEvent<V>): void {
    if (this.#ended) return;
    if (event.type === 'put') this.#know(event.key, event.index);
    else if (event.type !== 'resync') this.#forget(event.key);
    if (this.#nextIndex === undefined || event.index + 1 > this.#nextIndex) this.#nextIndex = event.index + 1;
    if (this.#consumers)
      for (const consumer of this.#consumers) {
        consumer.queue.push(event);
        consumer.wake?.();
        consumer.wake = undefined;
      }
    // Listeners that throw must not kill the backend's loop: report on the next tick instead.
    try {
      this.emit(event.type as 'put', event as PutEvent<V>);
      this.emit('change', event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #resync(entries: Iterable<Entry<V>>, index: number): void {
    const seen = new Set<string>();
    for (const entry of entries) {
      seen.add(entry.key);
      if (this.#knownAt(entry.key) !== entry.index) {
        this.#deliver({
          type: 'put',
          key: entry.key,
          value: entry.value,
          index: entry.index,
          createIndex: entry.createIndex,
          ...(entry.expiresAt ? { expiresAt: entry.expiresAt } : {}),
        });
      }
    }
    const keys = this.#known ? [...this.#known.keys()] : this.#knownKey === undefined ? [] : [this.#knownKey];
    for (const key of keys) {
      if (!seen.has(key)) this.#deliver({ type: 'delete', key, index });
    }
    this.#deliver({ type: 'resync', index });
    this.#nextIndex = index + 1;
  }

  #setConnected(connected: boolean, cause: unknown): void {
    if (this.#connected === connected || this.#ended) return;
    this.#connected = connected;
    if (connected) this.emit('connected');
    else this.emit('disconnected', cause);
  }

  #finish(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#connected = false;
    if (!this.#stop.aborted) this.#stop.abort(new ClosedError('the watch ended'));
    if (this.#callerSignal) {
      this.#callerSignal.removeEventListener('abort', this.#onCallerAbort!);
      this.#callerSignal = undefined;
      this.#onCallerAbort = undefined;
    }
    if (error !== undefined) {
      const failure = isPolykvError(error)
        ? error
        : new BackendError(`the watch on ${JSON.stringify(this.key)} failed`, { cause: error });
      this.#failure = failure;
      const observed = this.listenerCount('error') > 0 || (this.#consumers?.size ?? 0) > 0;
      // Nobody observes the failure: `closed` rejects unhandled (made now if nobody asked for it).
      if (observed) this.#closed?.catch(ignore);
      else this.#closed ??= Promise.reject(failure);
      this.#onEnd?.(this);
      this.emit('error', failure);
      this.#reject?.(failure);
    } else {
      this.#onEnd?.(this);
      this.#resolve?.();
    }
    this.#resolve = undefined;
    this.#reject = undefined;
    if (this.#consumers) for (const consumer of this.#consumers) consumer.wake?.();
    this.emit('end');
  }
}
