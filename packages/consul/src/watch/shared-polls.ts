import {
  abortSignal,
  extend,
  listenForAbort,
  parentFolder,
  PollRegistry,
  type AnySignal,
} from '@polykv/core';
import type { Kv, KvPair } from '../api/kv.js';
import { ConsulError } from '../errors.js';
import type { ConsulResult, QueryOptions, SharedWatchOptions } from '../options.js';
import { durationMs } from '../codec.js';
import { Poll, type PollHost } from './folder-poll.js';
import { abortError, Waiter } from './waiters.js';

/** Options of {@link SharedKvReads.read}: a KV read's options plus `recursive`. */
export interface SharedKvReadOptions extends Omit<QueryOptions, 'signal'> {
  /** Aborts the read; a core `StopSignal` is accepted too (cheaper per watcher). */
  signal?: AnySignal | undefined;
  /**
   * Read `path` itself and every key under the folder `path/` (a path ending in `/` is the folder:
   * every key starting with it). Without it, the key `path` alone (0 or 1 pair).
   * @defaultValue false
   */
  recursive?: boolean;
}

/** A read with none of the options that change an answer (shared, never changed). */
const NO_QUERY: QueryOptions = Object.freeze({});

/** The options that change a KV answer: polls are shared only between equal ones. */
function pollQuery(options: Omit<QueryOptions, 'signal'>): QueryOptions {
  if (
    options.token === undefined &&
    options.dc === undefined &&
    options.ns === undefined &&
    options.partition === undefined &&
    !options.consistent &&
    !options.stale
  )
    return NO_QUERY;
  const query: QueryOptions = {};
  if (options.token !== undefined) query.token = options.token;
  if (options.dc !== undefined) query.dc = options.dc;
  if (options.ns !== undefined) query.ns = options.ns;
  if (options.partition !== undefined) query.partition = options.partition;
  if (options.consistent) query.consistent = true;
  if (options.stale) query.stale = true;
  return query;
}

function queryKey(query: QueryOptions): string {
  // Every read of a watch looks its poll up by this key: no string made for the usual options.
  if (query === NO_QUERY) return NO_QUERY_KEY;
  return JSON.stringify([
    query.token ?? null,
    query.dc ?? null,
    query.ns ?? null,
    query.partition ?? null,
    query.consistent ?? false,
    query.stale ?? false,
  ]);
}

const NO_QUERY_KEY = JSON.stringify([null, null, null, null, false, false]);

/**
 * Blocking KV reads shared between callers: instead of one long poll per watched key (Consul 1.8
 * refuses connections past `http_max_conns_per_client`, 200 per client IP), one poll per folder
 * lists the whole folder with blocking queries and answers every caller below it.
 *
 * `read(path, options)` answers like a blocking `GET /v1/kv/:path` (or, `recursive`, the path and
 * its folder): at once when `index` is absent or 0, or when something under `path` changed after
 * `index`; otherwise when it changes, or with the same data and index when `wait` runs out. The
 * answer's `meta.index` is the poll's index (the folder's), so a caller may be woken spuriously
 * (after an index reset, or when it joins with an index older than the poll); never late. The
 * callers one listing answers share its `meta` object, frozen.
 *
 * A read joins a poll whose folder covers `path`; else one is started at `path`'s parent folder
 * (never at the KV root: top-level keys read on their own), up to `maxPolls`; past that, and for
 * options a listing cannot honour (`filter`, `hash`, `cached`), the read is a private blocking query.
 * Polls are keyed by every option that changes the answer (token, dc, ns, partition, consistency).
 */
export class SharedKvReads implements PollHost {
  /** The KV endpoints the polls and the private reads go through. */
  readonly kv: Kv;
  /**
   * Rate limit of a poll, in ms: two of its rounds start at least `min(minInterval, listed keys / 10)`
   * ms apart (`sharedWatches.minInterval`).
   */
  readonly minInterval: number;
  /** How long in ms a poll nobody waits on goes on before it stops (`sharedWatches.linger`). */
  readonly linger: number;
  /** How long in ms each blocking query of a poll waits (`sharedWatches.wait`). */
  readonly wait: number;
  /** How many deletions each poll remembers (`sharedWatches.deletionLog`). */
  readonly deletionLog: number;
  /**
   * How many reads under one folder must be in flight at once before the folder is polled
   * (`sharedWatches.minCallers`).
   */
  readonly minCallers: number;
  /** Private reads in flight per options key and folder, until a folder has `minCallers`. */
  readonly #inFlight = new Map<string, number>();
  readonly #registry: PollRegistry<Poll>;
  #closed = false;
  #serial: Promise<unknown> = Promise.resolve();

  /**
   * Made by the client (see `client.kvReads`); no poll starts before the first read. The options
   * are `sharedWatches`, defaults included (`maxPolls: 0` makes every read private).
   */
  constructor(kv: Kv, options: SharedWatchOptions = {}) {
    this.kv = kv;
    this.#registry = new PollRegistry(options.maxPolls ?? 8);
    this.minInterval = options.minInterval ?? 100;
    this.linger = options.linger ?? 1500;
    this.wait = options.wait ?? 60_000;
    this.deletionLog = options.deletionLog ?? 1000;
    this.minCallers = options.minCallers ?? 4;
  }

  /** The most folders polled at once. */
  get maxPolls(): number {
    return this.#registry.maxPolls;
  }

  /** The running polls (tests, diagnostics). */
  get polls(): {
    /** The folder listed, without its trailing `/`. */
    folder: string;
    /** How many callers wait on the poll now. */
    callers: number;
    /** The index of the newest listing applied (0 before the first). */
    index: number;
  }[] {
    return this.#registry
      .values()
      .map((poll) => ({ folder: poll.folder, callers: poll.callers, index: poll.index }));
  }

  /** A blocking read of `path` (see the class). Rejects only with {@link ConsulError}. */
  read(path: string, options: SharedKvReadOptions = {}): Promise<ConsulResult<KvPair[]>> {
    // No rest pattern: this runs for every round of every watch, and the options pass through as they are.
    const { recursive = false, index, wait, signal } = options;
    if (this.#closed) {
      return Promise.reject(new ConsulError('CONSUL_CLOSED', 'the Consul client is closed'));
    }
    if (signal?.aborted) return Promise.reject(abortError(path, signal));
    const shareable = options.filter === undefined && options.hash === undefined && !options.cached;
    const query = shareable ? pollQuery(options) : undefined;
    const poll = query ? this.#pollFor(path, recursive, query) : undefined;
    if (!poll) return query ? this.#counted(path, recursive, query, options) : this.#private(path, options);
    return new Promise<ConsulResult<KvPair[]>>((resolve, reject) => {
      // Consul adds up to wait/16 of jitter; the exact moment does not matter to callers.
      const deadline =
        index === undefined || index === 0
          ? 0
          : performance.now() + Math.max(1, wait === undefined ? 5 * 60_000 : durationMs(wait));
      const waiter = new Waiter(poll, path, recursive, index ?? 0, deadline, signal, resolve, reject);
      listenForAbort(waiter, waiter);
      poll.add(waiter);
    });
  }

  /** Stops every poll; waiting callers reject with `CONSUL_CLOSED`. */
  close(): void {
    this.#closed = true;
    this.#registry.close(undefined);
  }

  serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(task, task);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  /** The folder a poll for `path` would list (`''`: none, a top-level key). */
  #folderOf(path: string, recursive: boolean): string {
    return recursive && path.endsWith('/') ? path.slice(0, -1) : parentFolder(path);
  }

  /** A private read that counts towards its folder's `minCallers` while it is in flight. */
  async #counted(
    path: string,
    recursive: boolean,
    query: QueryOptions,
    options: SharedKvReadOptions,
  ): Promise<ConsulResult<KvPair[]>> {
    const folder = this.#folderOf(path, recursive);
    if (folder === '') return this.#private(path, options);
    const slot = `${queryKey(query)}\u0000${folder}`;
    this.#inFlight.set(slot, (this.#inFlight.get(slot) ?? 0) + 1);
    try {
      return await this.#private(path, options);
    } finally {
      const left = this.#inFlight.get(slot)! - 1;
      if (left === 0) this.#inFlight.delete(slot);
      else this.#inFlight.set(slot, left);
    }
  }

  #pollFor(path: string, recursive: boolean, query: QueryOptions): Poll | undefined {
    const id = queryKey(query);
    const folder = this.#folderOf(path, recursive);
    if (folder === '') return undefined;
    // The deepest running poll whose folder covers the read.
    const running = this.#registry.find(id, folder);
    if (running) return running;
    if ((this.#inFlight.get(`${id}\u0000${folder}`) ?? 0) + 1 < this.minCallers) return undefined;
    return this.#registry.add(() => new Poll(this, this.#registry, id, folder, this.linger, query));
  }

  /** Today's behaviour: one blocking query of this caller's own. */
  async #private(path: string, options: SharedKvReadOptions): Promise<ConsulResult<KvPair[]>> {
    const { recursive = false, signal, ...rest } = options;
    const query: QueryOptions = signal ? extend(rest, { signal: abortSignal(signal) }) : rest;
    if (!recursive) {
      const { data, meta } = await this.kv.get(path, query);
      return { data: data ? [data] : [], meta };
    }
    const { data, meta } = await this.kv.list(path, query);
    if (path === '' || path.endsWith('/')) return { data, meta };
    const folder = `${path}/`;
    return { data: data.filter((pair) => pair.Key === path || pair.Key.startsWith(folder)), meta };
  }
}
