import { runWatchLoop, WatchEmitter, type StopSignal } from '@polykv/core';
import type { ConsulError } from '../errors.js';
import type { ConsulResult, QueryMeta, QueryOptions } from '../options.js';
import { durationMs } from '../request.js';
import { asConsulError, ConsulBlockingSource, type WatchMethod } from './source.js';

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
  /** Longest retry delay after errors, in ms. @defaultValue 30 000 */
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

const LOOP_OPTIONS = [
  'wait',
  'signal',
  'index',
  'minInterval',
  'backoffBase',
  'backoffMax',
  'maxAttempts',
  'random',
] as const satisfies readonly (keyof ConsulWatchOptions)[];

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
  readonly #startIndex: number | undefined;
  #closed: Promise<ConsulError | undefined> | undefined = undefined;

  /**
   * @param stopSignals For the client: `method` accepts a core `StopSignal` as `signal` (and makes
   * a real `AbortSignal` of it where it needs one).
   */
  constructor(method: WatchMethod<T>, options: ConsulWatchOptions = {}, stopSignals = false) {
    const waitMs = durationMs(options.wait ?? 60_000);
    super(options.signal, (stop) => this.#run(stop, method, options, waitMs, stopSignals));
    this.#startIndex = options.index;
  }

  #run(
    stop: StopSignal,
    method: WatchMethod<T>,
    options: ConsulWatchOptions,
    waitMs: number,
    stopSignals: boolean,
  ): Promise<void> {
    // The read's own options: everything but the loop's and the round's.
    const rest: ConsulWatchOptions = { ...options };
    for (const name of LOOP_OPTIONS) delete rest[name];
    const backoffBase = options.backoffBase ?? 200;
    const backoffMax = options.backoffMax ?? 30_000;
    const source = new ConsulBlockingSource<T>(
      method,
      {
        query: rest,
        index: options.index,
        waitMs,
        minInterval: options.minInterval ?? 100,
        backoffBase,
        backoffMax,
        random: options.random,
        signal: stopSignals ? (stop as unknown as AbortSignal) : stop.signal,
      },
      (result, _kind, moved) => {
        if (!moved) return;
        if (this.iterated) this.push(result);
        this.safeEmit(() => this.emit('change', result.data, result.meta));
      },
    );
    this.#source = source;
    return runWatchLoop(
      source,
      {
        connected: () => undefined,
        disconnected: (cause) => this.#report(asConsulError(cause, 'the watched call')),
      },
      {
        stop,
        timing: {
          backoffMs: backoffBase,
          maxBackoffMs: backoffMax,
          ...(options.random ? { random: options.random } : {}),
        },
        maxFailures: options.maxAttempts ?? Infinity,
      },
    );
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

/** Starts a {@link ConsulWatch} over `method`. */
export function watch<T>(method: WatchMethod<T>, options?: ConsulWatchOptions): ConsulWatch<T> {
  return new ConsulWatch(method, options);
}
