import {
  extend,
  backoffDelay,
  PollRegistry,
  SharedPoll,
  stopListening,
  type WatchTiming,
} from '@polykv/core';
import type { Kv, KvPair } from '../api/kv.js';
import { ConsulError, isConsulError } from '../errors.js';
import type { ConsulResult, QueryMeta, QueryOptions } from '../options.js';
import { byKey, lowerBound, samePair } from './listing.js';
import { asConsulError, isTerminal } from './source.js';
import { Expiries, Parked, Waiter } from './waiters.js';

/** What a poll shares with its owner. */
export interface PollHost {
  readonly kv: Kv;
  readonly minInterval: number;
  readonly wait: number;
  readonly deletionLog: number;
  /** Runs `task` after every task queued before it (the verification reads of all polls). */
  serial<T>(task: () => Promise<T>): Promise<T>;
}

/** The retry rhythm of a failing poll. */
const POLL_TIMING: WatchTiming = { backoffMs: 200, maxBackoffMs: 5000 };

/**
 * One folder `D` polled for every caller with the same answer-changing options: core's
 * {@link SharedPoll} whose rounds are `GET /v1/kv/D/?recurse&index=&wait=` (a plain listing after a
 * failure: it shows an index reset at once), with answers diffed by key, waking only the callers
 * whose path covers a changed or deleted key.
 */
export class Poll extends SharedPoll<ConsulResult<KvPair[]>> {
  /** `D/`: the listed prefix. */
  readonly prefix: string;
  /** The poll's index: that of the newest listing applied; 0 before the first. */
  index = 0;
  /** The newest listing's metadata, frozen: every caller that listing answers gets this one object. */
  #meta: Readonly<QueryMeta> | undefined;
  /** The newest listing, sorted by key. */
  #pairs: KvPair[] = [];
  /** Per present key: the index of its last change (its ModifyIndex, or the poll's index if only other fields moved). */
  readonly #changedAt = new Map<string, number>();
  /** Deletions seen, oldest first: (key, poll index of the listing that lacked it). */
  #deletions: { key: string; index: number }[] = [];
  /** Deletions are known for callers whose index is at least this (first listing, trimmed log). */
  #vouchFrom = Infinity;
  /** The index went backwards at least once (a restarted agent, a restored snapshot). */
  #resets = 0;
  #failing = false;
  /**
   * A folder listing leaves out keys the token may not read, silently. An exact key absent from it
   * is read once on its own (in the background): a 403 there is kept and rejects its callers.
   */
  readonly #denied = new Map<string, ConsulError>();
  readonly #verified = new Set<string>();

  /** Waiting callers by exact key, and recursive ones by path. */
  readonly #exact = new Parked();
  readonly #recursive = new Parked();
  /** Callers that want a fresh answer (index 0): served by the next listing that starts after them. */
  #fresh = new Set<Waiter>();
  /** Callers with an index that arrived before the first listing. */
  readonly #pending = new Set<Waiter>();
  /** The waits of the callers with a deadline, one timer for all. */
  readonly #expiries = new Expiries<Waiter>(Waiter.expire);
  #freshInFlight = false;
  /** The loop's round in flight: the index it was sent at, when it started, whether it was a plain listing. */
  #sent = 0;
  #relist = false;
  /** A blocking answer went backwards: the next round re-lists consistently before believing it. */
  #checkReset = false;
  #lastStart = 0;
  /** Answers in a row that came back early with an unchanged index. */
  #stalls = 0;

  constructor(
    readonly host: PollHost,
    registry: PollRegistry<Poll>,
    id: string,
    folder: string,
    linger: number,
    readonly query: QueryOptions,
  ) {
    super(registry, id, folder, linger);
    this.prefix = `${folder}/`;
  }

  get callers(): number {
    return this.waiting;
  }

  add(waiter: Waiter): void {
    this.joined();
    if (waiter.deadline !== 0) this.#expiries.add(waiter);
    const denied = waiter.recursive ? undefined : this.#denied.get(waiter.path);
    if (denied) {
      this.#released(waiter);
      waiter.reject(denied);
      return;
    }
    if (waiter.index === 0) {
      this.#queue(this.#fresh, waiter);
      this.#scheduleFresh();
      return;
    }
    if (this.index === 0) {
      this.#queue(this.#pending, waiter);
      this.#scheduleFresh();
      return;
    }
    if (this.#changedSince(waiter)) {
      this.#answer(waiter);
      return;
    }
    this.#park(waiter);
  }

  /** Removes a caller (aborted, or its wait ran out). */
  drop(waiter: Waiter): void {
    const slot = waiter.slot;
    if (!slot) return;
    // Parked (by path), or else in one of the queues (fresh, pending).
    if (!(waiter.recursive ? this.#recursive : this.#exact).remove(waiter))
      (slot as Set<Waiter>).delete(waiter);
    waiter.slot = undefined;
    this.#released(waiter);
  }

  /** Answers a caller whose wait ran out with the current data and index, as Consul does. */
  expire(waiter: Waiter): void {
    if (!waiter.slot) return;
    if (this.index === 0) {
      // Nothing to answer with yet: the first listing answers it.
      waiter.expired = true;
      return;
    }
    this.drop(waiter);
    waiter.resolve(this.#result(waiter));
  }

  protected rejectAll(error: unknown): void {
    const failure =
      error === undefined
        ? new ConsulError('CONSUL_CLOSED', 'the Consul client is closed', { method: 'GET' })
        : asConsulError(error, 'a shared KV poll');
    this.#fail(this.#all(), failure);
  }

  /** A terminal error (a 403 on the folder...): the poll stops and its callers get the error. */
  protected refused(): void {}

  // ---------------------------------------------------------------------------------------------

  /** Takes each waiter out (those still waiting) and rejects it with `failure`. */
  #fail(waiters: Iterable<Waiter>, failure: ConsulError, keep?: (waiter: Waiter) => boolean): void {
    for (const waiter of [...waiters]) {
      if (!waiter.slot || keep?.(waiter)) continue;
      this.drop(waiter);
      waiter.reject(failure);
    }
  }

  #queue(slot: Set<Waiter>, waiter: Waiter): void {
    slot.add(waiter);
    waiter.slot = slot;
    if (this.#failing) waiter.wakeOnRecovery = true;
  }

  #park(waiter: Waiter): void {
    (waiter.recursive ? this.#recursive : this.#exact).add(waiter);
    if (this.#failing) waiter.wakeOnRecovery = true;
    if (this.index !== 0) this.start(POLL_TIMING);
  }

  #released(waiter: Waiter): void {
    this.#expiries.remove(waiter);
    stopListening(waiter);
    this.left();
  }

  *#all(): Generator<Waiter> {
    yield* [...this.#fresh, ...this.#pending];
    yield* [...this.#exact.all(), ...this.#recursive.all()];
  }

  #answer(waiter: Waiter): void {
    if (waiter.slot) this.drop(waiter);
    else this.#released(waiter);
    waiter.resolve(this.#result(waiter));
  }

  #result(waiter: Waiter): ConsulResult<KvPair[]> {
    return {
      data: this.#subset(waiter.path, waiter.recursive),
      // No listing applied yet (its answer had no index): the index alone, which the caller refuses.
      meta: this.#meta ?? ({ index: this.index } as QueryMeta),
    };
  }

  /** The pairs a read of `path` returns, by binary search on the sorted listing. */
  #subset(path: string, recursive: boolean): KvPair[] {
    const pairs = this.#pairs;
    const out: KvPair[] = [];
    if (!recursive || !path.endsWith('/')) {
      const at = lowerBound(pairs, path);
      if (pairs[at]?.Key === path) out.push(pairs[at]);
      if (!recursive) return out;
    }
    const folder = path.endsWith('/') ? path : `${path}/`;
    // Keys starting with `folder` sort in [folder, folder with its last '/' turned into '0').
    const end = `${folder.slice(0, -1)}0`;
    for (let i = lowerBound(pairs, folder); i < pairs.length && pairs[i]!.Key < end; i++) out.push(pairs[i]!);
    return out;
  }

  /** Whether what `waiter` reads changed after its index (or the poll cannot vouch that it did not). */
  #changedSince(waiter: Waiter): boolean {
    const since = waiter.index;
    // A caller from before an index reset: its index means nothing any more.
    if (this.#resets > 0 && since > this.index) return true;
    if (!waiter.recursive) {
      const changed = this.#changedAt.get(waiter.path);
      if (changed !== undefined) return changed > since;
    } else {
      for (const pair of this.#subset(waiter.path, true)) {
        if (this.#changedAt.get(pair.Key)! > since) return true;
      }
    }
    // Deletions: unknown before the poll's first listing or beyond the trimmed log.
    if (since < this.#vouchFrom) return true;
    const log = this.#deletions;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (log[mid]!.index <= since) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < log.length; i++) if (this.#coversKey(waiter, log[i]!.key)) return true;
    return false;
  }

  #coversKey(waiter: Waiter, key: string): boolean {
    if (!waiter.recursive) return key === waiter.path;
    if (waiter.path.endsWith('/')) return key.startsWith(waiter.path);
    return key === waiter.path || key.startsWith(`${waiter.path}/`);
  }

  #scheduleFresh(): void {
    if (this.#freshInFlight || this.stopped) return;
    this.#freshInFlight = true;
    // One turn later, so that callers arriving together share one listing.
    setImmediate(() => void this.#freshRead());
  }

  /** A non-blocking listing for the callers that asked before it started. */
  async #freshRead(): Promise<void> {
    const batch = this.#fresh;
    this.#fresh = new Set();
    const pending = [...this.#pending];
    const sent = this.index;
    try {
      if (this.stopped) return;
      let result: ConsulResult<KvPair[]>;
      try {
        result = await this.host.kv.list(this.prefix, extend(this.query, { signal: this.stopSignal.signal }));
      } catch (error) {
        if (this.stopped) return;
        const failure = asConsulError(error, 'a shared KV poll');
        if (isTerminal(failure)) {
          this.stop(failure);
          return;
        }
        this.#fail([...batch, ...pending], failure);
        return;
      }
      if (this.stopped) return;
      this.#apply(result, sent);
      for (const waiter of batch) {
        if (!waiter.slot) continue;
        if (!waiter.recursive && !this.#changedAt.has(waiter.path)) this.#verify(waiter.path);
        this.#answer(waiter);
      }
    } finally {
      this.#freshInFlight = false;
      if (this.#fresh.size > 0 || (this.#pending.size > 0 && this.index === 0)) this.#scheduleFresh();
    }
  }

  /**
   * Checks, once, that the token may read an exact key absent from the listing (a listing leaves out
   * keys the token may not read, silently; a `GET` of the key says 403). The checks run one at a
   * time per client, in the background, so that they never open more than a socket or two.
   */
  #verify(key: string): void {
    if (this.#verified.has(key) || this.#denied.has(key)) return;
    this.#verified.add(key);
    const signal = this.stopSignal.signal;
    this.host
      .serial(() =>
        this.stopped ? Promise.resolve(null) : this.host.kv.get(key, extend(this.query, { signal })),
      )
      .catch((error: unknown) => {
        if (this.stopped) return;
        const failure = asConsulError(error, 'a shared KV poll');
        if (failure.code !== 'CONSUL_PERMISSION_DENIED') {
          this.#verified.delete(key); // unknown: the next fresh read of it tries again
          return;
        }
        this.#denied.set(key, failure);
        this.#fail(this.#exact.at(key), failure);
      });
  }

  // The poll's rounds (core's watch loop runs them) -------------------------------------------

  /** Each answer lists the whole folder: rate-limit in proportion to its size; pause after early answers. */
  override delay(): number {
    const interval = Math.min(this.host.minInterval, this.#pairs.length / 10);
    const stall = this.#stalls > 0 ? backoffDelay(this.#stalls - 1, 100, 2000) : 0;
    return this.#lastStart + Math.max(interval, stall) - Date.now();
  }

  next(failures: number): Promise<ConsulResult<KvPair[]>> {
    this.#lastStart = Date.now();
    this.#sent = this.index;
    this.#relist = failures > 0 || this.#checkReset;
    this.#checkReset = false;
    return this.host.kv.list(
      this.prefix,
      extend(
        this.query,
        // After a failure (or a blocking answer that went backwards), one plain listing: it shows
        // an index reset (a restarted agent) at once. Consistent (a quorum read on the leader):
        // during faults a paused old leader answers from its stale state, and diffing such an older
        // listing would report deletes and duplicates that never happened.
        this.#relist
          ? this.query.stale
            ? {}
            : { consistent: true }
          : { index: this.#sent, wait: this.host.wait },
        { signal: this.stopSignal.signal },
      ),
    );
  }

  apply(result: ConsulResult<KvPair[]>): void {
    // The same index back well before the wait ended: something answers early; do not spin.
    const early =
      !this.#relist && result.meta.index === this.#sent && Date.now() - this.#lastStart < this.host.wait / 2;
    this.#stalls = early ? this.#stalls + 1 : 0;
    this.#apply(result, this.#sent);
  }

  isTerminal(error: unknown): boolean {
    return isConsulError(error) && isTerminal(error);
  }

  /**
   * Transient: the callers waiting now hear of it (their watches back off and come back); the
   * poll keeps its listing and index and tries again.
   */
  disconnected(cause: unknown): void {
    this.#failing = true;
    const failure = asConsulError(cause, 'a shared KV poll');
    this.#fail(this.#all(), failure, (waiter) => waiter.index === 0 || waiter.slot === this.#pending);
  }

  /** Applies one listing of the folder: diffs it by key and wakes the callers it concerns. */
  #apply(result: ConsulResult<KvPair[]>, sent: number): void {
    const next = result.meta.index;
    if (next === undefined || next <= 0) return;
    const pairs = result.data;
    for (let i = 1; i < pairs.length; i++) {
      if (pairs[i - 1]!.Key >= pairs[i]!.Key) {
        pairs.sort(byKey);
        break;
      }
    }
    const first = this.index === 0;
    if (!first && next < this.index && !this.#relist) {
      // Older than the listing applied: a stale server, or an agent that restarted with lower
      // indexes. Only a consistent listing can tell; the next round reads one.
      this.#checkReset = true;
      return;
    }
    const reset = !first && next < sent;
    const changed: string[] = [];
    const deleted: string[] = [];
    if (first) {
      for (const pair of pairs) this.#changedAt.set(pair.Key, pair.ModifyIndex);
      this.#vouchFrom = next;
    } else {
      // Merge the two sorted listings.
      const old = this.#pairs;
      let i = 0;
      let j = 0;
      while (i < old.length || j < pairs.length) {
        const a = old[i];
        const b = pairs[j];
        if (b === undefined || (a !== undefined && a.Key < b.Key)) {
          deleted.push(a!.Key);
          this.#changedAt.delete(a!.Key);
          i++;
        } else if (a === undefined || b.Key < a.Key) {
          changed.push(b.Key);
          this.#changedAt.set(b.Key, b.ModifyIndex);
          j++;
        } else {
          if (!samePair(a, b)) {
            changed.push(b.Key);
            this.#changedAt.set(b.Key, b.ModifyIndex !== a.ModifyIndex ? b.ModifyIndex : next);
          } else if (reset) {
            this.#changedAt.set(b.Key, b.ModifyIndex);
          }
          i++;
          j++;
        }
      }
    }
    this.#pairs = pairs;
    this.#meta = Object.freeze(result.meta); // its index is `next`
    const recovered = this.#failing;
    this.#failing = false;
    this.index = next;
    if (reset) {
      this.#resets++;
      this.#deletions = [];
      this.#vouchFrom = next;
    } else if (deleted.length > 0) {
      for (const key of deleted) this.#deletions.push({ key, index: next });
      const excess = this.#deletions.length - this.host.deletionLog;
      if (excess > 0) {
        this.#vouchFrom = Math.max(this.#vouchFrom, this.#deletions[excess - 1]!.index);
        this.#deletions = this.#deletions.slice(excess);
      }
    }
    const wake = new Set<Waiter>();
    for (const key of changed) this.#collect(key, wake);
    for (const key of deleted) this.#collect(key, wake);
    if (reset || recovered) {
      // Rare: look at every caller (their indexes may predate the reset; failing ones want a sign of life).
      for (const waiter of this.#all()) {
        if (waiter.index === 0 || waiter.slot === this.#pending) continue;
        if (waiter.wakeOnRecovery || (reset && this.#changedSince(waiter))) wake.add(waiter);
      }
    }
    for (const waiter of wake) this.#answer(waiter);
    if (this.#pending.size > 0) {
      for (const waiter of [...this.#pending]) {
        this.#pending.delete(waiter);
        waiter.slot = undefined;
        if (waiter.expired || this.#changedSince(waiter)) {
          this.#released(waiter);
          waiter.resolve(this.#result(waiter));
        } else {
          this.#park(waiter);
        }
      }
    }
    if (this.waiting > 0) this.start(POLL_TIMING);
  }

  /** Adds the callers whose read covers `key`: its exact watchers, and recursive ones on its ancestors. */
  #collect(key: string, into: Set<Waiter>): void {
    this.#exact.collect(key, into);
    if (this.#recursive.size === 0) return;
    this.#recursive.collect(key, into);
    for (let slash = key.indexOf('/'); slash !== -1; slash = key.indexOf('/', slash + 1)) {
      this.#recursive.collect(key.slice(0, slash), into);
      this.#recursive.collect(key.slice(0, slash + 1), into);
    }
  }
}
