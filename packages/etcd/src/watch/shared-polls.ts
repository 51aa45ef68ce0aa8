import {
  abortSignal,
  extend,
  listenForAbort,
  PollRegistry,
  stopListening,
  type WatchTiming,
} from '@polykv/core';
import type { EtcdEmptyWait, EtcdResult, EtcdWaitOptions, KeysApi } from '../api/keys.js';
import { EtcdError } from '../errors.js';
import { SharedReads } from './batched-reads.js';
import {
  DirectoryPoll,
  hiddenBelow,
  matches,
  parentOf,
  settle,
  type AnyResult,
  type Backfill,
  Caller,
  type PollOwner,
} from './directory-poll.js';
import {
  abortedError,
  isTerminalWatchError,
  normalizeKey,
  watchRead,
  type WaitOptions,
  type WaitSource,
  type WatchReadOptions,
} from './wait-source.js';

/** Options of {@link SharedWaits}. */
export interface SharedWaitsOptions {
  /** Shared polls at most; past it, waits are private. @defaultValue 8 */
  maxPolls?: number;
  /** Events each poll keeps for callers that come back with an older index. @defaultValue 1000 */
  bufferSize?: number;
  /** How long a poll without callers goes on (buffering) before it stops. @defaultValue 1500 */
  lingerMs?: number;
  /** See {@link SharedReadsOptions.minBatch}. @defaultValue 8 */
  batchReads?: number;
  /**
   * Milliseconds of the first backoff after a poll's failed round; it doubles up to
   * `maxBackoffMs`, jittered. The client passes its own `backoffMs`.
   */
  backoffMs: number;
  /** The cap of that backoff, in milliseconds. */
  maxBackoffMs: number;
  /** Source of randomness for the polls' backoff jitter. */
  random: () => number;
}

/** The options with a real `AbortSignal`, for `client.keys`. */
function plain(options: WaitOptions): EtcdWaitOptions {
  const { signal } = options;
  return signal === undefined || signal instanceof AbortSignal
    ? (options as EtcdWaitOptions)
    : extend(options, { signal: abortSignal(signal) });
}

/**
 * Shared long polls for watches (one per client, see `EtcdClient.waits`): waits on keys below one
 * directory share one recursive `GET /v2/keys/<dir>?wait=true&recursive=true&waitIndex=` (up to
 * `maxPolls` directories, core's {@link PollRegistry}), and each event is handed to the waits it
 * reaches. `wait` has the semantics of `client.keys.wait`; a wait without `waitIndex`, with a
 * `timeout`, on a key hidden below any poll's directory, with an index older than a poll's memory,
 * or past `maxPolls` is a private `keys.wait`.
 *
 * Poll failures: a connection failure or 5xx rejects the waiting callers with that error (their
 * watch loops back off and come back) and the poll retries from the same index; errorCode 401
 * rejects them with that error (they resync) and restarts the poll at the error's index + 1; any
 * other 4xx (e.g. the credentials may read the key but not the directory) hands each waiting
 * caller to a private wait, and no poll is made on that directory again.
 */
export class SharedWaits implements WaitSource, PollOwner {
  readonly stopSignals = true as const;
  /** The client's keys API: private waits, and reads that are not batched, go through it. */
  readonly keys: KeysApi;
  /**
   * How many recent events each poll keeps for callers that come back with an older index (it
   * trims back to this once it holds a quarter more).
   */
  readonly bufferSize: number;
  readonly #registry: PollRegistry<DirectoryPoll>;
  /** Directories a poll was refused on (a 4xx): never polled again. */
  readonly #refused = new Set<string>();
  readonly #lingerMs: number;
  readonly #timing: WatchTiming;
  readonly #reads: SharedReads;
  #closed = false;

  /** One per client, made on first use by `EtcdClient.waits`. */
  constructor(keys: KeysApi, options: SharedWaitsOptions) {
    this.keys = keys;
    this.#reads = new SharedReads(keys, { minBatch: options.batchReads ?? 8 });
    this.#registry = new PollRegistry(options.maxPolls ?? 8);
    this.bufferSize = options.bufferSize ?? 1000;
    this.#lingerMs = options.lingerMs ?? 1500;
    this.#timing = options;
  }

  /** Shared polls running now (for tests and diagnostics). */
  get polls(): {
    /** The polled directory, without leading or trailing slash (`a/b`). */
    dir: string;
    /** The waits waiting on this poll now. */
    callers: number;
    /** From this etcd index on, the poll holds every event under `dir`. */
    coveredFrom: number;
    /** The index the poll's next round waits from. */
    cursor: number;
  }[] {
    return this.#registry.values().map((poll) => ({
      dir: poll.dir,
      callers: poll.size,
      coveredFrom: poll.coveredFrom,
      cursor: poll.cursor,
    }));
  }

  /**
   * `client.keys.get(key, { recursive, quorum: true, signal })`, coalesced with the reads of
   * watchers starting at the same time below the same directory (see {@link SharedReads}).
   */
  read<V = string>(key: string, options: WatchReadOptions = {}): Promise<EtcdResult<V>> {
    if (this.#closed) return watchRead<V>(this.keys, this.keys, key, options);
    return this.#reads.read<V>(key, options);
  }

  /** `client.keys.wait`, through a shared poll when one can serve it. */
  wait<V = string>(key: string, options: WaitOptions = {}): Promise<EtcdResult<V> | EtcdEmptyWait> {
    const { waitIndex, signal } = options;
    if (this.#closed || waitIndex === undefined || options.timeout !== undefined)
      return this.keys.wait<V>(key, plain(options));
    const normalized = normalizeKey(key);
    const recursive = options.recursive ?? false;
    if (signal?.aborted) return Promise.reject(abortedError(key, signal));
    const poll = this.#pollFor(normalized, waitIndex);
    if (!poll) return this.keys.wait<V>(key, plain(options));
    let backfill: Backfill | undefined;
    if (waitIndex < poll.coveredFrom) {
      // Older than the poll's memory: catch up on the directory's history first.
      backfill = poll.backfill;
      if (backfill === undefined) {
        backfill = { from: waitIndex, until: poll.coveredFrom, gap: [], gapKeys: [], callers: [] };
        poll.backfill = backfill;
        void this.#backfill(poll, backfill);
      } else if (waitIndex < backfill.from) {
        return this.keys.wait<V>(key, plain(options));
      }
      for (let i = 0; i < backfill.gap.length; i++) {
        const result = backfill.gap[i]!;
        if (
          result.node.modifiedIndex >= waitIndex &&
          matches(result, backfill.gapKeys[i]!, normalized, recursive)
        )
          return Promise.resolve(result as EtcdResult<V>);
      }
    } else {
      const found = poll.find(normalized, recursive, waitIndex);
      if (found) return Promise.resolve(found as EtcdResult<V>);
    }
    return new Promise<AnyResult | EtcdEmptyWait>((resolve, reject) => {
      const caller = new Caller(poll, key, normalized, recursive, waitIndex, signal, resolve, reject);
      listenForAbort(caller, caller);
      if (backfill) poll.addBackfill(backfill, caller);
      else poll.add(caller);
    }) as Promise<EtcdResult<V> | EtcdEmptyWait>;
  }

  /** Stops every poll; waiting callers reject with `ETCD_CLOSED`. */
  close(): void {
    this.#closed = true;
    this.#registry.close(new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client was closed' }));
  }

  refuse(dir: string): void {
    this.#refused.add(dir);
  }

  /** The poll to join (made if need be), or none: a private wait. */
  #pollFor(key: string, waitIndex: number): DirectoryPoll | undefined {
    const usable = (poll: DirectoryPoll): boolean => !hiddenBelow(key, poll.dir);
    const poll =
      this.#registry.find('', key, (candidate) => usable(candidate) && waitIndex >= candidate.coveredFrom) ??
      this.#registry.find('', key, usable);
    if (poll) return poll;
    // The key's directory; a top-level key is polled itself (never the whole key space).
    const dir = key.includes('/') ? parentOf(key) : key;
    if (dir === '' || (dir !== key && hiddenBelow(key, dir)) || this.#refused.has(dir)) return undefined;
    const made = this.#registry.add(
      () => new DirectoryPoll(this, this.#registry, dir, waitIndex, this.#lingerMs),
    );
    made?.start(this.#timing);
    return made;
  }

  async #backfill(poll: DirectoryPoll, backfill: Backfill): Promise<void> {
    const signal = poll.stopSignal.signal;
    let from = backfill.from;
    try {
      while (from < backfill.until) {
        const result = await this.keys.wait<unknown>(poll.dir, {
          recursive: true,
          waitIndex: from,
          signal,
          maxRetries: 0,
        });
        if (poll.backfill !== backfill) return;
        if (result.action === null) {
          if (result.etcdIndex !== undefined) from = Math.max(from, result.etcdIndex + 1);
          continue;
        }
        const index = result.node.modifiedIndex;
        if (index >= backfill.until) break;
        const eventKey = normalizeKey(result.node.key);
        backfill.gap.push(result);
        backfill.gapKeys.push(eventKey);
        const reached = poll.leaveBackfill(
          backfill,
          (caller) => index < caller.waitIndex || !matches(result, eventKey, caller.key, caller.recursive),
        );
        for (const caller of reached) settle(caller, result, undefined);
        from = index + 1;
      }
    } catch (error) {
      if (poll.backfill !== backfill) return;
      poll.backfill = undefined;
      // A 401 or a connection failure: the callers see it as their own wait's (resync, backoff).
      for (const caller of poll.leaveBackfill(backfill, () => false))
        if (isTerminalWatchError(error)) this.alone(caller);
        else settle(caller, undefined, error);
      return;
    }
    if (poll.backfill !== backfill) return;
    poll.backfill = undefined;
    // The poll's memory now reaches back to `from`, unless it was trimmed or reset meanwhile.
    if (poll.coveredFrom === backfill.until) {
      poll.buffer.unshift(...backfill.gap);
      poll.bufferKeys.unshift(...backfill.gapKeys);
      poll.coveredFrom = backfill.from;
    }
    for (const caller of poll.leaveBackfill(backfill, () => false)) {
      if (caller.waitIndex < poll.coveredFrom) {
        this.alone(caller);
        continue;
      }
      const found = poll.find(caller.key, caller.recursive, caller.waitIndex);
      if (found) settle(caller, found, undefined);
      else poll.add(caller);
    }
  }

  /** A caller whose poll cannot serve it: the same wait, private. */
  alone(caller: Caller): void {
    stopListening(caller);
    if (caller.signal?.aborted) {
      caller.reject(abortedError(caller.key, caller.signal));
      return;
    }
    this.keys
      .wait<unknown>(caller.key, {
        recursive: caller.recursive,
        waitIndex: caller.waitIndex,
        ...(caller.signal ? { signal: abortSignal(caller.signal) } : {}),
        maxRetries: 0,
      })
      .then(caller.resolve, caller.reject);
  }
}
