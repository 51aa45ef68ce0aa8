import {
  PollRegistry,
  SharedPoll,
  stopListening,
  type AbortListener,
  type AnySignal,
  type PollWaiter,
} from '@polykv/core';
import type { EtcdEmptyWait, EtcdResult, KeysApi } from '../api/keys.js';
import { EtcdError, isEtcdError } from '../errors.js';
import { abortedError, isTerminalWatchError, normalizeKey } from './wait-source.js';

export type AnyResult = EtcdResult<unknown>;

/**
 * One pending wait on a shared poll. Small on purpose: an idle watcher holds one of these. It is
 * its own abort listener (`handleEvent`): no closure and no context per wait.
 */
export class Caller implements PollWaiter {
  onAbort: AbortListener | undefined = undefined;

  constructor(
    readonly poll: DirectoryPoll,
    /** The key as the caller gave it (for the abort's error). */
    readonly asked: string,
    /** The key normalized (`a/b`). */
    readonly key: string,
    readonly recursive: boolean,
    readonly waitIndex: number,
    readonly signal: AnySignal | undefined,
    readonly resolve: (result: AnyResult | EtcdEmptyWait) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** Its signal aborted: it leaves the poll (or the backfill it waits on), and the wait rejects. */
  handleEvent(): void {
    if (this.poll.remove(this) || this.poll.removeBackfill(this)) {
      this.reject(abortedError(this.asked, this.signal!));
    }
  }
}

const DELETIONS = new Set(['delete', 'expire', 'compareAndDelete']);

/** `key` is `dir` or below it. */
export function within(key: string, dir: string): boolean {
  return dir === '' || key === dir || key.startsWith(`${dir}/`);
}

/** The part of `key` below `dir` has a segment starting with `_` (hidden from recursive watches). */
export function hiddenBelow(key: string, dir: string): boolean {
  const rest = dir === '' ? key : key.slice(dir.length + 1);
  return rest.startsWith('_') || rest.includes('/_');
}

export function parentOf(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash);
}

/** The event (on `eventKey`) reaches a watch on (`key`, `recursive`) (etcd's watcher hub rules). */
export function matches(result: AnyResult, eventKey: string, key: string, recursive: boolean): boolean {
  if (eventKey === key) return true;
  if (recursive && within(eventKey, key) && !hiddenBelow(eventKey, key)) return true;
  return DELETIONS.has(result.action) && within(key, eventKey);
}

/**
 * A catch-up poll for callers older than a poll's memory: it reads the directory's history from
 * `from` up to `until` (the poll's `coveredFrom` when it started), hands those events to its
 * callers, and then the poll's memory reaches back to `from`. It is one short request when the
 * history has an event in the gap (or after it); with no event under the directory since `from`,
 * it waits for the next one, as the poll does.
 */
export interface Backfill {
  readonly from: number;
  readonly until: number;
  readonly gap: AnyResult[];
  readonly gapKeys: string[];
  callers: Caller[];
}

/** errorCode 401 on the poll: its history is gone. */
interface Cleared {
  readonly kind: 'cleared';
  readonly error: EtcdError;
}

function historyGone(error: unknown): Cleared {
  if (isEtcdError(error) && error.code === 'ETCD_EVENT_INDEX_CLEARED') return { kind: 'cleared', error };
  throw error;
}

/** What a poll needs from its owner (`SharedWaits`). */
export interface PollOwner {
  readonly keys: KeysApi;
  readonly bufferSize: number;
  /** A caller whose poll cannot serve it: the same wait, private. */
  alone(caller: Caller): void;
  /** etcd refused a poll of `dir` (a 4xx): never poll it again. */
  refuse(dir: string): void;
}

export function settle(caller: Caller, result: AnyResult | EtcdEmptyWait | undefined, error: unknown): void {
  stopListening(caller);
  if (result) caller.resolve(result);
  else caller.reject(error);
}

/**
 * One recursive long poll on a directory, shared by every wait below it: core's {@link SharedPoll}
 * whose rounds are `GET /v2/keys/<dir>?wait=true&recursive=true&waitIndex=<cursor>`. It keeps the
 * events it saw (from `coveredFrom` on, every event under the directory), so a caller that comes
 * back with an index it has already passed is answered from memory.
 */
export class DirectoryPoll extends SharedPoll<AnyResult | EtcdEmptyWait | Cleared> {
  readonly #owner: PollOwner;
  cursor: number;
  /** From this index on, the buffer holds every event under `dir`. */
  coveredFrom: number;
  readonly buffer: AnyResult[] = [];
  /** The normalized key of each buffered event. */
  readonly bufferKeys: string[] = [];
  /** Waiting callers by key (an event looks up its key and its ancestors: O(depth)). */
  readonly callers = new Map<string, Caller[]>();
  size = 0;
  /** A failure happened since the last answer: the next answer wakes every waiting caller. */
  #failed = false;
  backfill: Backfill | undefined;

  constructor(
    owner: PollOwner,
    registry: PollRegistry<DirectoryPoll>,
    dir: string,
    from: number,
    linger: number,
  ) {
    super(registry, '', dir, linger);
    this.#owner = owner;
    this.cursor = from;
    this.coveredFrom = from;
  }

  get dir(): string {
    return this.folder;
  }

  add(caller: Caller): void {
    const list = this.callers.get(caller.key);
    if (list) list.push(caller);
    else this.callers.set(caller.key, [caller]);
    this.size++;
    this.joined();
  }

  remove(caller: Caller): boolean {
    const list = this.callers.get(caller.key);
    const at = list ? list.indexOf(caller) : -1;
    if (!list || at === -1) return false;
    if (list.length === 1) this.callers.delete(caller.key);
    else list.splice(at, 1);
    this.size--;
    this.left();
    return true;
  }

  addBackfill(backfill: Backfill, caller: Caller): void {
    backfill.callers.push(caller);
    this.joined();
  }

  removeBackfill(caller: Caller): boolean {
    const backfill = this.backfill;
    const at = backfill ? backfill.callers.indexOf(caller) : -1;
    if (at === -1) return false;
    backfill!.callers.splice(at, 1);
    this.left();
    return true;
  }

  /** Takes the backfill's callers that `keep` rejects out of it. */
  leaveBackfill(backfill: Backfill, keep: (caller: Caller) => boolean): Caller[] {
    const out: Caller[] = [];
    backfill.callers = backfill.callers.filter((caller) => keep(caller) || (out.push(caller), false));
    this.left(out.length);
    return out;
  }

  /** Removes and returns every waiting caller (not the backfill's). */
  drain(): Caller[] {
    const all: Caller[] = [];
    for (const list of this.callers.values()) all.push(...list);
    this.callers.clear();
    this.size = 0;
    this.left(all.length);
    return all;
  }

  /** The first buffered event at or after the caller's index that reaches it. */
  find(key: string, recursive: boolean, waitIndex: number): AnyResult | undefined {
    const { buffer } = this;
    let low = 0;
    let high = buffer.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (buffer[middle]!.node.modifiedIndex < waitIndex) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < buffer.length; i++)
      if (matches(buffer[i]!, this.bufferKeys[i]!, key, recursive)) return buffer[i];
    return undefined;
  }

  /** Callers the event reaches, removed from the map. */
  take(result: AnyResult, eventKey: string): Caller[] {
    const index = result.node.modifiedIndex;
    const out: Caller[] = [];
    const pick = (key: string, exact: boolean): void => {
      const list = this.callers.get(key);
      if (!list) return;
      const keep: Caller[] = [];
      for (const caller of list) {
        if ((exact || caller.recursive) && index >= caller.waitIndex) out.push(caller);
        else keep.push(caller);
      }
      if (keep.length === list.length) return;
      this.size -= list.length - keep.length;
      if (keep.length === 0) this.callers.delete(key);
      else this.callers.set(key, keep);
    };
    pick(eventKey, true);
    // Recursive callers above the key. Within the poll's directory no part is hidden (etcd does
    // not send the poll such events), so no hidden check is needed here.
    for (let key = eventKey; key.length > this.dir.length && key !== '';) {
      key = parentOf(key);
      if (!within(key, this.dir)) break;
      pick(key, false);
    }
    if (DELETIONS.has(result.action) && (result.node.dir || result.prevNode?.dir)) {
      // A directory went: every caller below it.
      for (const key of [...this.callers.keys()])
        if (key !== eventKey && within(key, eventKey)) pick(key, true);
    }
    this.left(out.length);
    return out;
  }

  #record(result: AnyResult, eventKey: string): void {
    const bufferSize = this.#owner.bufferSize;
    this.buffer.push(result);
    this.bufferKeys.push(eventKey);
    if (this.buffer.length > bufferSize + (bufferSize >> 2)) {
      const drop = this.buffer.length - bufferSize;
      this.coveredFrom = this.buffer[drop - 1]!.node.modifiedIndex + 1;
      this.buffer.splice(0, drop);
      this.bufferKeys.splice(0, drop);
    }
  }

  // The poll's rounds (core's watch loop runs them) -------------------------------------------

  next(): Promise<AnyResult | EtcdEmptyWait | Cleared> {
    return this.#owner.keys
      .wait<unknown>(this.dir, {
        recursive: true,
        waitIndex: this.cursor,
        signal: this.stopSignal.signal,
        maxRetries: 0,
      })
      .catch(historyGone);
  }

  apply(answer: AnyResult | EtcdEmptyWait | Cleared): void {
    if ('kind' in answer) {
      // History is gone: the callers resync; the poll starts over, empty, at etcd's index.
      for (const caller of this.drain()) settle(caller, undefined, answer.error);
      const from = (answer.error.index ?? this.cursor) + 1;
      this.buffer.length = 0;
      this.bufferKeys.length = 0;
      this.cursor = from;
      this.coveredFrom = from;
      return;
    }
    if (answer.action === null) {
      if (answer.etcdIndex !== undefined && answer.etcdIndex + 1 > this.cursor)
        this.cursor = answer.etcdIndex + 1;
    } else {
      this.cursor = answer.node.modifiedIndex + 1;
      const eventKey = normalizeKey(answer.node.key);
      this.#record(answer, eventKey);
      for (const caller of this.take(answer, eventKey)) settle(caller, answer, undefined);
    }
    if (this.#failed) {
      // Live again: wake every waiting caller with an empty answer at the poll's cursor, so that
      // its watch reports the connection back even when its key has no event.
      this.#failed = false;
      for (const caller of this.drain())
        settle(
          caller,
          { action: null, etcdIndex: Math.max(this.cursor, caller.waitIndex) - 1, host: answer.host },
          undefined,
        );
    }
  }

  isTerminal(error: unknown): boolean {
    return isTerminalWatchError(error);
  }

  /** A connection failure or 5xx: the callers hear of it (their watches back off and come back). */
  disconnected(cause: unknown): void {
    this.#failed = true;
    for (const caller of this.drain()) settle(caller, undefined, cause);
  }

  /** Refused on the directory (a 4xx): each caller goes on with its own wait on its key. */
  protected refused(): void {
    this.#owner.refuse(this.dir);
    for (const caller of this.drain()) this.#owner.alone(caller);
    const backfill = this.backfill;
    this.backfill = undefined;
    if (backfill) for (const caller of this.leaveBackfill(backfill, () => false)) this.#owner.alone(caller);
  }

  protected rejectAll(error: unknown): void {
    const backfill = this.backfill;
    this.backfill = undefined;
    const waiting = [...this.drain(), ...(backfill ? this.leaveBackfill(backfill, () => false) : [])];
    if (waiting.length === 0) return;
    const failure = error ?? new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client was closed' });
    for (const caller of waiting) settle(caller, undefined, failure);
  }
}
