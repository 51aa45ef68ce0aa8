import { BackendError, ClosedError, isPolykvError, type PolykvError } from '../errors.js';
import type { StopSignal } from '../stop.js';
import type { Entry } from '../types.js';
import { WatchEmitter, type WatchEnd } from './emitter.js';
import type { KeyEvent, PutEvent, WatchEvent, WatcherEvents } from './events.js';
import { KnownKeys } from './known.js';

/**
 * What a backend's watch loop reports into; see {@link Watcher}. `connected` and `disconnected`
 * fit the watch loop's report ({@link runWatchLoop}), so a Store passes the sink to it as is.
 */
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
  /** For a backend that emitted the differences of a fresh read itself: emits `resync` at `index`. */
  resynced(index: number): void;
  /**
   * The watch has read the backend at `index` and will deliver every change after it (its first
   * read): `nextIndex` becomes `index + 1` unless an event already took it further. A watch
   * started without the initial values delivers nothing for that read, and would otherwise have
   * no index to resume from until its first change.
   */
  anchor(index: number): void;
  /** Reports a round that reached the backend. */
  connected(): void;
  /** Reports a failed round (the loop retries it). */
  disconnected(cause: unknown): void;
  /** The index of every key this watcher has delivered and not seen deleted. */
  readonly known: ReadonlyMap<string, number>;
}

const DATA_EVENTS = ['put', 'delete', 'expire', 'resync', 'change'] as const;

function ignore(): void {
  // A rejection someone observes another way.
}

/** The watcher internals the sink reaches (set in `Watcher`'s static block; not exported). */
let internals: {
  deliver<V>(watcher: Watcher<V>, event: WatchEvent<V>): void;
  resync<V>(watcher: Watcher<V>, entries: Iterable<Entry<V>> | undefined, index: number): void;
  anchor(watcher: Watcher<unknown>, index: number): void;
  connected(watcher: Watcher<unknown>, connected: boolean, cause: unknown): void;
  stop(watcher: Watcher<unknown>): StopSignal;
  known(watcher: Watcher<unknown>): ReadonlyMap<string, number>;
};

/** The sink of one watcher: one field, its methods on the prototype (no closures per watcher: S6 in bench/ holds 1,000). */
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
  resynced(index: number): void {
    internals.resync(this.#watcher, undefined, index);
  }
  anchor(index: number): void {
    internals.anchor(this.#watcher, index);
  }
  connected(): void {
    internals.connected(this.#watcher, true, undefined);
  }
  disconnected(cause: unknown): void {
    internals.connected(this.#watcher, false, cause);
  }
}

/**
 * A running Store watch: an eventemitter3 emitter and an async iterator over the same events (the
 * surface is core's {@link WatchEmitter}, the loop behind it usually {@link runWatchLoop}).
 *
 * Errors are loud. The watcher retries connection failures by itself (emitting `disconnected` and
 * `connected`); anything it cannot retry ends the watch with an `error` event, makes the async
 * iterator throw, and rejects {@link Watcher.closed}. If nobody listens for `error`, iterates or
 * awaits `closed`, that rejection is unhandled, as an unhandled `'error'` event is in Node.
 */
export class Watcher<V = string> extends WatchEmitter<WatcherEvents<V>, WatchEvent<V>, PolykvError> {
  /** The watched key, relative to the store's prefix (`''` for the store's root). */
  readonly key: string;
  /** True when the watch covers every key below `key` ({@link WatchOptions.recursive}). */
  readonly recursive: boolean;

  #nextIndex: number | undefined;
  /** `undefined` until the first request settled: the first failure is then a `disconnected` too. */
  #connected: boolean | undefined = undefined;
  readonly #known = new KnownKeys();
  #closed: Promise<void> | undefined = undefined;
  readonly #onEnd: ((watcher: { close(): Promise<void> }) => void) | undefined;
  readonly #toError: ((error: unknown, key: string) => unknown) | undefined;

  static {
    internals = {
      deliver: (watcher, event) => watcher.#deliver(event),
      resync: (watcher, entries, index) => watcher.#resync(entries, index),
      anchor: (watcher, index) => {
        if (watcher.#nextIndex === undefined || index + 1 > watcher.#nextIndex)
          watcher.#nextIndex = index + 1;
      },
      connected: (watcher, connected, cause) => watcher.#setConnected(connected, cause),
      stop: (watcher) => watcher.stopSignal,
      known: (watcher) => watcher.#known.map(),
    };
  }

  /**
   * For backends: starts `run` on the next tick, so listeners attached right after `watch()` see
   * every event. `run` loops until `sink.signal` (or `sink.stop`) aborts, then calls `end(false)`
   * or resolves; `end(true, error)` or a rejection ends the watch with an error, which
   * `toError` (the store's translation, one function per store) turns into the watcher's. Passing
   * `end` on to {@link startWatchLoop} costs no promise per watcher (S6 in bench/ holds 5,000).
   * `onEnd` is called once when the watch ends, before `end` is emitted (a store's bookkeeping:
   * cheaper than a listener per watcher).
   */
  constructor(
    key: string,
    options: {
      recursive?: boolean;
      fromIndex?: number;
      signal?: AbortSignal;
      onEnd?: (watcher: { close(): Promise<void> }) => void;
      toError?: (error: unknown, key: string) => unknown;
    },
    run: (sink: WatchSink<V>, end: WatchEnd) => Promise<void> | void,
  ) {
    super(options.signal, (_stop, end) => run(new Sink(this), end));
    this.key = key;
    this.recursive = options.recursive ?? false;
    this.#nextIndex = options.fromIndex;
    this.#onEnd = options.onEnd;
    this.#toError = options.toError;
  }

  /** Settles when the watch ends: resolves on `close()`, rejects with the terminal error. */
  get closed(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closed = this.settled().then((failure) => {
        if (failure) throw failure;
      });
      // The failure was observed when it happened (else `closed` was made then, unhandled).
      if (this.ended && this.failure) this.#closed.catch(ignore);
    }
    return this.#closed;
  }

  /**
   * The index to resume from: the last delivered event's index + 1, or the `fromIndex` given, or
   * (before any event) the index of the watch's first read + 1.
   */
  get nextIndex(): number | undefined {
    return this.#nextIndex;
  }

  /** True while the watcher is receiving changes. */
  get isConnected(): boolean {
    return this.#connected === true;
  }

  /** Stops the watch and frees its sockets and timers. Resolves once the loop has stopped. */
  close(): Promise<void> {
    return this.halt(new ClosedError('the watcher was closed'));
  }

  protected get dataEvents(): readonly string[] {
    return DATA_EVENTS;
  }

  protected toFailure(thrown: unknown): PolykvError {
    const error = this.#toError ? this.#toError(thrown, this.key) : thrown;
    return isPolykvError(error)
      ? error
      : new BackendError(`the watch on ${JSON.stringify(this.key)} failed`, { cause: error });
  }

  protected onEnd(failure: PolykvError | undefined): void {
    this.#connected = false;
    if (failure) {
      const observed = this.listenerCount('error') > 0 || this.iterated;
      // Nobody observes the failure: `closed` rejects unhandled (made now if nobody asked for it).
      if (observed) this.#closed?.catch(ignore);
      else this.#closed ??= Promise.reject(failure);
      this.#onEnd?.(this);
      this.emit('error', failure);
    } else this.#onEnd?.(this);
    this.emit('end');
  }

  #deliver(event: WatchEvent<V>): void {
    if (this.ended) return;
    if (event.type === 'put') this.#known.set(event.key, event.index);
    else if (event.type !== 'resync') this.#known.delete(event.key);
    if (this.#nextIndex === undefined || event.index + 1 > this.#nextIndex) this.#nextIndex = event.index + 1;
    this.push(event);
    // Listeners that throw must not kill the backend's loop: report on the next tick instead.
    this.safeEmit(() => {
      this.emit(event.type as 'put', event as PutEvent<V>);
      this.emit('change', event);
    });
  }

  #resync(entries: Iterable<Entry<V>> | undefined, index: number): void {
    if (entries !== undefined) {
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
      for (const key of this.#known.keys()) if (!seen.has(key)) this.#deliver({ type: 'delete', key, index });
    }
    this.#deliver({ type: 'resync', index });
    this.#nextIndex = index + 1;
  }

  #setConnected(connected: boolean, cause: unknown): void {
    if (this.#connected === connected || this.ended) return;
    this.#connected = connected;
    this.safeEmit(() => {
      if (connected) this.emit('connected');
      else this.emit('disconnected', cause);
    });
  }
}
