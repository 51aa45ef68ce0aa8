import { backoffDelay, sleep } from '@polykv/core';
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

function isTerminal(error: ConsulError): boolean {
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
  readonly #stop = new AbortController();
  readonly #userSignal: AbortSignal | undefined;
  #index: number | undefined;
  #ended = false;
  /** Resolves when the watch has ended: with the terminal error, or `undefined` when stopped. */
  readonly closed: Promise<ConsulError | undefined>;
  #resolveClosed!: (error: ConsulError | undefined) => void;

  constructor(method: WatchMethod<T>, options: ConsulWatchOptions = {}) {
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
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const onAbort = (): void => this.end();
    if (signal?.aborted) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    // Start on the next turn, so that listeners attached right after construction see everything.
    setImmediate(() => void this.#run().finally(() => signal?.removeEventListener('abort', onAbort)));
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
    this.#stop.abort();
    this.emit('end', error);
    this.#resolveClosed(error);
  }

  #report(error: ConsulError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(`ConsulWatch: ${error.message}`, { code: error.code });
  }

  async #pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, this.#stop.signal);
      return true;
    } catch {
      return false;
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    let stalls = 0;
    let lastStart = 0;
    while (!this.#ended) {
      const gap = lastStart + this.#minInterval - Date.now();
      if (gap > 0 && !(await this.#pause(gap))) return;
      lastStart = Date.now();
      const before = this.#index;
      let result: ConsulResult<T> | undefined;
      let failure: ConsulError | undefined;
      let terminal = false;
      try {
        result = await this.#method({
          ...this.#query,
          ...(before !== undefined ? { index: before, wait: this.#waitMs } : {}),
          signal: this.#userSignal
            ? AbortSignal.any([this.#userSignal, this.#stop.signal])
            : this.#stop.signal,
        });
      } catch (error) {
        if (this.#ended) return;
        failure = toConsulError(error);
        terminal = isTerminal(failure);
      }
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
        failures++;
        this.#report(failure);
        if (terminal || failures >= this.#maxAttempts) {
          this.#finish(failure);
          return;
        }
        const delay = backoffDelay(failures - 1, this.#backoffBase, this.#backoffMax, this.#random);
        if (!(await this.#pause(delay))) return;
        continue;
      }
      if (this.#ended) return;
      failures = 0;
      const next = result.meta.index!;
      if (before !== undefined && next === before) {
        // No change. Early answers with the same index (unrelated writes on a shared index, or an
        // endpoint that does not block) would spin: back off a little, at most 2 s, so that real
        // changes are still seen promptly.
        stalls = Date.now() - lastStart < this.#waitMs / 2 ? stalls + 1 : 0;
        const cap = Math.min(this.#backoffMax, 2000);
        const delay = stalls > 0 ? backoffDelay(stalls - 1, this.#backoffBase, cap, this.#random) : 0;
        if (delay > 0 && !(await this.#pause(delay))) return;
        continue;
      }
      stalls = 0;
      // Backwards (a restarted or restored server): the data is current, but blocking on the new
      // index could miss changes, so the next round re-reads from 0.
      this.#index = before !== undefined && next < before ? 0 : next;
      this.emit('change', result.data, result.meta);
    }
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
