import { MAX_TIMER_MS, TimeoutError, type Deadline } from '@polykv/core';

// A fast path, kept because it pays on S1 and S3 (Consul native get; client CPU per op): core's
// plain `deadline()` per call (an AbortController, a timer and an AbortSignal for undici) costs
// 1.26-1.46x the client CPU per get of this queue in an interleaved A/B with an A/A control at
// 0.96-1.09x (bench/findings.md, "The Consul call deadlines").

/**
 * The deadline of one call without a caller signal: what `deadline()` gives, without a timer, an
 * AbortController or an AbortSignal of its own. It is handed to undici as the request's `signal`
 * (undici accepts any EventEmitter-like object with `aborted`, `reason`, `once` and
 * `removeListener`), and the client's {@link CallDeadlines} fires it when its time is up.
 */
class CallDeadline implements Deadline {
  aborted = false;
  reason: unknown = undefined;
  /** The call settled: nothing to fire. */
  settled = false;
  next: CallDeadline | undefined = undefined;
  #listener: (() => void) | undefined = undefined;
  #more: (() => void)[] | undefined = undefined;

  constructor(
    readonly due: number,
    readonly timeoutMs: number,
    private readonly owner: CallDeadlines,
  ) {}

  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }

  on(_event: 'abort', listener: () => void): this {
    return this.once(_event, listener);
  }

  once(_event: 'abort', listener: () => void): this {
    if (this.#listener === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
    return this;
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#more) {
      const at = this.#more.indexOf(listener);
      if (at !== -1) this.#more.splice(at, 1);
    }
    return this;
  }

  error(cause?: unknown): TimeoutError {
    return new TimeoutError(`timed out after ${this.timeoutMs} ms`, { timeoutMs: this.timeoutMs, cause });
  }

  dispose(): void {
    this.settled = true;
    this.owner.settled(this);
  }

  fire(): void {
    if (this.settled || this.aborted) return;
    this.aborted = true;
    this.reason = new TimeoutError(`timed out after ${this.timeoutMs} ms`, { timeoutMs: this.timeoutMs });
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    first?.();
    if (more) for (const listener of more) listener();
  }
}

/**
 * The deadlines of a client's calls without a caller signal, under one timer. Calls with the same
 * timeout fall due in the order they started, so each timeout has a FIFO queue; the timer is armed
 * for the earliest head and re-armed when it fires, i.e. about once per timeout period under load
 * instead of a setTimeout/clearTimeout (and an AbortController) per call. The timer is unref'd: a
 * call in flight holds a socket (connecting, writing or reading), which keeps the process alive.
 */
export class CallDeadlines {
  readonly #queues = new Map<number, { head: CallDeadline | undefined; tail: CallDeadline | undefined }>();
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;

  start(timeoutMs: number, now: number): CallDeadline {
    const call = new CallDeadline(now + Math.max(1, Math.ceil(timeoutMs)), timeoutMs, this);
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      queue = { head: call, tail: call };
      this.#queues.set(timeoutMs, queue);
    } else if (queue.tail === undefined) {
      queue.head = queue.tail = call;
    } else {
      queue.tail.next = call;
      queue.tail = call;
    }
    if (call.due < this.#armedAt) this.#arm(call.due, now);
    return call;
  }

  /** Drops settled calls from the head of their queue, so a queue holds only calls in flight. */
  settled(call: CallDeadline): void {
    const queue = this.#queues.get(call.timeoutMs);
    if (queue?.head !== call) return;
    let head: CallDeadline | undefined = call;
    while (head?.settled) head = head.next;
    queue.head = head;
    if (head === undefined) {
      queue.tail = undefined;
      // Distinct timeouts (blocking queries derive theirs from `wait`) must not pile up.
      if (this.#queues.size > 8) this.#queues.delete(call.timeoutMs);
    }
  }

  /** Stops the timer once no call is in flight (after the client closed). */
  close(): void {
    for (const queue of this.#queues.values()) if (queue.head !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #arm(at: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    // Past setTimeout's limit the sweep runs early, finds nothing due and re-arms.
    this.#timer = setTimeout(() => this.#sweep(), Math.min(MAX_TIMER_MS, Math.max(1, at - now)));
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = Date.now();
    let earliest = Infinity;
    for (const queue of this.#queues.values()) {
      let head = queue.head;
      while (head !== undefined && (head.settled || head.due <= now)) {
        // Unlink first: firing settles the call (and calls `settled`) synchronously or later.
        const next = head.next;
        head.next = undefined;
        queue.head = next;
        if (next === undefined) queue.tail = undefined;
        head.fire();
        head = next;
      }
      if (head !== undefined && head.due < earliest) earliest = head.due;
    }
    if (earliest !== Infinity) this.#arm(earliest, now);
  }
}
