import { normalizeKey } from './keys.js';
import { readPages, summarizeTree, valueDigest } from './pages.js';
import type { CallOptions } from './signal.js';
import type { Store } from './store.js';

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

/**
 * Compares the values and flags below `prefix` in two stores. Empty when they hold the same data.
 * Streamed like `copy`: `b` is held as a digest per key, `a` is read page by page against it.
 */
export async function diff<V, W = V>(
  a: Store<V>,
  b: Store<W>,
  options: CallOptions & { prefix?: string } = {},
): Promise<DiffResult> {
  const prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
  const reads = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
    consistent: true,
  };
  const right = await summarizeTree(b, prefix, reads);
  const result: DiffResult = { missing: [], extra: [], different: [], unlisted: [] };
  for await (const page of readPages(a, prefix, reads)) {
    for (const { path, reason } of page.unlisted) result.unlisted.push({ side: 'a', path, reason });
    for (const entry of page.entries) {
      if (entry.dir) continue;
      const other = right.keys.get(entry.key);
      if (other === undefined) result.missing.push(entry.key);
      else if (
        (entry.flags ?? 0n) !== other.flags ||
        valueDigest(a.codec.encode(entry.value)) !== other.digest
      )
        result.different.push(entry.key);
      right.keys.delete(entry.key);
    }
  }
  for (const { path, reason } of right.unlisted) result.unlisted.push({ side: 'b', path, reason });
  result.extra.push(...right.keys.keys());
  for (const list of [result.missing, result.different, result.extra]) list.sort();
  return result;
}
