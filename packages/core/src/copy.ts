import { isPolykvError } from './errors.js';
import { sameRaw } from './codec.js';
import { normalizeKey } from './keys.js';
import { throwIfAborted, type CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { Entry, ListEntry } from './types.js';

/** Progress of a {@link copy}, reported after every key. */
export interface CopyProgress {
  /** Keys and empty directories to look at. */
  total: number;
  done: number;
  copied: number;
  skipped: number;
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
  onProgress?: (progress: CopyProgress) => void;
}

/** Why a key was skipped. */
export type SkipReason = 'same' | 'exists' | 'expired';

/** What {@link copy} did. */
export interface CopySummary {
  dryRun: boolean;
  /** Keys written (or, with `dryRun`, that would be). */
  copied: string[];
  /** Empty directories created. */
  dirs: string[];
  skipped: { key: string; reason: SkipReason }[];
  failed: { key: string; error: unknown }[];
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
  key: string;
  value: V;
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
  writeMany(writes: readonly BulkWrite<V>[], options?: CallOptions): Promise<unknown[]>;
}

/** Writes per batch: Consul's transaction limit. */
const BULK_BATCH = 64;

/** True when `store` offers {@link BulkWriter.writeMany}. */
export function isBulkWriter<V>(store: object): store is BulkWriter<V> {
  return typeof (store as Partial<BulkWriter<V>>).writeMany === 'function';
}

/** Seconds left of a TTL'd entry on the target's terms, or `'expired'`. */
function remainingTtl(entry: Entry<unknown>, to: Store<unknown>): number | undefined | 'expired' {
  if (!entry.expiresAt) return undefined;
  const seconds = Math.ceil((entry.expiresAt.getTime() - Date.now()) / 1000);
  if (seconds <= 0) return 'expired';
  return Math.max(seconds, to.capabilities.minTtl);
}

/** The directories of a recursive listing that have nothing below them. */
export function emptyDirs(entries: readonly ListEntry<unknown>[]): string[] {
  const keys = entries.map((entry) => entry.key);
  return entries
    .filter((entry) => entry.dir)
    .map((entry) => entry.key)
    .filter((dir) => !keys.some((key) => key.startsWith(`${dir}/`)));
}

/**
 * Copies every key below `prefix` from one store to another (etcd to Consul, memory to either...):
 * values byte for byte (open both stores with `binaryCodec` for arbitrary bytes), empty directories,
 * and the remaining TTL of keys that have one (raised to the target's minimum). Idempotent: keys the
 * target already holds with the same value are skipped, so a re-run after an interruption finishes
 * the job. Keys that fail are listed in the summary; the copy goes on.
 */
export async function copy<V, W = V>(
  from: Store<V>,
  to: Store<W>,
  options: CopyOptions = {},
): Promise<CopySummary> {
  const { dryRun = false, overwrite = false, concurrency = 16, signal, timeout, onProgress } = options;
  const prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
  const call = { ...(signal ? { signal } : {}), ...(timeout ? { timeout } : {}) };
  let listed = await from.list(prefix, { ...call, recursive: true, consistent: true });
  if (listed.length === 0 && prefix !== '') {
    const single = await from.get(prefix, call);
    if (single) listed = [single];
  }
  const values = listed.filter((entry): entry is Entry<V> => !entry.dir);
  // One listing of the target instead of a read per key: the copy costs one write per changed key.
  const targetListing = await to.list(prefix, { ...call, recursive: true, consistent: true });
  const target = new Map<string, Entry<W>>();
  for (const entry of targetListing) if (!entry.dir) target.set(entry.key, entry);
  if (targetListing.length === 0 && prefix !== '' && values.length === 1) {
    const single = await to.get(prefix, call);
    if (single) target.set(single.key, single);
  }
  const dirs = emptyDirs(listed);
  const summary: CopySummary = { dryRun, copied: [], dirs: [], skipped: [], failed: [] };
  const total = values.length + dirs.length;
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

  // Decide every key first (no I/O); then write: TTL'd keys one by one, the others in batches
  // when the target can write many keys per round trip (Consul: one transaction per batch).
  const plain: BulkWrite<W>[] = [];
  const timed: { write: BulkWrite<W>; ttl: number }[] = [];
  for (const entry of values) {
    const ttl = remainingTtl(entry, to);
    const raw = from.codec.encode(entry.value);
    const existing = target.get(entry.key);
    let reason: SkipReason | undefined;
    if (ttl === 'expired') reason = 'expired';
    else if (existing && sameRaw(to.codec.encode(existing.value), raw)) reason = 'same';
    else if (existing && !overwrite) reason = 'exists';
    if (reason !== undefined) {
      summary.skipped.push({ key: entry.key, reason });
      report(entry.key);
      continue;
    }
    const write: BulkWrite<W> = {
      key: entry.key,
      value: to.codec.decode(raw),
      prevIndex: existing?.index ?? 0,
    };
    if (ttl === undefined) plain.push(write);
    else timed.push({ write, ttl: ttl as number });
  }
  const settle = (key: string, error: unknown): void => {
    if (error === undefined) summary.copied.push(key);
    else summary.failed.push({ key, error });
    report(key);
  };
  const writeOne = async (write: BulkWrite<W>, ttl?: number): Promise<void> => {
    if (dryRun) return settle(write.key, undefined);
    const writeOptions = { ...call, ...(ttl !== undefined ? { ttl } : {}) };
    try {
      const condition =
        write.prevIndex === 0 ? { prevExist: false as const } : { prevIndex: write.prevIndex };
      await to.compareAndSwap(write.key, write.value, condition, writeOptions);
      settle(write.key, undefined);
    } catch (error) {
      if (signal?.aborted) throw error;
      settle(write.key, error);
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
  await forEachLimit(timed, concurrency, signal, ({ write, ttl }) => writeOne(write, ttl));

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
  return summary;
}

/** What {@link diff} found. */
export interface DiffResult {
  /** Keys with a value in `a` and none in `b`. */
  missing: string[];
  /** Keys with a value in `b` and none in `a`. */
  extra: string[];
  /** Keys whose values differ (byte for byte). */
  different: string[];
}

/** Compares the values below `prefix` in two stores. Empty when they hold the same data. */
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
  const [left, right] = await Promise.all([
    a.list(prefix, { ...call, recursive: true, consistent: true }),
    b.list(prefix, { ...call, recursive: true, consistent: true }),
  ]);
  const rightValues = new Map<string, string | Uint8Array>();
  for (const entry of right) if (!entry.dir) rightValues.set(entry.key, b.codec.encode(entry.value));
  const result: DiffResult = { missing: [], extra: [], different: [] };
  const seen = new Set<string>();
  for (const entry of left) {
    if (entry.dir) continue;
    seen.add(entry.key);
    const other = rightValues.get(entry.key);
    if (other === undefined) result.missing.push(entry.key);
    else if (!sameRaw(a.codec.encode(entry.value), other)) result.different.push(entry.key);
  }
  for (const key of rightValues.keys()) if (!seen.has(key)) result.extra.push(key);
  result.extra.sort();
  return result;
}
