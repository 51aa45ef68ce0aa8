import { startWatchLoop, WatchEmitter, type LoopReport, type StopSignal } from '@polykv/core';
import type { ConsulError } from '../errors.js';
import type { ConsulResult, QueryMeta, QueryOptions } from '../options.js';
import { durationMs } from '../codec.js';
import {
  asConsulError,
  ConsulBlockingSource,
  type AnswerKind,
  type BlockingSourceOptions,
  type WatchMethod,
} from './source.js';

/** Options of {@link ConsulWatch}: the read's own options plus the loop's. */
export interface ConsulWatchOptions extends QueryOptions {
  /**
   * How long each blocking query may wait (ms or `'30s'`). The request timeout is this plus a margin.
   * @defaultValue 60 000 ms
   */
  wait?: number | string;
  /** Stops the watch (it then emits `end`). */
  signal?: AbortSignal;
  /**
   * The least time between the starts of two requests, in ms: a rate limit for keys that change
   * very often (each change answers at once).
   * @defaultValue 100
   */
  minInterval?: number;
  /** First retry delay after an error, in ms; doubled per consecutive error, jittered. @defaultValue 200 */
  backoffBase?: number;
  /**
   * Longest retry delay after errors, in ms: after an outage the watch is blind at most this long
   * once the agent is back (the Store's watches use the same 5 s). @defaultValue 5000
   */
  backoffMax?: number;
  /** Give up (terminal `error`, then `end`) after this many consecutive failures. @defaultValue Infinity */
  maxAttempts?: number;
  /** Random source of the backoff jitter (tests). @defaultValue Math.random */
  random?: () => number;
}

/** The events of {@link ConsulWatch}. */
export interface ConsulWatchEvents<T> {
  /** New data: the first answer, then every answer whose index moved. */
  change: [data: T, meta: QueryMeta];
  /**
   * A failed round, from the first one on. Transient errors (unreachable agent, 5xx, timeouts, bad
   * answers) are retried with backoff; terminal ones (400, 401/403, no blocking support,
   * `maxAttempts` used up) are followed by `end`.
   */
  error: [error: ConsulError];
  /** The watch stopped: by `end()`/`signal` (no argument) or after a terminal error (the error). */
  end: [error?: ConsulError];
}

const DATA_EVENTS = ['change'] as const;

/** What {@link WatchSource} reaches of its watch (set in `ConsulWatch`'s static block). */
let internals: {
  changed<T>(watch: ConsulWatch<T>, result: ConsulResult<T>): void;
  report<T>(watch: ConsulWatch<T>, error: ConsulError): void;
};

/**
 * A blocking-query loop over any read method: core's watch loop over {@link ConsulBlockingSource}
 * (Consul's index rules: a plain read first, after a failure and after an index that went
 * backwards; an index of 0 is retried; an unchanged index emits nothing), with core's watch surface.
 * Errors back off with capped jitter; 400 and permission errors end the watch loudly (`error`, then
 * `end`). Use the events or iterate:
 *
 * ```ts
 * const watch = client.watch((o) => client.kv.get('app/config', o), { wait: '30s' });
 * watch.on('change', (pair, meta) => console.log(meta.index, kvText(pair)));
 * watch.on('error', (err) => console.warn(err.code));
 * // or: for await (const { data } of watch) { ... }
 * watch.end();
 * ```
 *
 * Without an `error` listener, errors are reported as process warnings (eventemitter3 would drop
 * them silently).
 */
export class ConsulWatch<T> extends WatchEmitter<ConsulWatchEvents<T>, ConsulResult<T>, ConsulError> {
  #source: ConsulBlockingSource<T> | undefined = undefined;

  static {
    internals = {
      changed: (watch, result) => watch.#changed(result),
      report: (watch, error) => watch.#report(error),
    };
  }
  readonly #startIndex: number | undefined;
  #closed: Promise<ConsulError | undefined> | undefined = undefined;

  /**
   * Usually made with `client.watch(method, options)` or `client.watchKv`. The first round starts on
   * the next turn of the event loop, so listeners attached right away miss nothing.
   * @param method The read to repeat; it must pass the options it is given on to the endpoint.
   * @param stopSignals For the client: `method` accepts a core `StopSignal` as `signal` (and makes
   * a real `AbortSignal` of it where it needs one).
   */
  constructor(method: WatchMethod<T>, options: ConsulWatchOptions = {}, stopSignals = false) {
    const waitMs = durationMs(options.wait ?? 60_000);
    super(options.signal, (stop, end) => this.#run(stop, end, method, options, waitMs, stopSignals));
    this.#startIndex = options.index;
  }

  #run(
    stop: StopSignal,
    end: (failed: boolean, error: unknown) => void,
    method: WatchMethod<T>,
    options: ConsulWatchOptions,
    waitMs: number,
    stopSignals: boolean,
  ): void {
    // The read's own options: everything but the loop's and the round's. (A rest pattern, not
    // `delete`: an object that had keys deleted turns into a dictionary, about 0.3 KB per watch.)
    const {
      wait: _wait,
      signal: _signal,
      index: _index,
      minInterval: _minInterval,
      backoffBase: _backoffBase,
      backoffMax: _backoffMax,
      maxAttempts: _maxAttempts,
      random: _random,
      ...query
    } = options;
    const backoffBase = options.backoffBase ?? 200;
    const backoffMax = options.backoffMax ?? 5000;
    const source = new WatchSource<T>(this, method, {
      query,
      index: options.index,
      waitMs,
      minInterval: options.minInterval ?? 100,
      backoffBase,
      backoffMax,
      random: options.random,
      signal: stopSignals ? (stop as unknown as AbortSignal) : stop.signal,
    });
    this.#source = source;
    startWatchLoop(
      source,
      source,
      {
        stop,
        timing: {
          backoffMs: backoffBase,
          maxBackoffMs: backoffMax,
          ...(options.random ? { random: options.random } : {}),
        },
        maxFailures: options.maxAttempts ?? Infinity,
      },
      end,
    );
  }

  /** An answer whose index moved (see {@link WatchSource}). */
  #changed(result: ConsulResult<T>): void {
    if (this.iterated) this.push(result);
    this.safeEmit(() => this.emit('change', result.data, result.meta));
  }

  /** Resolves when the watch has ended: with the terminal error, or `undefined` when stopped. */
  get closed(): Promise<ConsulError | undefined> {
    this.#closed ??= this.settled();
    return this.#closed;
  }

  /** The index the next round blocks on (`undefined` before the first answer). */
  get index(): number | undefined {
    return this.#source ? this.#source.index : this.#startIndex;
  }

  /** Stops the watch: aborts the round in flight and emits `end`. */
  end(): void {
    this.haltNow(undefined);
  }

  protected get dataEvents(): readonly string[] {
    return DATA_EVENTS;
  }

  protected toFailure(error: unknown): ConsulError {
    return asConsulError(error, 'the watched call');
  }

  protected onEnd(failure: ConsulError | undefined): void {
    if (failure) this.#report(failure);
    this.emit('end', failure);
  }

  #report(error: ConsulError): void {
    if (this.listenerCount('error') > 0) this.safeEmit(() => this.emit('error', error));
    else process.emitWarning(`ConsulWatch: ${error.message}`, { code: error.code });
  }
}

/**
 * A {@link ConsulWatch}'s source, which is also its loop's report: one object per watch instead of a
 * source, a report and three closures (S6 in bench/ holds 1,000 idle watches).
 */
class WatchSource<T> extends ConsulBlockingSource<T> implements LoopReport {
  readonly #watch: ConsulWatch<T>;

  constructor(watch: ConsulWatch<T>, method: WatchMethod<T>, options: BlockingSourceOptions) {
    super(method, options);
    this.#watch = watch;
  }

  protected override deliver(result: ConsulResult<T>, _kind: AnswerKind, moved: boolean): void {
    if (moved) internals.changed(this.#watch, result);
  }

  connected(): void {}

  disconnected(cause: unknown): void {
    internals.report(this.#watch, asConsulError(cause, 'the watched call'));
  }
}

/** Starts a {@link ConsulWatch} over `method`. */
export function watch<T>(method: WatchMethod<T>, options?: ConsulWatchOptions): ConsulWatch<T> {
  return new ConsulWatch(method, options);
}
