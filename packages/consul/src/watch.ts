import { backoffDelay, StopSignal } from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import { ConsulError, isConsulError } from './errors.js';
import type { ConsulResult, QueryMeta, QueryOptions } from './options.js';
import { durationMs } from './request.js';

/** Any read method of the client, given the options of one round (with `index` and `wait`). */
export type WatchMethod<T> = (options: QueryOptions) => Promise<ConsulResult<T>>;

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
   * A failed round. Transient errors (unreachable agent, 5xx, timeouts, bad answers) are retried
   * with backoff; terminal ones (400, 401/403, no blocking support, `maxAttempts` used up) are
   * followed by `end`.
   */
  error: [error: ConsulError];
  /** The watch stopped: by `end()`/`signal` (no argument) or after a terminal error (the error). */
  end: [error?: ConsulError];
}

const TERMINAL_STATUS = new Set([400, 401, 403, 404, 405]);

/** Errors no retry of a blocking query can fix (ConsulWatch and the shared KV polls). */
export function isTerminal(error: ConsulError): boolean {
  if (error.code === 'CONSUL_INVALID_ARGUMENT' || error.code === 'CONSUL_CLOSED') return true;
  if (error.code === 'CONSUL_PERMISSION_DENIED') return true;
  return error.statusCode !== undefined && TERMINAL_STATUS.has(error.statusCode);
}

function toConsulError(error: unknown): ConsulError {
  if (isConsulError(error)) return error;
  return new ConsulError('CONSUL_BAD_RESPONSE', `the watched call failed: ${String(error)}`, {
    cause: error,
  });
}

/**
 * A blocking-query loop over any read method, following Consul's rules: each round passes the last
 * `X-Consul-Index` with `wait`; an index that goes backwards resets to 0 (a restarted or restored
 * server); an index of 0 is an error and the round is retried with backoff; an unchanged index emits
 * nothing (a full wait with no change, or an unrelated write); errors back off with capped jitter;
 * 400 and permission errors end the watch loudly (`error`, then `end`). Use the events or iterate:
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
export class ConsulWatch<T> extends EventEmitter<ConsulWatchEvents<T>> {
  readonly #method: WatchMethod<T>;
  readonly #query: QueryOptions;
  readonly #waitMs: number;
  readonly #minInterval: number;
  readonly #backoffBase: number;
  readonly #backoffMax: number;
  readonly #maxAttempts: number;
  readonly #random: () => number;
  /** Cheaper per watch than an `AbortController`; its `signal` is made only when a call needs one. */
  readonly #stop = new StopSignal();
  readonly #userSignal: AbortSignal | undefined;
  /** The method takes the `StopSignal` itself as `signal` (the client's shared KV reads do). */
  readonly #stopSignals: boolean;
  #index: number | undefined;
  /** The index the round in flight blocks on. */
  #before: number | undefined;
  #failures = 0;
  #stalls = 0;
  #lastStart = 0;
  /** Removed from the caller's signal when the watch ends. */
  #onUserAbort: (() => void) | undefined;
  #ended = false;
  #endError: ConsulError | undefined;
  /** Made when first asked for (an idle watch need not hold a promise). */
  #closed: Promise<ConsulError | undefined> | undefined;
  #resolveClosed: ((error: ConsulError | undefined) => void) | undefined;

  /**
   * @param stopSignals For the client: `method` accepts a core `StopSignal` as `signal` (and makes
   * a real `AbortSignal` of it where it needs one).
   */
  constructor(method: WatchMethod<T>, options: ConsulWatchOptions = {}, stopSignals = false) {
    super();
    const { wait, signal, minInterval, backoffBase, backoffMax, maxAttempts, random, ...query } = options;
    this.#method = method;
    this.#query = query;
    this.#waitMs = durationMs(wait ?? 60_000);
    this.#minInterval = minInterval ?? 100;
    this.#backoffBase = backoffBase ?? 200;
    this.#backoffMax = backoffMax ?? 30_000;
    this.#maxAttempts = maxAttempts ?? Infinity;
    this.#random = random ?? Math.random;
    this.#index = query.index;
    this.#userSignal = signal;
    this.#stopSignals = stopSignals;
    if (signal) {
      const onAbort = (): void => this.end();
      if (signal.aborted) queueMicrotask(onAbort);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#onUserAbort = onAbort;
      }
    }
    // Start on the next turn, so that listeners attached right after construction see everything.
    setImmediate(() => this.#round());
  }

  /** Resolves when the watch has ended: with the terminal error, or `undefined` when stopped. */
  get closed(): Promise<ConsulError | undefined> {
    if (this.#closed === undefined) {
      if (this.#ended) this.#closed = Promise.resolve(this.#endError);
      else this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  /** The index the next round blocks on (`undefined` before the first answer). */
  get index(): number | undefined {
    return this.#index;
  }

  /** Whether the watch has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Stops the watch: aborts the round in flight and emits `end`. */
  end(): void {
    if (this.#ended) return;
    this.#finish(undefined);
  }

  #finish(error: ConsulError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endError = error;
    if (this.#onUserAbort) this.#userSignal!.removeEventListener('abort', this.#onUserAbort);
    this.#onUserAbort = undefined;
    this.#stop.abort(new DOMException('This operation was aborted', 'AbortError'));
    this.emit('end', error);
    this.#resolveClosed?.(error);
    this.#resolveClosed = undefined;
  }

  #report(error: ConsulError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(`ConsulWatch: ${error.message}`, { code: error.code });
  }

  /** Waits `ms`: true, or false once the watch stops meanwhile. */
  #pause(ms: number): Promise<boolean> {
    const stop = this.#stop;
    if (stop.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onStop = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        stop.remove(onStop);
        resolve(true);
      }, ms);
      stop.add(onStop);
    });
  }

  /**
   * The loop, as callbacks rather than an async function: an idle watch then holds its pending
   * call and these fields, not a suspended frame (whose registers cost about 0.5 KB per watch).
   * Each round waits out `minInterval` since the last start, calls the method, and goes on in
   * {@link ConsulWatch.#answered}.
   */
  #round(): void {
    if (this.#ended) return;
    const gap = this.#lastStart + this.#minInterval - Date.now();
    if (gap > 0) void this.#pause(gap).then(this.#afterGap);
    else this.#call();
  }

  readonly #afterGap = (ok: boolean): void => {
    if (ok) this.#call();
  };

  readonly #resume = (ok: boolean): void => {
    if (ok) this.#round();
  };

  readonly #onResult = (result: ConsulResult<T>): void => {
    this.#answered(result, undefined);
  };

  readonly #onError = (error: unknown): void => {
    if (this.#ended) return;
    this.#answered(undefined, toConsulError(error));
  };

  #call(): void {
    this.#lastStart = Date.now();
    const before = this.#index;
    this.#before = before;
    let pending: Promise<ConsulResult<T>>;
    try {
      pending = this.#method({
        ...this.#query,
        ...(before !== undefined ? { index: before, wait: this.#waitMs } : {}),
        signal: this.#userSignal
          ? AbortSignal.any([this.#userSignal, this.#stop.signal])
          : this.#stopSignals
            ? (this.#stop as unknown as AbortSignal)
            : this.#stop.signal,
      });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.#onResult, this.#onError);
  }

  #answered(result: ConsulResult<T> | undefined, failure: ConsulError | undefined): void {
    let terminal = failure !== undefined && isTerminal(failure);
    if (result && result.meta.index === undefined) {
      failure = new ConsulError(
        'CONSUL_BAD_RESPONSE',
        'the watched endpoint sent no X-Consul-Index: it does not support blocking queries',
      );
      terminal = true;
    } else if (result && result.meta.index === 0) {
      // Consul never reports 0 for real data: a bad answer; keep the old index and back off.
      failure = new ConsulError('CONSUL_BAD_RESPONSE', 'the watched endpoint reported X-Consul-Index 0');
    }
    if (failure || !result) {
      failure ??= new ConsulError('CONSUL_BAD_RESPONSE', 'the watched call resolved nothing');
      this.#failures++;
      this.#report(failure);
      if (terminal || this.#failures >= this.#maxAttempts) {
        this.#finish(failure);
        return;
      }
      const delay = backoffDelay(this.#failures - 1, this.#backoffBase, this.#backoffMax, this.#random);
      void this.#pause(delay).then(this.#resume);
      return;
    }
    if (this.#ended) return;
    this.#failures = 0;
    const next = result.meta.index!;
    const before = this.#before;
    if (before !== undefined && next === before) {
      // No change. Early answers with the same index (unrelated writes on a shared index, or an
      // endpoint that does not block) would spin: back off a little, at most 2 s, so that real
      // changes are still seen promptly.
      this.#stalls = Date.now() - this.#lastStart < this.#waitMs / 2 ? this.#stalls + 1 : 0;
      const cap = Math.min(this.#backoffMax, 2000);
      const delay =
        this.#stalls > 0 ? backoffDelay(this.#stalls - 1, this.#backoffBase, cap, this.#random) : 0;
      if (delay > 0) void this.#pause(delay).then(this.#resume);
      else this.#round();
      return;
    }
    this.#stalls = 0;
    // Backwards (a restarted or restored server): the data is current, but blocking on the new
    // index could miss changes, so the next round re-reads from 0.
    this.#index = before !== undefined && next < before ? 0 : next;
    this.emit('change', result.data, result.meta);
    this.#round();
  }

  /** Iterates over the changes until the watch ends; a terminal error is thrown. Breaking out ends the watch. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsulResult<T>, void, undefined> {
    const queue: ConsulResult<T>[] = [];
    let wake: (() => void) | undefined;
    let ended = this.#ended;
    let failure: ConsulError | undefined;
    const onChange = (data: T, meta: QueryMeta): void => {
      queue.push({ data, meta });
      wake?.();
    };
    const onEnd = (error?: ConsulError): void => {
      ended = true;
      failure = error;
      wake?.();
    };
    this.on('change', onChange);
    this.on('end', onEnd);
    try {
      for (;;) {
        const item = queue.shift();
        if (item) {
          yield item;
          continue;
        }
        if (ended) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off('change', onChange);
      this.off('end', onEnd);
      this.end();
    }
  }
}

/** Starts a {@link ConsulWatch} over `method`. */
export function watch<T>(method: WatchMethod<T>, options?: ConsulWatchOptions): ConsulWatch<T> {
  return new ConsulWatch(method, options);
}
