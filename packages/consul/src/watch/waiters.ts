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
 * (`handleEvent`) and its timer calls a function shared by all ({@link Waiter.expire}): no closure
 * and no context per caller, which an idle watcher would hold for its whole wait (S6 in bench/).
 */
export class Waiter implements PollWaiter {
  timer: NodeJS.Timeout | undefined = undefined;
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
    readonly signal: AnySignal | undefined,
    readonly resolve: (result: ConsulResult<KvPair[]>) => void,
    readonly reject: (error: ConsulError) => void,
  ) {}

  /** Its wait ran out (the timer's callback, one function for every waiter). */
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
