import { hash } from 'node:crypto';
import {
  abortSignal,
  extend,
  decodeValue,
  isReservedKey,
  SmallMap,
  startWatchLoop,
  type Entry,
  type WatchEnd,
  type WatchSink,
  type WatchStart,
  type WatchTiming,
} from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import type { ConsulResult, QueryOptions } from '../options.js';
import { ConsulBlockingSource, type AnswerKind } from '../watch/source.js';
import { EMPTY, toEntry, type StoreParts } from './common.js';
import { userFlags } from './ttl.js';

/** The retry rhythm of a Store watch. */
const WATCH_TIMING: WatchTiming = { backoffMs: 100, maxBackoffMs: 5000 };
/** How long a write waits for this store's own watchers to see it. */
const SETTLE_MS = 250;
/** What a recursive watch adds to each round's options (one object for every watch). */
const RECURSIVE = Object.freeze({ recursive: true });
const SLASH = 0x2f;

/** A running watch of this store, as its own writes see it (see {@link StoreWatches.settle}). */
interface LocalWatch {
  /** The watched user key (`''`: the store's root). */
  key: string;
  recursive: boolean;
  /** False until the first answer was processed. */
  ready: boolean;
  /** The index of every key the watch has delivered and not seen go. */
  seen: SmallMap<{ index: number }>;
  /** Called after each processed answer, and when the watch ends (made for the first writer waiting). */
  wake: Set<() => void> | undefined;
}

/**
 * What a watch has delivered of a key: a later answer is a change when any of it differs. The
 * value is kept as its size and a digest, not the bytes: a watch of 100,000 keys would otherwise
 * hold every value (about 47 MB in bench S8's tree, which a mirror's source watch covers). The
 * digest is two numbers, not a string: one string less per key (about 5 MB of the heap a mirror
 * holds for those 100,000 keys, heap snapshot of S8's mirror).
 */
interface Seen {
  index: number;
  createIndex: number;
  size: number;
  /**
   * The first 8 bytes of the value's SHA-1, as two 32-bit integers (V8 keeps them in the object);
   * compared only on reads that may come from a restarted agent, after the indexes and the size.
   */
  digestHigh: number;
  digestLow: number;
  session: string | undefined;
}

/**
 * What a watch started without the initial values records of a key it listed and has not read
 * yet (see {@link listedFirstRead}). One frozen record for every key: a record each was 7 MB of
 * garbage promoted with the map in bench S8's `mirror` (100,000 keys). Never equal to an answer's
 * pair (no ModifyIndex is -1): `deliver` replaces it.
 */
const NOT_READ: Seen = Object.freeze({
  index: -1,
  createIndex: -1,
  size: -1,
  digestHigh: 0,
  digestLow: 0,
  session: undefined,
});

/** A value's SHA-1 (see {@link Seen}: its first 8 bytes are kept); one-shot, no Hash object per key. */
function sha1(value: Uint8Array | null): Buffer {
  return hash('sha1', value ?? EMPTY, 'buffer');
}

function sameDigest(seen: Seen, value: Uint8Array | null): boolean {
  const digest = sha1(value);
  return seen.digestHigh === digest.readInt32BE(0) && seen.digestLow === digest.readInt32BE(4);
}

/** What a watch records of `pair`, but the digest: {@link setDigest} adds it. */
function seenOf(pair: KvPair): Seen {
  return {
    index: pair.ModifyIndex,
    createIndex: pair.CreateIndex,
    size: pair.Value?.byteLength ?? 0,
    digestHigh: 0,
    digestLow: 0,
    session: pair.Session || undefined,
  };
}

function setDigest(seen: Seen, value: Uint8Array | null): void {
  const digest = sha1(value);
  seen.digestHigh = digest.readInt32BE(0);
  seen.digestLow = digest.readInt32BE(4);
}

/**
 * The first read of a recursive watch without the initial values: the key names and the index of
 * one `?keys` read, each name marked {@link NOT_READ}, no value. The next answer (a blocking read on
 * that index, which returns once anything below the folder changed) fills the records: a listed
 * key at or below the listing's index is unchanged since, recorded without an event; a key above
 * it, or new, is a `put`; a listed key that is gone is a `delete`.
 *
 * Reading the values here (in pages, to record each key's digest) cost a mirror a second full read
 * of its source, besides its copy's: bench S8, Consul → etcd `mirror` of 100,000 keys, peak RSS
 * 155–159 MB with the values read here, 143–145 MB without (ad hoc runs of the S8 child, 3 each).
 * What that leaves unknown until a key's first change is its digest and its session: an answer
 * after a failure (`resync`), whose indexes may come from an agent that started over, reports such
 * a key as a `put` (as the etcd Store's watch reports every key it has not delivered), and a key
 * whose TTL runs out before the tree's first change is reported as a `delete`, not an `expire`.
 */
async function listedFirstRead<V>(
  parts: StoreParts<V>,
  target: string,
  watch: StoreWatch<V>,
  options: QueryOptions,
): Promise<{ seen: Map<string, Seen>; result: ConsulResult<KvPair[]> }> {
  const { data: names, meta } = await parts.client.kv.keys(target, options);
  const seen = new Map<string, Seen>();
  for (const name of names) {
    const key = watch.watched(name);
    if (key !== undefined) seen.set(key, NOT_READ);
  }
  return { seen, result: { data: [], meta } };
}

/** Whether a session still exists (a failed look-up counts as gone: the key is reported as expired). */
async function sessionExists<V>(
  parts: StoreParts<V>,
  session: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    return (await parts.client.session.info(session, { signal })).data !== null;
  } catch {
    return false;
  }
}

/**
 * The Store's watches, and its writes' wait for them. A watch is core's watch loop over a
 * {@link StoreWatch} (the Consul poll source, `watch/source.ts`), reading the key (or the folder)
 * through the client's shared KV reads, each answer diffed per key against what this watch has
 * delivered. Consul keeps no history, so writes that follow each other faster than a blocking
 * query's round trip would reach a watcher as one event: a store's own writes wait (briefly) until
 * its own watchers have seen them.
 */
export class StoreWatches<V> {
  readonly #parts: StoreParts<V>;
  readonly #waitMs: number;
  readonly #local = new Set<LocalWatch>();

  constructor(parts: StoreParts<V>, waitMs: number) {
    this.#parts = parts;
    this.#waitMs = waitMs;
  }

  /** No watch is running: writes need not wait for any. */
  get idle(): boolean {
    return this.#local.size === 0;
  }

  /**
   * Runs one watch until its sink stops. The source's index rules make the first round, every
   * round after a failure and the round after an index reset a plain read: the agent may have
   * restarted with lower indexes, and a blocking query on the old index would hide its changes for
   * the whole wait. Such a read's differences are followed by `resync`. The loop ends in `end` (the
   * store's watcher translates a terminal error with `toStoreError`).
   */
  run(sink: WatchSink<V>, start: WatchStart, end: WatchEnd): void {
    const watch = new StoreWatch(this.#parts, sink, start, this.#waitMs);
    this.#local.add(watch);
    startWatchLoop(watch, sink, { stop: sink.stop, timing: WATCH_TIMING }, (failed, error) => {
      this.#end(watch);
      end(failed, error);
    });
  }

  /** Resolves `entry` once this store's watchers of its key have seen it (see {@link settle}). */
  async written(entry: Entry<V>): Promise<Entry<V>> {
    const { key, index } = entry;
    await this.settle(key, false, (seen) => (seen.get(key)?.index ?? 0) >= index);
    return entry;
  }

  /** After a delete of `key` (with `tree`, of everything at or below it). */
  gone(key: string, tree: boolean): Promise<void> {
    return this.settle(key, tree, (seen) => {
      if (!tree) return !seen.has(key);
      for (const known of seen.keys()) {
        if (key === '' || known === key || known.startsWith(`${key}/`)) return false;
      }
      return true;
    });
  }

  /**
   * Waits (at most {@link SETTLE_MS}) until every running watch of this store that covers `key`
   * has seen a write that just succeeded. With this, a store's own writes reach its own watchers
   * one by one, in order. Free without watchers.
   */
  async settle(key: string, tree: boolean, done: (seen: LocalWatch['seen']) => boolean): Promise<void> {
    if (this.#local.size === 0) return;
    const waits: Promise<void>[] = [];
    for (const watch of this.#local) {
      const covers = watch.recursive
        ? watch.key === '' ||
          key === watch.key ||
          key.startsWith(`${watch.key}/`) ||
          (tree && (key === '' || watch.key.startsWith(`${key}/`)))
        : key === watch.key || (tree && (key === '' || watch.key.startsWith(`${key}/`)));
      if (!covers || !watch.ready || done(watch.seen)) continue;
      waits.push(
        new Promise<void>((resolve) => {
          const finish = (): void => {
            clearTimeout(timer);
            watch.wake?.delete(check);
            resolve();
          };
          const check = (): void => {
            if (!watch.ready || done(watch.seen)) finish();
          };
          const timer = setTimeout(finish, SETTLE_MS);
          (watch.wake ??= new Set()).add(check);
        }),
      );
    }
    if (waits.length > 0) await Promise.all(waits);
  }

  /** A watch ended: its writers stop waiting for it. */
  #end(local: LocalWatch): void {
    this.#local.delete(local);
    local.ready = false;
    if (local.wake !== undefined && local.wake.size > 0) for (const wake of [...local.wake]) wake();
  }
}

/**
 * One running watch of a store: the Consul poll source of its loop (rounds through the client's
 * shared KV reads, `read`), the diff of each answer against what it delivered (`deliver`), and
 * what its store's writes wait on ({@link LocalWatch}). One object per watch rather than a source,
 * a context and six closures (S6 in bench/ holds thousands of idle watchers).
 */
class StoreWatch<V> extends ConsulBlockingSource<KvPair[]> implements LocalWatch {
  readonly key: string;
  readonly recursive: boolean;
  ready = false;
  /** What the watch has delivered, per key (one key in fields, not a Map: most watches are of a key). */
  seen = new SmallMap<Seen>();
  wake: Set<() => void> | undefined = undefined;
  readonly #parts: StoreParts<V>;
  readonly #sink: WatchSink<V>;
  /** The watched Consul key. */
  readonly #path: string;
  /** What each round reads: the key, or with `recursive` the key and its folder. */
  readonly #target: string;
  readonly #fromIndex: number | undefined;
  readonly #initial: boolean;
  /** Without the initial values, the first round reads the key names only: see listedFirstRead. */
  #listedFirst: boolean;
  #firstSeen: Map<string, Seen> | undefined = undefined;
  /** The index of that listing: a key marked {@link NOT_READ} at or below it has not changed since. */
  #listedAt = -1;

  constructor(parts: StoreParts<V>, sink: WatchSink<V>, start: WatchStart, waitMs: number) {
    super(undefined, {
      query: parts.read,
      index: undefined,
      waitMs,
      minInterval: 0,
      backoffBase: 100,
      backoffMax: 5000,
      random: undefined,
      // The shared reads take the watch's StopSignal as is (no AbortSignal per watch: about 0.7 KB of an idle watcher, S6 in bench/).
      signal: sink.stop as unknown as AbortSignal,
    });
    const { path, fromIndex, initial } = start;
    this.#parts = parts;
    this.#sink = sink;
    this.#path = path;
    this.key = start.key;
    // The store's root is a folder: watched with everything below it.
    this.recursive = start.recursive || path === parts.keys.prefix;
    // A recursive watch reads the key with its folder; the store's root reads only its folder
    // `prefix/` (the prefix's own key is nobody's).
    this.#target = !this.recursive ? path : path === parts.keys.prefix && path !== '' ? `${path}/` : path;
    this.#fromIndex = fromIndex;
    this.#initial = initial;
    this.#listedFirst = this.recursive && !initial && fromIndex === undefined;
  }

  /** The user key of a Consul key this watch reports, or `undefined`. */
  watched(name: string): string | undefined {
    if (name.endsWith('/')) return undefined; // directory markers hold no value
    const path = this.#path;
    if (name !== path) {
      if (!this.recursive) return undefined;
      // Below the folder `path/` (every key when `path` is the root '').
      if (path !== '' && !(name.startsWith(path) && name.charCodeAt(path.length) === SLASH)) return undefined;
    }
    const key = this.#parts.keys.fromBackend(name);
    return key === undefined || isReservedKey(key) ? undefined : key;
  }

  /** One round: the shared KV reads, or the listing that starts a watch without the initial values. */
  protected override read(options: QueryOptions): Promise<ConsulResult<KvPair[]>> {
    const reads = this.#parts.client.kvReads;
    if (!this.#listedFirst) {
      return reads.read(this.#target, this.recursive ? extend(options, RECURSIVE) : options);
    }
    return this.#readListed(options);
  }

  async #readListed(options: QueryOptions): Promise<ConsulResult<KvPair[]>> {
    const first = await listedFirstRead(this.#parts, this.#target, this, {
      ...options,
      signal: abortSignal(this.#sink.stop),
    });
    this.#listedFirst = false;
    this.#firstSeen = first.seen;
    this.#listedAt = first.result.meta.index ?? 0;
    return first.result;
  }

  /** After each processed answer: the initial state arrives before `connected`. */
  #processed(): void {
    this.ready = true;
    const wake = this.wake;
    if (wake !== undefined && wake.size > 0) for (const check of [...wake]) check();
  }

  /**
   * Diffs one answer and emits its events, synchronously unless a vanished key was held by a TTL
   * session (whether it expired takes a request): then it resolves when done. Synchronous
   * handling matters for latency (S5 in bench/): the loop sends the next blocking query right
   * after, and an event queued for later would wait for that request to be written.
   */
  protected override deliver(result: ConsulResult<KvPair[]>, kind: AnswerKind): Promise<void> | undefined {
    const data = result.data;
    const index = result.meta.index ?? 0;
    const sink = this.#sink;
    const firstSeen = this.#firstSeen;
    if (firstSeen !== undefined) {
      // The listing (listedFirstRead) has diffed nothing: what it found is the start. It
      // is the first answer, so nothing was seen before it: its map becomes the watch's rather
      // than being copied (two maps of 100,000 keys at once in bench S8's `mirror`).
      this.seen = new SmallMap(firstSeen);
      this.#firstSeen = undefined;
      sink.anchor(index);
      this.#processed();
      return undefined;
    }
    const seen = this.seen;
    const parts = this.#parts;
    // How many watched keys this answer holds: fewer than `seen` knows means some went (a Set of
    // the answer's keys is made only then, not for every answer).
    let present = 0;
    const puts: { key: string; pair: KvPair; seen: Seen }[] = [];
    let unchanged: typeof puts | undefined;
    for (const pair of data) {
      const key = this.watched(pair.Key);
      if (key === undefined) continue;
      present++;
      const before = seen.get(key);
      const session = pair.Session || undefined;
      // Within one agent's run a write always moves ModifyIndex, so equal indexes are the same
      // value; a read after a failure or an index reset may come from an agent that started over
      // (other data under indexes that happen to match): only there are the digests compared.
      if (
        before &&
        before.index === pair.ModifyIndex &&
        before.createIndex === pair.CreateIndex &&
        before.size === (pair.Value?.byteLength ?? 0) &&
        (kind === 'change' || sameDigest(before, pair.Value))
      ) {
        before.session = session;
        continue;
      }
      // The digest after the events (below): one SHA-1 was the largest item between an answer and
      // its event (about 30 of the 80 µs, S5 in bench/), and nothing reads it before the next answer.
      const record = seenOf(pair);
      seen.set(key, record);
      // Listed at the start and not changed since (a blocking answer, no failure since the
      // listing): recorded without an event (see listedFirstRead).
      if (before === NOT_READ && kind === 'change' && pair.ModifyIndex <= this.#listedAt)
        (unchanged ??= []).push({ key, pair, seen: record });
      else puts.push({ key, pair, seen: record });
    }
    if (puts.length > 1) puts.sort((a, b) => a.pair.ModifyIndex - b.pair.ModifyIndex);
    const fromIndex = this.#fromIndex;
    if (kind === 'first' && fromIndex !== undefined) {
      sink.resync(
        puts.filter(({ pair }) => pair.ModifyIndex >= fromIndex).map(({ pair }) => toEntry(parts, pair)),
        index,
      );
    } else if (kind !== 'first' || this.#initial) {
      for (const { key, pair } of puts) {
        const flags = userFlags(pair);
        sink.emit({
          type: 'put',
          key,
          value: decodeValue(parts.codec, pair.Value ?? EMPTY, key),
          index: pair.ModifyIndex,
          createIndex: pair.CreateIndex,
          ...(flags !== undefined ? { flags } : {}),
          ...(kind === 'first' ? { initial: true as const } : {}),
        });
      }
    }
    for (const put of puts) setDigest(put.seen, put.pair.Value);
    if (unchanged !== undefined) for (const record of unchanged) setDigest(record.seen, record.pair.Value);
    let gone: [string, Seen][] | undefined;
    if (seen.size > present) {
      const now = new Set<string>();
      for (const pair of data) {
        const key = this.watched(pair.Key);
        if (key !== undefined) now.add(key);
      }
      for (const entry of seen.entries()) if (!now.has(entry[0])) (gone ??= []).push(entry);
    }
    if (gone === undefined) return this.#done(kind, index);
    for (const [key] of gone) seen.delete(key);
    if (!gone.some(([, before]) => before.session !== undefined)) {
      for (const [key] of gone) sink.emit({ type: 'delete', key, index });
      return this.#done(kind, index);
    }
    return this.#expireOrDelete(gone, kind, index);
  }

  /** Vanished keys of which some were held by a session: expired when their session is gone. */
  async #expireOrDelete(gone: [string, Seen][], kind: AnswerKind, index: number): Promise<void> {
    const sink = this.#sink;
    for (const [key, before] of gone) {
      // A key held by a TTL session that is gone has expired; one deleted while its session lives was deleted.
      const expired =
        before.session !== undefined && !(await sessionExists(this.#parts, before.session, sink.signal));
      sink.emit({ type: expired ? 'expire' : 'delete', key, index });
    }
    this.#done(kind, index);
  }

  /** An answer was handled: the loop's markers, then the writers waiting. */
  #done(kind: AnswerKind, index: number): undefined {
    if (kind === 'resync') this.#sink.resynced(index);
    else if (kind === 'first') this.#sink.anchor(index);
    this.#processed();
    return undefined;
  }
}
