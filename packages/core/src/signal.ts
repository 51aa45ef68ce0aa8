import { AbortError, TimeoutError } from './errors.js';

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
  if (!hasTimeout && !signal) return noDeadline;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  if (hasTimeout && !controller.signal.aborted) {
    timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort(new TimeoutError(`timed out after ${timeoutMs} ms`, { timeoutMs }));
      },
      Math.max(1, Math.ceil(timeoutMs)),
    );
  }
  return {
    signal: controller.signal,
    error(cause) {
      if (timedOut) return new TimeoutError(`timed out after ${timeoutMs} ms`, { timeoutMs, cause });
      return new AbortError(undefined, { cause: signal?.reason ?? cause });
    },
    dispose() {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
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
