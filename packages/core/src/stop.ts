/**
 * A cheap stand-in for an `AbortController`/`AbortSignal` pair, for loops that run per watcher: a
 * Node `AbortSignal` is an `EventTarget` of about 0.7 KB (1 KB with a listener), which is most of
 * what an idle watcher would otherwise hold. A `StopSignal` is a few fields; listeners are kept in
 * one slot (an array only from the second on). Code that needs a real `AbortSignal` (an HTTP
 * request, `sleep`) takes {@link StopSignal.signal}, made on first use and aborted with the same
 * reason.
 */
export class StopSignal {
  #aborted = false;
  #reason: unknown = undefined;
  #listeners: AbortListener | AbortListener[] | undefined = undefined;
  #controller: AbortController | undefined = undefined;

  /** True once {@link StopSignal.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it stopped (`undefined` until then). */
  get reason(): unknown {
    return this.#reason;
  }

  /** A real `AbortSignal` that aborts with this one (made on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Calls `listener` once when this stops (never if it has already stopped). */
  add(listener: AbortListener): void {
    if (this.#aborted) return;
    const listeners = this.#listeners;
    if (listeners === undefined) this.#listeners = listener;
    else if (Array.isArray(listeners)) listeners.push(listener);
    else this.#listeners = [listeners, listener];
  }

  /** Removes a listener added with `add`. */
  remove(listener: AbortListener): void {
    const listeners = this.#listeners;
    if (listeners === listener) this.#listeners = undefined;
    else if (Array.isArray(listeners)) {
      const at = listeners.indexOf(listener);
      if (at !== -1) listeners.splice(at, 1);
      if (listeners.length === 0) this.#listeners = undefined;
    }
  }

  /** Stops (once): sets `reason`, aborts `signal` if it was made, then calls the listeners. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (Array.isArray(listeners)) for (const listener of listeners) call(listener);
    else if (listeners !== undefined) call(listeners);
  }
}

/**
 * What a signal calls when it aborts: a function, or an object's `handleEvent` (as `EventTarget`
 * takes it). An object that waits on a signal can so be its own listener, with no closure and no
 * context per waiter (S6 in bench/ parks thousands of them).
 */
export type AbortListener =
  | (() => void)
  | {
      /** Called once, when the signal aborts. */
      handleEvent(): void;
    };

function call(listener: AbortListener): void {
  if (typeof listener === 'function') listener();
  else listener.handleEvent();
}

/** Either kind of stop signal. */
export type AnySignal = AbortSignal | StopSignal;

/** Calls `listener` once when `signal` aborts; undo with {@link offAbort}. */
export function onAbort(signal: AnySignal, listener: AbortListener): void {
  if (signal instanceof StopSignal) signal.add(listener);
  else signal.addEventListener('abort', listener, { once: true });
}

/** Removes a listener added with {@link onAbort}. */
export function offAbort(signal: AnySignal, listener: AbortListener): void {
  if (signal instanceof StopSignal) signal.remove(listener);
  else signal.removeEventListener('abort', listener);
}

/** The `AbortSignal` for an API that needs a real one. */
export function abortSignal(signal: AnySignal): AbortSignal;
export function abortSignal(signal: AnySignal | undefined): AbortSignal | undefined;
export function abortSignal(signal: AnySignal | undefined): AbortSignal | undefined {
  return signal instanceof StopSignal ? signal.signal : signal;
}
