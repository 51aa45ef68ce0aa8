import { backoffDelay, classify as coreClassify, sleep, type Delivery } from '@polykv/core';
import { AllHostsFailedError, EtcdError, isEtcdError, type EtcdHostFailure } from './errors.js';

/**
 * Failover, in one place. The rules:
 * - hosts are shuffled once (unless `deterministicOrder`), and the last host that answered is
 *   pinned: every call starts there;
 * - a host that never got the request (connection refused, DNS failure, connect timeout, TLS
 *   handshake failure) is skipped for every call, idempotent or not;
 * - a host that may have received the request (connection reset or closed after sending, the
 *   attempt timed out, a 5xx answer) is skipped only for idempotent calls; a non-idempotent call
 *   (a POST, a CAS with prevIndex/prevValue/prevExist) rejects with that error, marked
 *   `uncertain`, because a replay could apply it twice or report a false compare failure;
 * - an answer with a 4xx status (an etcd error such as "key not found") is final: no failover;
 * - the caller's abort or timeout is final;
 * - when every host failed, the pool waits (capped exponential backoff, full jitter) and goes
 *   round again, `maxRetries` times, then rejects with {@link AllHostsFailedError} carrying each
 *   host's cause. This rides out leader elections and restarts.
 */
export class HostPool {
  #hosts: string[];
  #pin = 0;
  readonly #seeds: readonly string[];
  readonly #random: () => number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;

  constructor(
    hosts: readonly string[],
    options: { deterministicOrder: boolean; random: () => number; backoffMs: number; maxBackoffMs: number },
  ) {
    if (hosts.length === 0)
      throw new EtcdError({ code: 'ETCD_INVALID_ARGUMENT', message: 'no etcd host given' });
    this.#random = options.random;
    this.#hosts = options.deterministicOrder ? [...hosts] : shuffle([...hosts], this.#random);
    this.#seeds = Object.freeze([...hosts]);
    this.#backoffMs = options.backoffMs;
    this.#maxBackoffMs = options.maxBackoffMs;
  }

  /** The hosts in try order. */
  get hosts(): readonly string[] {
    return this.#hosts;
  }

  get seeds(): readonly string[] {
    return this.#seeds;
  }

  /** The host the next call starts with. */
  get current(): string {
    return this.#hosts[this.#pin]!;
  }

  /** Replaces the host list (machine refresh); keeps the pinned host pinned when it is still there. */
  setHosts(hosts: readonly string[]): void {
    if (hosts.length === 0) return;
    const current = this.current;
    const next = [...new Set(hosts)];
    this.#hosts = next;
    const at = next.indexOf(current);
    this.#pin = at === -1 ? 0 : at;
  }

  /** Where the next call starts in {@link hosts} (see {@link recover}). */
  get pinned(): number {
    return this.#pin;
  }

  /**
   * Runs `attempt` against hosts following the rules above. `attempt` must throw an
   * {@link EtcdError} for server answers (with `statusCode`) and anything else for transport
   * failures.
   */
  run<T>(attempt: (host: string) => Promise<T>, options: RunOptions): Promise<T> {
    return this.#loop(attempt, options, this.#hosts, this.#pin, NO_ERROR);
  }

  /**
   * The rest of {@link run} when the caller made the first attempt itself, on `hosts[start]` (read
   * from {@link hosts} and {@link pinned} just before), and it failed with `error`: the same rules
   * from there. The hot path of the request function costs no closure, options object or failure
   * list unless a host fails.
   */
  recover<T>(
    error: unknown,
    hosts: readonly string[],
    start: number,
    attempt: (host: string) => Promise<T>,
    options: RunOptions,
  ): Promise<T> {
    return this.#loop(attempt, options, hosts, start, error);
  }

  async #loop<T>(
    attempt: (host: string) => Promise<T>,
    options: RunOptions,
    firstHosts: readonly string[],
    firstStart: number,
    firstError: unknown,
  ): Promise<T> {
    const failures: EtcdHostFailure[] = [];
    for (let round = 0; ; round++) {
      failures.length = 0;
      const hosts = round === 0 ? firstHosts : this.#hosts;
      const start = round === 0 ? firstStart : this.#pin;
      for (let i = 0; i < hosts.length; i++) {
        const at = (start + i) % hosts.length;
        const host = hosts[at]!;
        try {
          if (round === 0 && i === 0 && firstError !== NO_ERROR) throw firstError;
          const result = await attempt(host);
          if (this.#hosts === hosts) this.#pin = at;
          return result;
        } catch (error) {
          if (options.signal?.aborted) throw error;
          const kind = classify(error);
          if (kind === 'answer') {
            if (this.#hosts === hosts) this.#pin = at;
            throw error;
          }
          // Move the pin on, so that the next calls stop trying the failed host first (this call
          // is not replayed when it is not idempotent: the next call is another request).
          if (this.#hosts === hosts && this.#pin === at) this.#pin = (at + 1) % hosts.length;
          if (kind === 'sent' && !options.idempotent)
            throw uncertain(error, host, options.method, options.path);
          failures.push({ host, error });
        }
      }
      if (round >= options.maxRetries)
        throw new AllHostsFailedError([...failures], round + 1, options.method, options.path);
      await sleep(backoffDelay(round, this.#backoffMs, this.#maxBackoffMs, this.#random), options.signal);
    }
  }
}

/** What {@link HostPool.run} needs to know about a call. */
export interface RunOptions {
  idempotent: boolean;
  signal: AbortSignal | undefined;
  maxRetries: number;
  method: string;
  path: string;
}

/** No first error (a fresh {@link HostPool.run}). */
const NO_ERROR = Symbol('no error');

/**
 * `answer`: the server answered with a final error. `not-sent`: the request never left (core's
 * connection classification, plus a redirect loop: no member took the request). `sent`: it may
 * have reached the server.
 */
export function classify(error: unknown): Delivery {
  if (isEtcdError(error)) {
    if (error.statusCode !== undefined) return coreClassify(error, error.statusCode);
    if (error.code === 'ETCD_TOO_MANY_REDIRECTS') return 'not-sent';
  }
  return coreClassify(error);
}

function uncertain(error: unknown, host: string, method: string, path: string): EtcdError {
  if (isEtcdError(error) && error.statusCode !== undefined) {
    // A 5xx answer to a write: etcd may still commit the proposal (e.g. "request timed out").
    return new EtcdError({
      code: error.code,
      message: `${error.message} (the request may have been applied; it was not replayed)`,
      ...(error.errorCode !== undefined ? { errorCode: error.errorCode } : {}),
      ...(error.etcdMessage !== undefined ? { etcdMessage: error.etcdMessage } : {}),
      ...(error.index !== undefined ? { index: error.index } : {}),
      statusCode: error.statusCode,
      cause: error,
      method,
      host,
      path,
      uncertain: true,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EtcdError({
    code: 'ETCD_CONNECTION',
    message: `connection to ${host} failed after the ${method} request was sent: ${message} (it may have been applied; it was not replayed)`,
    cause: error,
    method,
    host,
    path,
    uncertain: true,
  });
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
