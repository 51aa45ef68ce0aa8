import { decodeValue } from './codec.js';
import { forEachLimit, isBulkWriter, TaskLimiter, type BulkWrite, type BulkWriter } from './copy-writes.js';
import { isPolykvError } from './errors.js';
import { extend } from './extend.js';
import {
  holdNote,
  planFlags,
  planTtl,
  ttlRefusal,
  unlistedFailure,
  valueWithChildrenError,
  type TtlPlan,
} from './fidelity.js';
import { normalizeKey, parentPaths } from './keys.js';
import { readPages, summarizeEntry, summarizeTree, valueDigest, type KeySummary } from './pages.js';
import { fanOutSignal, throwIfAborted, type CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { DirEntry, Entry, ListEntry, PageOptions } from './types.js';

/** Progress of a {@link copy}, reported after every key. */
export interface CopyProgress {
  /**
   * Keys and directories to look at, as far as known: it grows while the source is still being read
   * (the copy reads and writes at once).
   */
  total: number;
  /** Keys and directories handled so far, whatever the outcome. */
  done: number;
  /** Keys written and directories created so far (with `dryRun`: that would be). */
  copied: number;
  /** Keys left alone so far: the same on both sides, already there, or expired. */
  skipped: number;
  /** Keys not carried so far (see {@link CopySummary.failed}). */
  failed: number;
  /** The key just handled. */
  key: string;
}

/** Options of {@link copy}. */
export interface CopyOptions extends CallOptions {
  /**
   * The directory to copy, the same path on both sides (`''`: everything).
   * @defaultValue ''
   */
  prefix?: string;
  /** Report what would be copied without writing anything. @defaultValue false */
  dryRun?: boolean;
  /**
   * Replace target keys that hold a different value. Without it such keys are skipped (and
   * listed), so a copy never clobbers data it did not write. @defaultValue false
   */
  overwrite?: boolean;
  /** Requests in flight at once, per store. @defaultValue 16 */
  concurrency?: number;
  /**
   * Carry keys that have flags into a target without flags (etcd), without the flags; each such key
   * is listed in `adjusted`. Without it they fail with `UNREPRESENTABLE`. @defaultValue false
   */
  dropFlags?: boolean;
  /** Called as keys are copied, with the counts so far. */
  onProgress?: (progress: CopyProgress) => void;
}

/** Why a key was skipped. */
export type SkipReason = 'same' | 'exists' | 'expired';

/** What {@link copy} did. */
export interface CopySummary {
  /** True when nothing was written: the copy ran with `dryRun`. */
  dryRun: boolean;
  /** Keys written (or, with `dryRun`, that would be). */
  copied: string[];
  /** Empty directories created. */
  dirs: string[];
  /** Keys left as they were on the target, each with why. */
  skipped: {
    /** The key (relative to both stores). */
    key: string;
    /**
     * `same`: the target holds the same value and flags; `exists`: a different one (and no
     * `overwrite`); `expired`: its TTL ran out on the source.
     */
    reason: SkipReason;
  }[];
  /**
   * Keys not carried, with why: the target refused the write, or the key cannot be carried at all
   * (`UNREPRESENTABLE`: a key the source's `list` cannot name, a value with children into typed
   * directories, flags into a target without flags, a TTL the target cannot hold).
   */
  failed: {
    /** The key (relative to both stores). */
    key: string;
    /** Why: a `PolykvError` (`UNREPRESENTABLE` for what cannot be carried), or the target's refusal. */
    error: unknown;
  }[];
  /**
   * Keys carried with a change the target forced, each named with what changed: a TTL raised to the
   * target's minimum, flags dropped (`dropFlags`), a source session's hold not copied.
   */
  adjusted: {
    /** The key (relative to both stores). */
    key: string;
    /** What changed, for people (e.g. the TTL raised to the target's minimum). */
    note: string;
  }[];
  /**
   * Keys below the prefix with a value on the target and none on the source, as this copy read
   * the two (what `diff` would name `extra`): left as they are. A mirror deletes them (its
   * `delete` option) without a `diff` of its own.
   */
  extra: string[];
}

/** Writes per batch: Consul's transaction limit. */
const BULK_BATCH = 64;

/** The directories of a recursive listing that have nothing below them. */
export function emptyDirs(entries: readonly ListEntry<unknown>[]): string[] {
  const parents = parentPaths(entries.map((entry) => entry.key));
  return entries.filter((entry) => entry.dir && !parents.has(entry.key)).map((entry) => entry.key);
}

/**
 * Copies every key below `prefix` from one store to another (etcd to Consul, memory to either...):
 * values byte for byte (open both stores with `binaryCodec` for arbitrary bytes: with a text codec a
 * value that is not UTF-8 is `UNREPRESENTABLE`, never changed), flags (where the target has them),
 * empty directories, directories with a TTL (into etcd and memory://), and the remaining TTL of
 * keys that have one (rounded up to whole seconds, raised to the target's minimum). Every source key
 * is carried, carried with a named adjustment (`adjusted`), or named in `failed` (see fidelity.ts
 * for the rules). Idempotent: keys the target already holds with the same value and flags are
 * skipped, so a re-run after an interruption finishes the job. A key that fails does not stop the copy.
 *
 * Streamed: the source is read page by page (see {@link readPages}) and each page is written before
 * more than a few pages are read ahead; of the target, only an index, flags and a digest per key are
 * held. Memory grows with the number of keys (about 200 bytes each), not with their values. Into a
 * target that keeps values and directories apart, the source's paths are read once before
 * (names only are kept), so that a value with children is refused before anything lands below it.
 */
export async function copy<V, W = V>(
  from: Store<V>,
  to: Store<W>,
  options: CopyOptions = {},
): Promise<CopySummary> {
  const fanOut = options.signal && fanOutSignal(options.signal);
  try {
    return await copyTree(from, to, options, fanOut?.signal);
  } finally {
    fanOut?.dispose();
  }
}

/** {@link copy}, with the caller's signal fanned out for its calls (`signal`). */
async function copyTree<V, W>(
  from: Store<V>,
  to: Store<W>,
  options: CopyOptions,
  signal: AbortSignal | undefined,
): Promise<CopySummary> {
  const { dryRun = false, overwrite = false, concurrency = 16, timeout, onProgress } = options;
  const dropFlags = options.dropFlags ?? false;
  const prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
  const call = { ...(signal ? { signal } : {}), ...(timeout ? { timeout } : {}) };
  const reads = { ...call, consistent: true };
  // What the target holds, as a summary per key (not its values): the copy costs one write per
  // changed key, and its memory does not grow with the target's values.
  const [{ keys: target }, sourceParents] = await Promise.all([
    summarizeTree(to, prefix, reads),
    to.capabilities.typedDirectories && !from.capabilities.typedDirectories
      ? pathsWithChildren(from, prefix, reads)
      : undefined,
  ]);
  const summary: CopySummary = {
    dryRun,
    copied: [],
    dirs: [],
    skipped: [],
    failed: [],
    adjusted: [],
    extra: [],
  };
  let total = 0;
  let done = 0;
  const report = (key: string): void =>
    onProgress?.({
      total,
      done: ++done,
      copied: summary.copied.length + summary.dirs.length,
      skipped: summary.skipped.length,
      failed: summary.failed.length,
      key,
    });
  const fail = (key: string, error: unknown): void => {
    summary.failed.push({ key, error });
    report(key);
  };
  /** Notes of keys held on the source; they go to `adjusted` once the key is carried. */
  const holds = new Map<string, string>();
  /** Notes of keys being written: they go to `adjusted` once the key is carried. */
  const notes = new Map<string, string[]>();
  const settle = (key: string, error: unknown): void => {
    if (error === undefined) {
      summary.copied.push(key);
      for (const note of notes.get(key) ?? []) summary.adjusted.push({ key, note });
    } else summary.failed.push({ key, error });
    notes.delete(key);
    report(key);
  };
  const writes = new CopyWrites(to, { call, signal, concurrency, dryRun, settle });

  /** Decides one source value (no I/O) and hands it to the writer, unless it is skipped or refused. */
  const carry = async (entry: Entry<V>, existing: KeySummary | undefined): Promise<void> => {
    const key = entry.key;
    if (sourceParents?.has(key)) return fail(key, valueWithChildrenError(key, to));
    const ttl = planTtl(entry.expiresAt, to);
    const flags = planFlags(entry, to, dropFlags);
    if ('error' in flags) return fail(key, flags.error);
    const raw = from.codec.encode(entry.value);
    const sameFlags = !to.capabilities.flags || (flags.flags ?? 0n) === existing?.flags;
    let reason: SkipReason | undefined;
    if (ttl === 'expired') reason = 'expired';
    else if (existing && sameFlags && existing.digest === valueDigest(raw)) reason = 'same';
    else if (existing && !overwrite) reason = 'exists';
    if (reason !== undefined) {
      summary.skipped.push({ key, reason });
      return report(key);
    }
    let value: W;
    try {
      value = decodeValue(to.codec, raw, key);
    } catch (error) {
      return fail(key, error);
    }
    const named = [(ttl as Exclude<TtlPlan, 'expired'>).note, flags.note, holds.get(key)].filter(
      (note): note is string => note !== undefined,
    );
    if (named.length > 0) notes.set(key, named);
    await writes.add(
      {
        key,
        value,
        prevIndex: existing?.index ?? 0,
        ...(flags.flags !== undefined ? { flags: flags.flags } : {}),
      },
      (ttl as Exclude<TtlPlan, 'expired'>).ttl,
    );
  };

  /** A directory with a TTL, made (with it) before anything is written into it. */
  const makeTimedDir = async (dir: DirEntry): Promise<void> => {
    const plan = planTtl(dir.expiresAt, to);
    if (plan === 'expired') {
      summary.skipped.push({ key: dir.key, reason: 'expired' });
      return report(dir.key);
    }
    try {
      if (!dryRun) await to.mkdir(dir.key, { ...call, ttl: plan.ttl });
      summary.dirs.push(dir.key);
      if (plan.note !== undefined) summary.adjusted.push({ key: dir.key, note: plan.note });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (isPolykvError(error) && error.code === 'ALREADY_EXISTS')
        summary.skipped.push({ key: dir.key, reason: 'exists' });
      else summary.failed.push({ key: dir.key, error: ttlRefusal(error, dir.key, to, true) });
    }
    report(dir.key);
  };

  const parents = new Set<string>();
  const dirs = new Set<string>();
  let values = 0;
  for await (const page of readPages(from, prefix, reads)) {
    throwIfAborted(signal);
    for (const hold of page.holds) holds.set(hold.key, holdNote(hold));
    const timedDirs: DirEntry[] = [];
    total += page.unlisted.length;
    for (const entry of page.entries) {
      if (!entry.dir) total++;
      else if (entry.expiresAt !== undefined) {
        total++;
        timedDirs.push(entry);
      } else dirs.add(entry.key);
    }
    for (const unlisted of page.unlisted) {
      const { key, error } = unlistedFailure(unlisted);
      fail(key, error);
    }
    parentPaths(
      page.entries.map((entry) => entry.key),
      parents,
    );
    timedDirs.sort((a, b) => a.key.split('/').length - b.key.split('/').length);
    for (const dir of timedDirs) await makeTimedDir(dir);
    for (const entry of page.entries) {
      if (entry.dir) continue;
      values++;
      await carry(entry, target.get(entry.key));
      target.delete(entry.key);
    }
  }
  if (values === 0 && dirs.size === 0 && prefix !== '') {
    // `prefix` may name one key rather than a directory: copy that key.
    const single = await from.get(prefix, call);
    if (single) {
      total++;
      const existing = await to.get(prefix, call);
      await carry(single, existing ? summarizeEntry(to, existing) : undefined);
    }
  }
  await writes.flush();

  // Empty directories last: a directory with anything below it is made by the writes themselves.
  const empty = [...dirs].filter((dir) => !parents.has(dir));
  total += empty.length;
  await forEachLimit(empty, concurrency, signal, async (dir) => {
    try {
      if (!dryRun) await to.mkdir(dir, call);
      summary.dirs.push(dir);
    } catch (error) {
      if (isPolykvError(error) && error.code === 'ALREADY_EXISTS')
        summary.skipped.push({ key: dir, reason: 'exists' });
      else summary.failed.push({ key: dir, error });
    } finally {
      report(dir);
    }
  });
  // What is left of the target's summary: the keys no source value matched.
  summary.extra = [...target.keys()].sort();
  summary.copied.sort();
  summary.adjusted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return summary;
}

/** Every path below `dir` in `store` that has something below it, read page by page (names only kept). */
async function pathsWithChildren(
  store: Store<unknown>,
  dir: string,
  options: PageOptions,
): Promise<Set<string>> {
  const parents = new Set<string>();
  for await (const page of readPages(store, dir, options))
    parentPaths(
      page.entries.map((entry) => entry.key),
      parents,
    );
  return parents;
}

/** What {@link CopyWrites} needs of the copy. */
interface CopyWriteSettings {
  call: CallOptions;
  signal: AbortSignal | undefined;
  concurrency: number;
  dryRun: boolean;
  /** Called once per write with its outcome: `undefined` when it landed, else the error. */
  settle: (key: string, error: unknown) => void;
}

/**
 * The copy's writes as they are decided: into a target with `writeMany`, in batches of
 * {@link BULK_BATCH} (`concurrency / 4` batches in flight); otherwise, and for keys with a TTL, one
 * conditional write per key (`concurrency` in flight). `add` waits while the writes in flight are
 * at the limit, so the copy reads no further ahead than it writes.
 */
class CopyWrites<W> {
  readonly #to: Store<W>;
  readonly #s: CopyWriteSettings;
  readonly #bulk: BulkWriter<W> | undefined;
  readonly #batches: TaskLimiter;
  readonly #singles: TaskLimiter;
  #batch: BulkWrite<W>[] = [];

  constructor(to: Store<W>, settings: CopyWriteSettings) {
    this.#to = to;
    this.#s = settings;
    this.#bulk = isBulkWriter<W>(to) && !settings.dryRun ? to : undefined;
    this.#batches = new TaskLimiter(Math.ceil(settings.concurrency / 4));
    this.#singles = new TaskLimiter(settings.concurrency);
  }

  /** Queues one write (`ttl`: seconds, written alone); waits while the writes in flight are at the limit. */
  async add(write: BulkWrite<W>, ttl: number | undefined): Promise<void> {
    throwIfAborted(this.#s.signal);
    if (this.#bulk === undefined || ttl !== undefined)
      return this.#singles.start(() => this.#writeOne(write, ttl));
    this.#batch.push(write);
    if (this.#batch.length >= BULK_BATCH) await this.#sendBatch();
  }

  /** Sends what is queued and waits for every write. */
  async flush(): Promise<void> {
    if (this.#batch.length > 0) await this.#sendBatch();
    await Promise.all([this.#batches.drain(), this.#singles.drain()]);
  }

  async #sendBatch(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    const bulk = this.#bulk!;
    await this.#batches.start(async () => {
      const errors = await bulk.writeMany(batch, this.#s.call);
      batch.forEach((write, i) => this.#s.settle(write.key, errors[i]));
    });
  }

  async #writeOne(write: BulkWrite<W>, ttl: number | undefined): Promise<void> {
    const { call, signal, dryRun, settle } = this.#s;
    if (dryRun) return settle(write.key, undefined);
    const writeOptions = extend(
      call,
      ttl !== undefined ? { ttl } : {},
      write.flags !== undefined ? { flags: write.flags } : {},
    );
    try {
      const condition =
        write.prevIndex === 0 ? { prevExist: false as const } : { prevIndex: write.prevIndex };
      await this.#to.compareAndSwap(write.key, write.value, condition, writeOptions);
      settle(write.key, undefined);
    } catch (error) {
      if (signal?.aborted) throw error;
      settle(write.key, ttl === undefined ? error : ttlRefusal(error, write.key, this.#to, false));
    }
  }
}
