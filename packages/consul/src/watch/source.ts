import { backoffDelay, extend, type PollSource } from '@polykv/core';
import { lostLongPolls } from '../dispatchers.js';
import { ConsulError, isConsulError } from '../errors.js';
import type { ConsulResult, QueryOptions } from '../options.js';

/** Any read method of the client, given the options of one round (with `index` and `wait`). */
export type WatchMethod<T> = (options: QueryOptions) => Promise<ConsulResult<T>>;

const TERMINAL_STATUS = new Set([400, 401, 403, 404, 405]);

/** Errors no retry of a blocking query can fix (the watches and the shared KV polls). */
export function isTerminal(error: ConsulError): boolean {
  if (error.code === 'CONSUL_INVALID_ARGUMENT' || error.code === 'CONSUL_CLOSED') return true;
  if (error.code === 'CONSUL_PERMISSION_DENIED') return true;
  return error.statusCode !== undefined && TERMINAL_STATUS.has(error.statusCode);
}

/** A failure as a {@link ConsulError} (a watched method may throw anything). */
export function asConsulError(error: unknown, what: string): ConsulError {
  if (isConsulError(error)) return error;
  return new ConsulError('CONSUL_BAD_RESPONSE', `${what} failed: ${String(error)}`, { cause: error });
}

/**
 * What an answer is to the watch: the `first` one, a `change` (a blocking query answered with a new
 * index), or a `resync`: a plain read after a failure or an index reset, whose data the watch must
 * take as the new truth (diffed against what it delivered) whether or not the index moved.
 */
export type AnswerKind = 'first' | 'change' | 'resync';

/** Where a {@link ConsulBlockingSource}'s answers go. `moved`: the index differs from the last delivered one. */
export type BlockingHandler<T> = (
  result: ConsulResult<T>,
  kind: AnswerKind,
  moved: boolean,
) => void | Promise<void>;

/** Options of {@link ConsulBlockingSource}: the read's options and the blocking wait. */
export interface BlockingSourceOptions {
  /** The read's own options (token, dc, consistency, ...), without `index`, `wait` and `signal`. */
  query: QueryOptions;
  /** The index of the first round (a caller resuming); without it the first round reads at once. */
  index: number | undefined;
  /** How long each blocking query waits, in ms. */
  waitMs: number;
  /** The least time between the starts of two rounds, in ms. */
  minInterval: number;
  /** The pause after answers that come back early with an unchanged index: from `backoffBase`... */
  backoffBase: number;
  /** ...up to `min(backoffMax, 2 s)`. */
  backoffMax: number;
  /** Source of randomness for the backoff jitter (`Math.random` when unset). */
  random: (() => number) | undefined;
  /** What each request carries as `signal` (the watch's stop, as the method takes it). */
  signal: QueryOptions['signal'];
}

/**
 * The Consul poll source: a blocking query per round over any read method, with Consul's index
 * rules. A round blocks on the last index (`?index=&wait=`), except that it reads at once (no
 * `index`) on the first round, after a failure, and after an index reset: a restarted agent's
 * indexes start over far below the watch's, and a blocking query on the old index would be held
 * for the whole `wait` (60 s) while the agent's data moves on (issue 13.1); and after an agent closed
 * a long poll between two rounds (`lostLongPolls` in dispatchers.ts), where there was no failure to see. The read after a
 * failure is consistent, and so is the one after a blocking answer whose index went backwards: that
 * answer is not delivered, the consistent read says whether the agent really started over (a
 * restarted or restored server) or a stale server answered; an index of 0 is a bad answer (the round fails, the index is kept); an unchanged
 * index delivers nothing, and when it comes back early the next round waits a little (at most 2 s)
 * so an endpoint that does not block cannot make the watch spin. A missing index is terminal: the
 * endpoint does not support blocking queries.
 */
export class ConsulBlockingSource<T> implements PollSource<ConsulResult<T>> {
  readonly #method: WatchMethod<T> | undefined;
  // The options as fields, not the object: one object less per idle watch (S6 in bench/).
  readonly #query: QueryOptions;
  readonly #waitMs: number;
  readonly #minInterval: number;
  readonly #backoffBase: number;
  readonly #backoffMax: number;
  readonly #random: (() => number) | undefined;
  readonly #signal: QueryOptions['signal'];
  readonly #handler: BlockingHandler<T> | undefined;
  /** The index to block on. */
  #index: number | undefined;
  /** The index of the last delivered answer. */
  #delivered: number | undefined = undefined;
  /** The index went backwards: the next round reads at once. */
  #reset = false;
  /** The index the round in flight blocks on (`undefined`: a plain read). */
  #sent: number | undefined = undefined;
  /** The round in flight follows a failure. */
  #afterFailure = false;
  /** `lostLongPolls()` when the last round was sent. */
  #lostConnections = lostLongPolls();
  /** The round in flight is a read after an agent closed a long poll: the index it must not fall below. */
  #checking: number | undefined = undefined;
  #lastStart = 0;
  #stalls = 0;
  /** What ends the watch: an answer without an index, or a throwing handler (a value it cannot decode). */
  #fatal: unknown = undefined;

  /**
   * A source for core's watch loop; it sends nothing until the loop asks for a round.
   * @param method The read to repeat; it must pass the options it is given on to the endpoint.
   * `undefined` for a subclass that overrides {@link ConsulBlockingSource.read}.
   * @param handler Where answers go (unless a subclass overrides {@link ConsulBlockingSource.deliver}).
   */
  constructor(
    method: WatchMethod<T> | undefined,
    options: BlockingSourceOptions,
    handler?: BlockingHandler<T>,
  ) {
    this.#method = method;
    this.#query = options.query;
    this.#waitMs = options.waitMs;
    this.#minInterval = options.minInterval;
    this.#backoffBase = options.backoffBase;
    this.#backoffMax = options.backoffMax;
    this.#random = options.random;
    this.#signal = options.signal;
    this.#handler = handler;
    this.#index = options.index;
  }

  /** Sends one round's read: the `method` given to the constructor. */
  protected read(options: QueryOptions): Promise<ConsulResult<T>> {
    if (this.#method === undefined)
      return Promise.reject(new TypeError('ConsulBlockingSource: no method and no read override'));
    return this.#method(options);
  }

  /** Hands an answer on; see {@link BlockingHandler}. */
  protected deliver(result: ConsulResult<T>, kind: AnswerKind, moved: boolean): void | Promise<void> {
    return this.#handler?.(result, kind, moved);
  }

  /** The index the next round blocks on (`undefined` before the first answer). */
  get index(): number | undefined {
    return this.#index;
  }

  delay(): number {
    const gap = this.#lastStart + this.#minInterval - Date.now();
    const stall =
      this.#stalls > 0
        ? backoffDelay(this.#stalls - 1, this.#backoffBase, Math.min(this.#backoffMax, 2000), this.#random)
        : 0;
    return Math.max(gap, stall);
  }

  next(failures: number): Promise<ConsulResult<T>> {
    this.#lastStart = Date.now();
    const query = this.#query;
    const signal = this.#signal;
    const recheck = failures > 0 || this.#reset;
    // An agent closed a long poll since the last round (maybe this watch's, between two rounds): it
    // may have restarted with lower indexes, so read at once; a lower index is then a reset.
    const lost = lostLongPolls();
    const reconnected = lost !== this.#lostConnections;
    this.#lostConnections = lost;
    const index = recheck || reconnected ? undefined : this.#index;
    this.#sent = index;
    this.#afterFailure = recheck;
    this.#checking = reconnected && !recheck ? this.#index : undefined;
    if (index !== undefined) return this.read(extend(query, { index, wait: this.#waitMs, signal }));
    // A read after a failure or a backwards index is consistent (a quorum read on the leader):
    // during faults a paused old leader answers from stale state, and taking that as the truth
    // would report deletes and duplicates that never happened.
    return this.read(
      recheck && !query.stale ? extend(query, { consistent: true, signal }) : extend(query, { signal }),
    );
  }

  apply(result: ConsulResult<T>): void | Promise<void> {
    const next = result.meta.index;
    if (next === undefined) {
      this.#fatal = new ConsulError(
        'CONSUL_BAD_RESPONSE',
        'the watched endpoint sent no X-Consul-Index: it does not support blocking queries',
      );
      throw this.#fatal;
    }
    // Consul never reports 0 for real data: a bad answer; keep the old index and back off.
    if (next === 0)
      throw new ConsulError('CONSUL_BAD_RESPONSE', 'the watched endpoint reported X-Consul-Index 0');
    const sent = this.#sent;
    const early = sent !== undefined && next === sent && Date.now() - this.#lastStart < this.#waitMs / 2;
    this.#stalls = early ? this.#stalls + 1 : 0;
    const floor = sent ?? this.#checking;
    const backwards = floor !== undefined && next < floor;
    this.#reset = backwards;
    // A blocking answer that went backwards is not believed yet: the next round (a consistent read)
    // says whether the agent really started over.
    if (backwards) return;
    this.#index = next;
    const kind: AnswerKind =
      this.#delivered === undefined ? 'first' : this.#afterFailure ? 'resync' : 'change';
    const moved = next !== this.#delivered;
    if (!moved && kind === 'change') return;
    this.#delivered = next;
    // The handler's own failure is not the connection's: retrying would skip the answer it failed on.
    let delivered: void | Promise<void>;
    try {
      delivered = this.deliver(result, kind, moved);
    } catch (error) {
      this.#fatal = error;
      throw error;
    }
    return delivered?.catch((error: unknown) => {
      this.#fatal = error;
      throw error;
    });
  }

  isTerminal(error: unknown): boolean {
    return (error !== undefined && error === this.#fatal) || (isConsulError(error) && isTerminal(error));
  }
}
