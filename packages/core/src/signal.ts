import { setMaxListeners } from 'node:events';
import { AbortError, TimeoutError } from './errors.js';

/** The longest delay `setTimeout` honours; longer ones fire at once (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options every public method of every polykv API ends with. */
export interface CallOptions {
  /** Aborts the call; it rejects with an `ABORTED` error whose `cause` is `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Milliseconds before the call rejects with a `TIMEOUT` error. For long polls this bounds the
   * whole wait. Zero or absent means the client's default.
   */
  timeout?: number;
}

/** A signal that combines the caller's signal with a timeout, and says which of the two fired. */
export interface Deadline {
  /**
   * The signal to give the operation: it aborts with the caller's signal or when the timeout runs
   * out; `undefined` when there is neither.
   */
  readonly signal: AbortSignal | undefined;
  /** Turns the abort reason into the typed error for this call. */
  error(cause?: unknown): TimeoutError | AbortError;
  /** Removes the timer; call it when the operation settles. */
  dispose(): void;
}

const noDeadline: Deadline = {
  signal: undefined,
  error: (cause) => new AbortError(undefined, { cause }),
  dispose: () => undefined,
};

/**
 * Derives one signal from the caller's `signal` and a timeout in ms (`undefined`/`0`/`Infinity`:
 * none). Sub-millisecond timeouts round up to 1 ms so a tiny timeout still waits for the loop.
 */
export function deadline(signal: AbortSignal | undefined, timeoutMs: number | undefined): Deadline {
  const hasTimeout = timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs);
  if (!hasTimeout) {
    if (!signal) return noDeadline;
    // The caller's signal as it is: no listener per call, so any number of calls can share one signal.
    return {
      signal,
      error: (cause) => new AbortError(undefined, { cause: signal.reason ?? cause }),
      dispose: () => undefined,
    };
  }
  const timer = new AbortController();
  // The timer's controller follows the caller's signal (not AbortSignal.any: see `follow`).
  const unfollow = signal ? follow(signal, timer) : undefined;
  let timedOut = false;
  // A referenced timer (not AbortSignal.timeout): a call that waits must keep the process alive.
  const handle = setTimeout(
    () => {
      timedOut = true;
      timer.abort(new TimeoutError(`timed out after ${timeoutMs} ms`, { timeoutMs }));
    },
    Math.max(1, Math.ceil(timeoutMs)),
  );
  return {
    signal: timer.signal,
    error(cause) {
      if (timedOut) return new TimeoutError(`timed out after ${timeoutMs} ms`, { timeoutMs, cause });
      return new AbortError(undefined, { cause: signal?.reason ?? cause });
    },
    dispose() {
      unfollow?.();
      clearTimeout(handle);
    },
  };
}

/** What {@link follow} can make abort: an `AbortController`, or anything with an `abort(reason)`. */
export interface Follower {
  /** Called once, with the source's reason, when the source aborts. */
  abort(reason?: unknown): void;
}

/** The followers of each signal (see {@link follow}). */
const followers = new WeakMap<AbortSignal, Set<Follower>>();

/**
 * Makes `follower` abort, with the same reason, when `source` aborts (at once if it has already);
 * returns the function that stops following. Call it when the follower's operation settles.
 *
 * Why not `AbortSignal.any`: on Node 20 the source keeps a reference to every signal combined from
 * it for as long as the source lives, so one long-lived signal given to every call (an
 * application's shutdown signal, a mirror's stop signal) grew by about 50 bytes per call, without
 * end (a million calls: 50 MB). Here a source has one 'abort' listener, whatever the number of
 * followers, and a follower is gone from it once it stops following.
 */
export function follow(source: AbortSignal, follower: Follower): () => void {
  if (source.aborted) {
    follower.abort(source.reason);
    return () => undefined;
  }
  let set = followers.get(source);
  if (set === undefined) {
    const created = new Set<Follower>();
    source.addEventListener(
      'abort',
      () => {
        for (const each of created) each.abort(source.reason);
        created.clear();
      },
      { once: true },
    );
    followers.set(source, created);
    set = created;
  }
  set.add(follower);
  return () => {
    set.delete(follower);
  };
}

/** What {@link anySignal} returns. */
export interface CombinedSignal {
  /** Aborts, with the same reason, when any of the sources does. */
  readonly signal: AbortSignal;
  /** Stops following the sources: call it when the operation that uses `signal` settles. */
  dispose(): void;
}

/** A signal that aborts when any of `signals` does (see {@link follow}). */
export function anySignal(signals: readonly AbortSignal[]): CombinedSignal {
  const combined = new AbortController();
  const unfollows = signals.map((signal) => follow(signal, combined));
  return {
    signal: combined.signal,
    dispose: () => {
      for (const unfollow of unfollows) unfollow();
    },
  };
}

/** Rejects with the typed abort error when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof TimeoutError || reason instanceof AbortError) throw reason;
    throw new AbortError(undefined, { cause: reason });
  }
}

/** Resolves after `ms`, or rejects with the typed abort error when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(undefined, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Capped exponential backoff with full jitter: attempt 0 waits up to `baseMs`. */
export function backoffDelay(attempt: number, baseMs = 100, capMs = 10_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A signal that follows `signal` and may carry any number of listeners. `copy` hands one signal to
 * up to `concurrency` Store calls at once, and each call listens to it: on the caller's own signal,
 * more than ten print Node's MaxListenersExceededWarning. This one adds a single listener to it
 * (see {@link follow}); `dispose` once the calls are done.
 */
export function fanOutSignal(signal: AbortSignal): CombinedSignal {
  const follower = anySignal([signal]);
  setMaxListeners(0, follower.signal);
  return follower;
}
