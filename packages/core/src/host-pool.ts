import type { Delivery } from './net/classify.js';
import { backoffDelay, sleep } from './signal.js';

/**
 * What a failed attempt means for failover. `answer`: the server answered with a final error (no
 * failover). `not-sent`: the request never left (any call may go to the next host). `sent`: it may
 * have reached the server (only idempotent calls go to the next host).
 */
export type FailureKind = Delivery;

/** One host's failure, as {@link HostPool} collects them for its "every host failed" error. */
export interface PoolFailure {
  /** The host, as the pool's list holds it. */
  host: string;
  /** What the attempt on that host threw (the client's own error, given to `classify`). */
  error: unknown;
}

/** What {@link HostPool.run} needs to know about a call. */
export interface RunOptions {
  /**
   * True when the call is safe to replay: it then goes to the next host also after a failure where
   * the request may have reached the server.
   */
  idempotent: boolean;
  /** The caller's signal: its abort is final (never a reason to try another host) and ends a backoff wait. */
  signal: AbortSignal | undefined;
  /** Extra rounds over every host after the first, when every host failed (0: one round). */
  maxRetries: number;
  /** Names the call in errors (an HTTP method, an RPC name). */
  method: string;
  /** Names what the call is about in errors, with `method` (a request path, an RPC's path). */
  path: string;
}

/** How a client's errors plug into {@link HostPool}. */
export interface HostPoolOptions {
  /** Keep the hosts in the order given instead of shuffling them once (reproducible tests). */
  deterministicOrder: boolean;
  /** Source of randomness for the shuffle. */
  random: () => number;
  /** The wait ceiling after the first round where all hosts failed, in ms; doubles each round, jittered. */
  backoffMs: number;
  /** The largest wait between two rounds, in ms. */
  maxBackoffMs: number;
  /** Sorts a failed attempt's error (see {@link FailureKind}). */
  classify: (error: unknown) => FailureKind;
  /**
   * The error a non-idempotent call rejects with when its request may have reached the host: the
   * client's own error class, marked as possibly applied.
   */
  uncertain: (error: unknown, host: string, call: RunOptions) => Error;
  /** The error when every host failed in every round. */
  exhausted: (failures: readonly PoolFailure[], rounds: number, call: RunOptions) => Error;
}

/**
 * Failover, in one place, for every client that talks to a list of equivalent hosts (etcd v2 and
 * v3). The rules:
 * - hosts are shuffled once (unless `deterministicOrder`), and the last host that answered is
 *   pinned: every call starts there;
 * - a host that never got the request (connection refused, DNS failure, connect timeout, TLS
 *   handshake failure) is skipped for every call, idempotent or not;
 * - a host that may have received the request (connection reset or closed after sending, the
 *   attempt timed out, a 5xx answer or an "unavailable" status) is skipped only for idempotent
 *   calls; a non-idempotent call rejects with the client's `uncertain` error, because a replay could
 *   apply it twice or report a false compare failure;
 * - a final answer (an error the server meant, such as "key not found") is final: no failover;
 * - the caller's abort or timeout is final;
 * - when every host failed, the pool waits (capped exponential backoff, full jitter) and goes
 *   round again, `maxRetries` times, then rejects with the client's `exhausted` error carrying each
 *   host's cause. This rides out leader elections and restarts.
 * The client decides what its errors mean through `classify`; the pool never looks inside them.
 */
export class HostPool {
  #hosts: string[];
  #pin = 0;
  readonly #seeds: readonly string[];
  readonly #options: HostPoolOptions;

  /** `hosts` are the seeds: shuffled once unless `options.deterministicOrder`, the first one pinned. */
  constructor(hosts: readonly string[], options: HostPoolOptions) {
    this.#options = options;
    this.#hosts = options.deterministicOrder ? [...hosts] : shuffle([...hosts], options.random);
    this.#seeds = Object.freeze([...hosts]);
  }

  /** The hosts in try order. */
  get hosts(): readonly string[] {
    return this.#hosts;
  }

  /** The hosts the pool was made with, in the order given; {@link HostPool.setHosts} does not change them. */
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

  /** Where the next call starts in {@link HostPool.hosts} (see {@link recover}). */
  get pinned(): number {
    return this.#pin;
  }

  /** Runs `attempt` against hosts following the rules above. */
  run<T>(attempt: (host: string) => Promise<T>, options: RunOptions): Promise<T> {
    return this.#loop(attempt, options, this.#hosts, this.#pin, NO_ERROR);
  }

  /**
   * The rest of {@link run} when the caller made the first attempt itself, on `hosts[start]` (read
   * from {@link HostPool.hosts} and {@link pinned} just before), and it failed with `error`: the same rules
   * from there. The hot path of a request function costs no closure, options object or failure
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
    const failures: PoolFailure[] = [];
    const { classify, uncertain, exhausted } = this.#options;
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
          if (kind === 'sent' && !options.idempotent) throw uncertain(error, host, options);
          failures.push({ host, error });
        }
      }
      if (round >= options.maxRetries) throw exhausted([...failures], round + 1, options);
      await sleep(
        backoffDelay(round, this.#options.backoffMs, this.#options.maxBackoffMs, this.#options.random),
        options.signal,
      );
    }
  }
}

/** No first error (a fresh {@link HostPool.run}). */
const NO_ERROR = Symbol('no error');

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
