import { backoffDelay } from '../signal.js';
import type { StopSignal } from '../stop.js';

/**
 * What a backend contributes to a watch: how to ask for the next change and what an answer means.
 * The loop ({@link runWatchLoop}) owns everything else: retries with capped jittered backoff,
 * `connected`/`disconnected`, terminal errors, and the stop.
 *
 * Each round is `next()` (the request: a long poll, a blocking query, the next message of a watch
 * stream, or a re-read), then `apply()` of its answer (the cursor moves, events go out). Examples:
 * etcd v2 (`packages/etcd/src/watch/source.ts`: `wait=true&waitIndex=`, the event index, a re-read
 * and diff after errorCode 401), Consul (`packages/consul/src/watch/source.ts`: a blocking read,
 * its index rules, a diff of listings), and the shared polls themselves
 * ({@link SharedPoll}). A stream-based source (etcd v3's watch stream) answers `next()` with the next
 * message of its stream, opening the stream when it has none (after a failure: from the last
 * revision + 1), and turns a compaction into a re-read, as etcd v2 does with 401.
 */
export interface PollSource<A> {
  /**
   * The round's request. `failures` counts the failed rounds just before this one (0 normally): a
   * source whose cursor may be stale after a failure (Consul's index after an agent restart) asks
   * without blocking then. Rejects when the round failed. It must settle once the watch's stop
   * aborts (the request carries the stop as its signal): the loop ends only then.
   */
  next(failures: number): Promise<A>;
  /**
   * Turns an answer into events and moves the source's cursor. A promise when it needs more
   * requests first; throwing (or rejecting) fails the round like a failed request.
   */
  apply(answer: A): void | Promise<void>;
  /** Errors no retry can fix: they end the watch. */
  isTerminal(error: unknown): boolean;
  /** How long to wait before the next request, in ms (a rate limit, a pause after early answers). */
  delay?(): number;
}

/** What the loop tells its owner. */
export interface LoopReport {
  /** A round was answered and applied: the watch is live. Called after every good round. */
  connected(): void;
  /** A round failed with `cause`; the loop retries after a backoff. `attempt`: 0 for the first in a row. */
  disconnected(cause: unknown, attempt: number): void;
}

/** The retry rhythm: exponential backoff from `backoffMs` up to `maxBackoffMs`, jittered. */
export interface WatchTiming {
  /** The wait ceiling after the first failure, in ms; it doubles with each failure in a row (jittered). */
  readonly backoffMs: number;
  /** The largest wait between two attempts, in ms. */
  readonly maxBackoffMs: number;
  /** @defaultValue Math.random */
  readonly random?: () => number;
}

/** Options of {@link runWatchLoop}: the stop, the retry timing and the failure cap. */
export interface WatchLoopOptions {
  /** Ends the loop: it resolves once stopped. */
  stop: StopSignal;
  /** Shared, not copied: an idle watch holds only a reference. */
  timing: WatchTiming;
  /** Give up after this many failures in a row (the last one rejects the loop). @defaultValue Infinity */
  maxFailures?: number;
}

/**
 * Runs `source` round after round until `options.stop` aborts (then it resolves) or a terminal
 * error (then it rejects with it). A failed round is reported to `report.disconnected` and retried
 * after `backoffDelay(attempt, backoffMs, maxBackoffMs)`; a good one to `report.connected`.
 */
export function runWatchLoop<A>(
  source: PollSource<A>,
  report: LoopReport,
  options: WatchLoopOptions,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    startWatchLoop(source, report, options, (failed, error) => (failed ? reject(error) : resolve()));
  });
}

/**
 * {@link runWatchLoop} with a callback instead of a promise: `end(false)` once stopped,
 * `end(true, error)` on a terminal error. The native watch surfaces use it (their
 * `WatchEmitter` takes `end` directly): no promise and settle functions per idle watch (S6).
 */
export function startWatchLoop<A>(
  source: PollSource<A>,
  report: LoopReport,
  options: WatchLoopOptions,
  end: (failed: boolean, error: unknown) => void,
): void {
  new WatchLoop<A>(source, report, options, end).round();
}

/**
 * Waits `ms`: resolves true, or false as soon as `stop` aborts (no `AbortSignal` needed).
 */
export function pause(ms: number, stop: StopSignal): Promise<boolean> {
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
 * request and this object, not suspended frames (an async loop over an async round costs about
 * 0.6 KB more per idle watcher, a fifth of S6's heap per watcher in bench/).
 *
 * One round: {@link WatchLoop.round} waits out the source's delay, {@link WatchLoop.send} asks,
 * {@link WatchLoop.answered} applies the answer and goes round again; {@link WatchLoop.failed}
 * handles a failed request or a failed apply.
 */
class WatchLoop<A> {
  readonly #source: PollSource<A>;
  readonly #report: LoopReport;
  readonly #stop: StopSignal;
  readonly #timing: WatchTiming;
  readonly #maxFailures: number;
  readonly #end: (failed: boolean, error: unknown) => void;
  #failures = 0;

  constructor(
    source: PollSource<A>,
    report: LoopReport,
    options: WatchLoopOptions,
    end: (failed: boolean, error: unknown) => void,
  ) {
    this.#source = source;
    this.#report = report;
    this.#stop = options.stop;
    this.#timing = options.timing;
    this.#maxFailures = options.maxFailures ?? Infinity;
    this.#end = end;
  }

  #stopped(): void {
    this.#end(false, undefined);
  }

  #failed(error: unknown): void {
    this.#end(true, error);
  }

  round(): void {
    if (this.#stop.aborted) {
      this.#stopped();
      return;
    }
    const delay = this.#source.delay?.() ?? 0;
    // Closures made for the pause only: an idle watch holds just `answered` and `failed`.
    if (delay > 0) void pause(delay, this.#stop).then((ok) => (ok ? this.send() : this.#stopped()));
    else this.send();
  }

  send(): void {
    let pending: Promise<A>;
    try {
      pending = this.#source.next(this.#failures);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(this.answered, this.failed);
  }

  readonly answered = (answer: A): void => {
    if (this.#stop.aborted) {
      this.#stopped();
      return;
    }
    let applied: void | Promise<void>;
    try {
      applied = this.#source.apply(answer);
    } catch (error) {
      this.failed(error);
      return;
    }
    if (applied) applied.then(() => this.#applied(), this.failed);
    else this.#applied();
  };

  #applied(): void {
    this.#failures = 0;
    try {
      this.#report.connected();
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.round();
  }

  readonly failed = (error: unknown): void => {
    if (this.#stop.aborted) {
      this.#stopped();
      return;
    }
    const attempt = this.#failures++;
    if (this.#source.isTerminal(error) || this.#failures >= this.#maxFailures) {
      this.#failed(error);
      return;
    }
    try {
      this.#report.disconnected(error, attempt);
    } catch (thrown) {
      this.#failed(thrown);
      return;
    }
    const { backoffMs, maxBackoffMs, random } = this.#timing;
    void pause(backoffDelay(attempt, backoffMs, maxBackoffMs, random), this.#stop).then((ok) =>
      ok ? this.round() : this.#stopped(),
    );
  };
}
