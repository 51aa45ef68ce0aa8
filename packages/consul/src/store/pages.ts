import { readAhead, type ListPage } from '@polykv/core';
import type { Kv, KvPair } from '../api/kv.js';
import type { SessionEntry } from '../api/session.js';
import type { QueryOptions } from '../options.js';
import type { StoreParts } from './common.js';
import { foreignHolds, listEntries, unlistedKeys } from './list.js';

/**
 * Keys per page of a paged read (at most). What a copy has read and not yet written is held across
 * V8's young-generation collections and promoted, so it is garbage the old generation grows by:
 * bench S8, Consul → etcd, 100,000 keys, with pages of 1,000 and 4 read ahead, peak RSS 206–213 MB
 * for `copy` and 274–303 MB for `mirror`; with these pages (100 keys each in S8's tree) and 2 read
 * ahead, 171–187 MB and 206–208 MB, at the same speed (ad hoc runs of the S8 child, 4 and 2 each).
 */
export const PAGE_KEYS = 250;

/** Pages read ahead of the consumer unless the caller says otherwise (see {@link PAGE_KEYS}). */
export const PAGES_AHEAD = 2;

/** One read of a paged read: every key starting with `prefix` (`tree`), or the key `prefix` alone. */
export interface PageRead {
  /** The Consul key prefix to read (or the one key). */
  prefix: string;
  /** True: `?recurse` of `prefix`; false: the key `prefix` alone. */
  tree: boolean;
}

/**
 * Splits key names (all starting with `root`) into reads of at most `size` keys each: a prefix with
 * more keys is split by the character after it, the key equal to the prefix read alone. Consul
 * reads by prefix only, so this is how a tree is read in bounded pieces. The names are sorted
 * first: keys sharing a prefix are then next to each other, whatever order Consul used.
 */
function planPages(names: string[], root: string, size: number): PageRead[] {
  names.sort();
  const out: PageRead[] = [];
  const split = (lo: number, hi: number, prefix: string): void => {
    if (hi - lo <= size) {
      out.push({ prefix, tree: true });
      return;
    }
    if (names[lo] === prefix) {
      out.push({ prefix, tree: false });
      lo++;
    }
    while (lo < hi) {
      // By code point, so that a prefix never ends inside a surrogate pair (it must be valid UTF-8).
      const next = prefix + String.fromCodePoint(names[lo]!.codePointAt(prefix.length)!);
      let end = lo + 1;
      while (end < hi && names[end]!.startsWith(next)) end++;
      split(lo, end, next);
      lo = end;
    }
  };
  if (names.length > 0) split(0, names.length, root);
  return out;
}

/** One page of a plan: the prefix's tree (`?recurse`), or the key alone. */
async function readPage(kv: Kv, { prefix, tree }: PageRead, options: QueryOptions): Promise<KvPair[]> {
  if (tree) return (await kv.list(prefix, options)).data;
  const { data } = await kv.get(prefix, options);
  return data ? [data] : [];
}

/**
 * `readPages`: the key names of `folder` (`?keys`, no values), then `?recurse` reads of prefixes of
 * about {@link PAGE_KEYS} keys each, `concurrency` ahead, each mapped as `list`, `unlisted` and
 * `foreignHolds` map a whole listing. `run` runs one request as a Store call (deadline, errors).
 */
export async function* consulPages<V>(
  parts: StoreParts<V>,
  folder: string,
  concurrency: number,
  run: <T>(fn: (call: QueryOptions) => Promise<T>) => Promise<T>,
): AsyncGenerator<ListPage<V>, void, undefined> {
  const names = await run(async (call) => (await parts.client.kv.keys(folder, call)).data);
  const plan = planPages(names, folder, PAGE_KEYS);
  // The plan holds prefixes, not names: let the names go rather than keep them for the whole read
  // (100,000 keys: the live heap of S8's copy 4.7 MB smaller, heap after a full GC at 25,000 keys).
  names.length = 0;
  const read = (page: PageRead): Promise<KvPair[]> => run((call) => readPage(parts.client.kv, page, call));
  const sessions = new Map<string, SessionEntry | null>();
  for await (const pairs of readAhead(plan, read, concurrency))
    yield {
      entries: listEntries(parts, pairs, folder, true),
      unlisted: unlistedKeys(parts.keys, pairs, folder),
      holds: await run((call) => foreignHolds(parts, pairs, call, sessions)),
    };
}
