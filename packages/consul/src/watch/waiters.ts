import type { AbortListener, AnySignal, PollWaiter } from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import { ConsulError } from '../errors.js';
import type { ConsulResult } from '../options.js';

/** What a waiter needs of its poll (`Poll` in folder-poll.ts). */
export interface WaiterPoll {
  /** Removes a caller (aborted, or its wait ran out). */
  drop(waiter: Waiter): void;
  /** Answers a caller whose wait ran out. */
  expire(waiter: Waiter): void;
}

/** The rejection of a read whose signal aborted. */
export function abortError(path: string, signal: AnySignal): ConsulError {
  return new ConsulError('CONSUL_ABORTED', `GET /v1/kv/${path}: aborted`, {
    method: 'GET',
    path: `/v1/kv/${path}`,
    cause: signal.reason,
  });
}

/**
 * One caller of `SharedKvReads.read`, waiting on a poll. It is its own abort listener
 * (`handleEvent`) and its wait runs out through its poll's {@link Expiries}: no closure, no context
 * and no timer per caller, which an idle watcher would hold for its whole wait (S6 in bench/).
 */
export class Waiter implements PollWaiter, Expiring {
  /** Its place in its poll's {@link Expiries}; -1 when not in it. */
  expiryAt = -1;
  onAbort: AbortListener | undefined = undefined;
  /**
   * Where the waiter is queued, to remove it in O(1): a queue of its poll, a {@link Parked} index
   * while it is alone at its path there, or that path's set; `undefined` once it left.
   */
  slot: Set<Waiter> | Parked | undefined = undefined;
  /** Joined while the poll was failing: answered (spuriously) once it lists again. */
  wakeOnRecovery = false;
  /** Its wait ran out before the poll's first listing: answered by that listing. */
  expired = false;

  constructor(
    readonly poll: WaiterPoll,
    readonly path: string,
    readonly recursive: boolean,
    /** The caller's index; 0 for "answer at once". */
    readonly index: number,
    /** When its wait runs out (`performance.now()` ms); 0 for never (a read with index 0). */
    readonly deadline: number,
    readonly signal: AnySignal | undefined,
    readonly resolve: (result: ConsulResult<KvPair[]>) => void,
    readonly reject: (error: ConsulError) => void,
  ) {}

  /** Its wait ran out (called by its poll's {@link Expiries}, one function for every waiter). */
  static expire(this: void, waiter: Waiter): void {
    waiter.poll.expire(waiter);
  }

  /** Its signal aborted: it leaves the poll, and the read rejects. */
  handleEvent(): void {
    this.poll.drop(this);
    this.reject(abortError(this.path, this.signal!));
  }
}

/**
 * The callers parked on one poll, by the path they read (exact keys in one index, recursive paths
 * in another). A path with one caller holds the caller itself, and a set only from the second one
 * on: most paths have one (S6 in bench/ parks thousands of watchers of a key each, and a set per
 * key was about 0.2 KB of every idle watcher).
 */
export class Parked {
  readonly #byPath = new Map<string, Waiter | Set<Waiter>>();

  /** How many paths have callers. */
  get size(): number {
    return this.#byPath.size;
  }

  add(waiter: Waiter): void {
    const there = this.#byPath.get(waiter.path);
    if (there === undefined) {
      this.#byPath.set(waiter.path, waiter);
      waiter.slot = this;
    } else if (there instanceof Set) {
      there.add(waiter);
      waiter.slot = there;
    } else {
      const both = new Set([there, waiter]);
      this.#byPath.set(waiter.path, both);
      there.slot = both;
      waiter.slot = both;
    }
  }

  /** Takes `waiter` out if it is parked here (its `slot` is left to the caller); false if it is not. */
  remove(waiter: Waiter): boolean {
    const there = this.#byPath.get(waiter.path);
    if (there === waiter) {
      this.#byPath.delete(waiter.path);
      return true;
    }
    if (!(there instanceof Set) || there !== waiter.slot) return false;
    there.delete(waiter);
    if (there.size === 0) this.#byPath.delete(waiter.path);
    return true;
  }

  /** Adds the callers parked at `path` to `into`. */
  collect(path: string, into: Set<Waiter>): void {
    const there = this.#byPath.get(path);
    if (there === undefined) return;
    if (there instanceof Set) for (const waiter of there) into.add(waiter);
    else into.add(there);
  }

  /** The callers parked at `path`, as a new array. */
  at(path: string): Waiter[] {
    const there = this.#byPath.get(path);
    return there === undefined ? [] : there instanceof Set ? [...there] : [there];
  }

  /** Every caller parked here, as a new array. */
  all(): Waiter[] {
    const all: Waiter[] = [];
    for (const there of this.#byPath.values()) {
      if (there instanceof Set) all.push(...there);
      else all.push(there);
    }
    return all;
  }
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What an {@link Expiries} list orders. */
export interface Expiring {
  /** When its wait runs out, in `performance.now()` ms. */
  readonly deadline: number;
  /** Its place in the list; -1 when not in one. */
  expiryAt: number;
}

/**
 * The waits of a poll's callers, earliest first, with one timer for the earliest: a `Timeout` per
 * parked caller (with its argument array) was about 0.15 KB of every idle watcher (S6 in bench/).
 * A binary heap, each item knowing its place: a caller answered or aborted leaves at once
 * (`remove`), so the list never holds on to a caller that is gone. Node's timers run on the event
 * loop's cached clock, a little behind `performance.now()`: a wait ends no earlier than asked, and
 * at most one timer period later than a `setTimeout` of its own would have ended it.
 */
export class Expiries<T extends Expiring> {
  readonly #heap: T[] = [];
  readonly #expire: (item: T) => void;
  #timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the timer is armed for; `Infinity` when it is not armed. */
  #armedFor = Infinity;

  /** `expire` is called for each item whose deadline passed, after it left the list. */
  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  add(item: T): void {
    const heap = this.#heap;
    item.expiryAt = heap.length;
    heap.push(item);
    this.#up(item.expiryAt);
    // Callers of one poll mostly share a wait, so a new deadline is mostly the latest: no re-arm.
    if (item.deadline < this.#armedFor) this.#arm(item.deadline);
  }

  /** Takes `item` out (no-op when it is not in the list). The timer stays: early, it re-arms. */
  remove(item: T): void {
    const at = item.expiryAt;
    if (at < 0) return;
    item.expiryAt = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (at < heap.length) {
      heap[at] = last;
      last.expiryAt = at;
      this.#down(at);
      this.#up(last.expiryAt);
    }
    if (heap.length === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedFor = Infinity;
    }
  }

  /** The timer's callback (one function for every list, no closure). */
  static #fire<T extends Expiring>(this: void, list: Expiries<T>): void {
    list.#timer = undefined;
    list.#armedFor = Infinity;
    const heap = list.#heap;
    const now = performance.now();
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      const item = heap[0]!;
      list.remove(item);
      list.#expire(item);
    }
    if (heap.length > 0 && list.#timer === undefined) list.#arm(heap[0]!.deadline);
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    // +1: the timer's clock may be behind by a fraction of a millisecond; a wait never ends early.
    // At most setTimeout's limit (longer fires at once, with a warning): a later deadline re-arms.
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - performance.now()) + 1));
    this.#timer = setTimeout(Expiries.#fire<T>, ms, this);
  }

  #up(at: number): void {
    const heap = this.#heap;
    const item = heap[at]!;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt]!;
      if (parent.deadline <= item.deadline) break;
      heap[at] = parent;
      parent.expiryAt = at;
      at = parentAt;
    }
    heap[at] = item;
    item.expiryAt = at;
  }

  #down(at: number): void {
    const heap = this.#heap;
    const item = heap[at]!;
    const half = heap.length >> 1;
    while (at < half) {
      let childAt = 2 * at + 1;
      const right = childAt + 1;
      if (right < heap.length && heap[right]!.deadline < heap[childAt]!.deadline) childAt = right;
      const child = heap[childAt]!;
      if (item.deadline <= child.deadline) break;
      heap[at] = child;
      child.expiryAt = at;
      at = childAt;
    }
    heap[at] = item;
    item.expiryAt = at;
  }
}
