import { isPolykvError } from './errors.js';
import { decodeValue, sameRaw } from './codec.js';
import {
  holdNotes,
  planFlags,
  planTtl,
  ttlRefusal,
  unlistedFailures,
  valueWithChildrenError,
  valuesWithChildren,
  type TtlPlan,
} from './fidelity.js';
import { normalizeKey, parentPaths } from './keys.js';
import { fanOutSignal, throwIfAborted, type CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { DirEntry, Entry, ListEntry } from './types.js';

/** Progress of a {@link copy}, reported after every key. */
export interface CopyProgress {
  /** Keys and empty directories to look at. */
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
}

/** Runs `work` over `items` with at most `limit` in flight; stops starting new work once `signal` aborts. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      throwIfAborted(signal);
      await work(items[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** One write of a bulk copy: `prevIndex` is the target key's index, 0 when it must not exist. */
export interface BulkWrite<V> {
  /** The key, relative to the target store. */
  key: string;
  /** The value to write, in the target's codec. */
  value: V;
  /** The target key's index the write is conditional on; 0: the key must not exist. */
  prevIndex: number;
  /** The key's flags (only on targets with `capabilities.flags`); none writes 0. */
  flags?: bigint;
}

/**
 * An optional capability of a Store: writing many keys in few round trips (the Consul store sends one
 * transaction per batch). `copy` uses it when the target has it. Each write is conditional on
 * `prevIndex`; the result has one entry per write: `undefined` for success, else the error.
 */
export interface BulkWriter<V> {
  /** Writes a batch; resolves one entry per write: `undefined` when it was written, else its error. */
  writeMany(writes: readonly BulkWrite<V>[], options?: CallOptions): Promise<unknown[]>;
}

/** Writes per batch: Consul's transaction limit. */
const BULK_BATCH = 64;

/** True when `store` offers {@link BulkWriter.writeMany}. */
export function isBulkWriter<V>(store: object): store is BulkWriter<V> {
  return typeof (store as Partial<BulkWriter<V>>).writeMany === 'function';
}

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
 */
export async function copy<V, W = V>(
  from: Store<V>,
  to: Store<W>,
  options: CopyOptions = {},
): Promise<CopySummary> {
  const { dryRun = false, overwrite = false, concurrency = 16, timeout, onProgress } = options;
  const signal = options.signal && fanOutSignal(options.signal);
  const dropFlags = options.dropFlags ?? false;
  const prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
  const call = { ...(signal ? { signal } : {}), ...(timeout ? { timeout } : {}) };
  let listed = await from.list(prefix, { ...call, recursive: true, consistent: true });
  if (listed.length === 0 && prefix !== '') {
    const single = await from.get(prefix, call);
    if (single) listed = [single];
  }
  const values = listed.filter((entry): entry is Entry<V> => !entry.dir);
  // One listing of the target instead of a read per key: the copy costs one write per changed key.
  const [targetListing, unlisted, holds] = await Promise.all([
    to.list(prefix, { ...call, recursive: true, consistent: true }),
    unlistedFailures(from, prefix, call),
    holdNotes(from, prefix, call),
  ]);
  const target = new Map<string, Entry<W>>();
  for (const entry of targetListing) if (!entry.dir) target.set(entry.key, entry);
  if (targetListing.length === 0 && prefix !== '' && values.length === 1) {
    const single = await to.get(prefix, call);
    if (single) target.set(single.key, single);
  }
  // Directories with a TTL are made first (with it), so that their children are written into them.
  const timedDirs = listed
    .filter((entry): entry is DirEntry => entry.dir === true && entry.expiresAt !== undefined)
    .sort((a, b) => a.key.split('/').length - b.key.split('/').length);
  const timed = new Set(timedDirs.map((entry) => entry.key));
  const dirs = emptyDirs(listed).filter((dir) => !timed.has(dir));
  const withChildren = to.capabilities.typedDirectories ? valuesWithChildren(listed) : new Set<string>();
  const summary: CopySummary = { dryRun, copied: [], dirs: [], skipped: [], failed: [], adjusted: [] };
  const total = values.length + dirs.length + timedDirs.length + unlisted.length;
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
  for (const { key, error } of unlisted) fail(key, error);
  /** Notes of keys being written: they go to `adjusted` once the key is carried. */
  const notes = new Map<string, string[]>();
  const noteAll = (key: string): void => {
    for (const note of notes.get(key) ?? []) summary.adjusted.push({ key, note });
  };

  for (const dir of timedDirs) {
    const plan = planTtl(dir.expiresAt, to);
    if (plan === 'expired') {
      summary.skipped.push({ key: dir.key, reason: 'expired' });
      report(dir.key);
      continue;
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
  }

  // Decide every key first (no I/O); then write: TTL'd keys one by one, the others in batches
  // when the target can write many keys per round trip (Consul: one transaction per batch).
  const plain: BulkWrite<W>[] = [];
  const ttls: { write: BulkWrite<W>; ttl: number }[] = [];
  for (const entry of values) {
    const key = entry.key;
    if (withChildren.has(key)) {
      fail(key, valueWithChildrenError(key, to));
      continue;
    }
    const ttl = planTtl(entry.expiresAt, to);
    const flags = planFlags(entry, to, dropFlags);
    if ('error' in flags) {
      fail(key, flags.error);
      continue;
    }
    const raw = from.codec.encode(entry.value);
    const existing = target.get(key);
    const sameFlags = !to.capabilities.flags || (flags.flags ?? 0n) === (existing?.flags ?? 0n);
    let reason: SkipReason | undefined;
    if (ttl === 'expired') reason = 'expired';
    else if (existing && sameFlags && sameRaw(to.codec.encode(existing.value), raw)) reason = 'same';
    else if (existing && !overwrite) reason = 'exists';
    if (reason !== undefined) {
      summary.skipped.push({ key, reason });
      report(key);
      continue;
    }
    let value: W;
    try {
      value = decodeValue(to.codec, raw, key);
    } catch (error) {
      fail(key, error);
      continue;
    }
    const write: BulkWrite<W> = {
      key,
      value,
      prevIndex: existing?.index ?? 0,
      ...(flags.flags !== undefined ? { flags: flags.flags } : {}),
    };
    const keyNotes = [(ttl as Exclude<TtlPlan, 'expired'>).note, flags.note, holds.get(key)];
    const named = keyNotes.filter((note): note is string => note !== undefined);
    if (named.length > 0) notes.set(key, named);
    const seconds = (ttl as Exclude<TtlPlan, 'expired'>).ttl;
    if (seconds === undefined) plain.push(write);
    else ttls.push({ write, ttl: seconds });
  }
  const settle = (key: string, error: unknown): void => {
    if (error === undefined) {
      summary.copied.push(key);
      noteAll(key);
    } else summary.failed.push({ key, error });
    report(key);
  };
  const writeOne = async (write: BulkWrite<W>, ttl?: number): Promise<void> => {
    if (dryRun) return settle(write.key, undefined);
    const writeOptions = {
      ...call,
      ...(ttl !== undefined ? { ttl } : {}),
      ...(write.flags !== undefined ? { flags: write.flags } : {}),
    };
    try {
      const condition =
        write.prevIndex === 0 ? { prevExist: false as const } : { prevIndex: write.prevIndex };
      await to.compareAndSwap(write.key, write.value, condition, writeOptions);
      settle(write.key, undefined);
    } catch (error) {
      if (signal?.aborted) throw error;
      settle(write.key, ttl === undefined ? error : ttlRefusal(error, write.key, to, false));
    }
  };
  const bulk = isBulkWriter<W>(to) && !dryRun ? to : undefined;
  if (bulk) {
    const batches: BulkWrite<W>[][] = [];
    for (let at = 0; at < plain.length; at += BULK_BATCH) batches.push(plain.slice(at, at + BULK_BATCH));
    await forEachLimit(batches, Math.max(1, Math.ceil(concurrency / 4)), signal, async (batch) => {
      const errors = await bulk.writeMany(batch, call);
      batch.forEach((write, i) => settle(write.key, errors[i]));
    });
  } else {
    await forEachLimit(plain, concurrency, signal, (write) => writeOne(write));
  }
  await forEachLimit(ttls, concurrency, signal, ({ write, ttl }) => writeOne(write, ttl));

  await forEachLimit(dirs, concurrency, signal, async (dir) => {
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
  summary.copied.sort();
  summary.adjusted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return summary;
}

/** What {@link diff} found. */
export interface DiffResult {
  /** Keys with a value in `a` and none in `b`. */
  missing: string[];
  /** Keys with a value in `b` and none in `a`. */
  extra: string[];
  /** Keys whose values (byte for byte) or flags differ. */
  different: string[];
  /** Keys a side holds that its `list` cannot return (see `Store.unlisted`): not compared, named. */
  unlisted: {
    /** Which store holds it: `a` or `b`, as passed to {@link diff}. */
    side: 'a' | 'b';
    /** The backend's path of the key, as that store's `unlisted` names it. */
    path: string;
    /** Why `list` cannot return it. */
    reason: string;
  }[];
}

/** Compares the values and flags below `prefix` in two stores. Empty when they hold the same data. */
export async function diff<V, W = V>(
  a: Store<V>,
  b: Store<W>,
  options: CallOptions & { prefix?: string } = {},
): Promise<DiffResult> {
  const prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
  const call = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
  };
  const [left, right, unlistedA, unlistedB] = await Promise.all([
    a.list(prefix, { ...call, recursive: true, consistent: true }),
    b.list(prefix, { ...call, recursive: true, consistent: true }),
    a.unlisted(prefix, call),
    b.unlisted(prefix, call),
  ]);
  const rightValues = new Map<string, { raw: string | Uint8Array; flags: bigint }>();
  for (const entry of right)
    if (!entry.dir)
      rightValues.set(entry.key, { raw: b.codec.encode(entry.value), flags: entry.flags ?? 0n });
  const result: DiffResult = {
    missing: [],
    extra: [],
    different: [],
    unlisted: [
      ...unlistedA.map(({ path, reason }) => ({ side: 'a' as const, path, reason })),
      ...unlistedB.map(({ path, reason }) => ({ side: 'b' as const, path, reason })),
    ],
  };
  const seen = new Set<string>();
  for (const entry of left) {
    if (entry.dir) continue;
    seen.add(entry.key);
    const other = rightValues.get(entry.key);
    if (other === undefined) result.missing.push(entry.key);
    else if ((entry.flags ?? 0n) !== other.flags || !sameRaw(a.codec.encode(entry.value), other.raw))
      result.different.push(entry.key);
  }
  for (const key of rightValues.keys()) if (!seen.has(key)) result.extra.push(key);
  result.extra.sort();
  return result;
}
