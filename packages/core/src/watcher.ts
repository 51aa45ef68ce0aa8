import { EventEmitter } from 'eventemitter3';
import { ClosedError, isPolykvError, BackendError, type PolykvError } from './errors.js';
import type { Entry } from './types.js';

/** A key got a value (created or updated). */
export interface PutEvent<V = string> {
  type: 'put';
  key: string;
  value: V;
  index: number;
  createIndex: number;
  expiresAt?: Date;
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
  /** The loop's stop signal: aborted by `close()` or the caller's signal. */
  readonly signal: AbortSignal;
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

/**
 * A running watch: an eventemitter3 emitter and an async iterator over the same events.
 *
 * Errors are loud. The watcher retries connection failures by itself (emitting `disconnected` and
 * `connected`); anything it cannot retry ends the watch with an `error` event, makes the async
 * iterator throw, and rejects {@link Watcher.closed}. If nobody listens for `error`, iterates or
 * awaits `closed`, that rejection is unhandled, as an unhandled `'error'` event is in Node.
 */
export class Watcher<V = string>
  extends EventEmitter<WatcherEvents<V>>
  implements AsyncIterable<WatchEvent<V>>
{
  readonly key: string;
  readonly recursive: boolean;
  /** Settles when the watch ends: resolves on `close()`, rejects with the terminal error. */
  readonly closed: Promise<void>;

  #nextIndex: number | undefined;
  #ended = false;
  #failure: PolykvError | undefined;
  #connected = false;
  readonly #stop = new AbortController();
  readonly #consumers = new Set<Consumer<V>>();
  readonly #known = new Map<string, number>();
  #settle!: { resolve: () => void; reject: (error: PolykvError) => void };
  #loop: Promise<void> = Promise.resolve();

  /**
   * For backends: starts `run` on the next tick, so listeners attached right after `watch()` see
   * every event. `run` loops until `sink.signal` aborts; a rejection ends the watch with an error.
   */
  constructor(
    key: string,
    options: { recursive?: boolean; fromIndex?: number; signal?: AbortSignal },
    run: (sink: WatchSink<V>) => Promise<void>,
  ) {
    super();
    this.key = key;
    this.recursive = options.recursive ?? false;
    this.#nextIndex = options.fromIndex;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    const callerSignal = options.signal;
    if (callerSignal) {
      if (callerSignal.aborted) queueMicrotask(() => void this.close());
      else
        callerSignal.addEventListener('abort', () => void this.close(), {
          once: true,
          signal: this.#stop.signal,
        });
    }
    const sink = this.#sink();
    this.#loop = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.#stop.signal.aborted ? undefined : run(sink)))
      .then(
        () => this.#finish(undefined),
        (error: unknown) => this.#finish(this.#stop.signal.aborted ? undefined : error),
      );
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
    if (!this.#stop.signal.aborted) this.#stop.abort(new ClosedError('the watcher was closed'));
    await this.#loop;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<V>> {
    const consumer: Consumer<V> = { queue: [], wake: undefined };
    this.#consumers.add(consumer);
    const done = (): IteratorResult<WatchEvent<V>> => ({ value: undefined, done: true });
    return {
      next: async () => {
        for (;;) {
          const event = consumer.queue.shift();
          if (event) return { value: event, done: false };
          if (this.#ended) {
            this.#consumers.delete(consumer);
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
        this.#consumers.delete(consumer);
        // Breaking out of `for await` frees the watch unless someone else still listens.
        if (this.#consumers.size === 0 && !DATA_EVENTS.some((name) => this.listenerCount(name) > 0))
          await this.close();
        return done();
      },
    };
  }

  #deliver(event: WatchEvent<V>): void {
    if (this.#ended) return;
    if (event.type === 'put') this.#known.set(event.key, event.index);
    else if (event.type !== 'resync') this.#known.delete(event.key);
    if (this.#nextIndex === undefined || event.index + 1 > this.#nextIndex) this.#nextIndex = event.index + 1;
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

  #sink(): WatchSink<V> {
    const sink: WatchSink<V> = {
      signal: this.#stop.signal,
      known: this.#known,
      emit: (event) => this.#deliver(event),
      resync: (entries, index) => {
        const seen = new Set<string>();
        for (const entry of entries) {
          seen.add(entry.key);
          if (this.#known.get(entry.key) !== entry.index) {
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
        for (const key of [...this.#known.keys()]) {
          if (!seen.has(key)) this.#deliver({ type: 'delete', key, index });
        }
        this.#deliver({ type: 'resync', index });
        this.#nextIndex = index + 1;
      },
      connected: () => {
        if (this.#connected || this.#ended) return;
        this.#connected = true;
        this.emit('connected');
      },
      disconnected: (cause) => {
        if (!this.#connected || this.#ended) return;
        this.#connected = false;
        this.emit('disconnected', cause);
      },
    };
    return sink;
  }

  #finish(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#connected = false;
    if (!this.#stop.signal.aborted) this.#stop.abort(new ClosedError('the watch ended'));
    if (error !== undefined) {
      const failure = isPolykvError(error)
        ? error
        : new BackendError(`the watch on ${JSON.stringify(this.key)} failed`, { cause: error });
      this.#failure = failure;
      const observed = this.listenerCount('error') > 0 || this.#consumers.size > 0;
      if (observed) this.closed.catch(() => undefined);
      this.emit('error', failure);
      this.#settle.reject(failure);
    } else {
      this.#settle.resolve();
    }
    for (const consumer of this.#consumers) consumer.wake?.();
    this.emit('end');
  }
}
