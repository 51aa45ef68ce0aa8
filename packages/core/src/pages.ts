import { hash } from 'node:crypto';
import { extend } from './extend.js';
import { reportsHolds, type ForeignHold } from './fidelity.js';
import type { Store } from './store.js';
import type { Entry, ListEntry, PageOptions, UnlistedKey } from './types.js';

/** One page of a streamed read of a directory tree (see {@link readPages}). */
export interface ListPage<V> {
  /**
   * Entries as `list(dir, { recursive: true })` returns them, for this page's part of the tree. A
   * directory implied by deeper keys may come in more than one page.
   */
  entries: ListEntry<V>[];
  /** Keys of this page that `list` leaves out, as `Store.unlisted` names them. */
  unlisted: UnlistedKey[];
  /** Keys of this page held by sessions the store did not create, as `HoldReporter.foreignHolds` names them. */
  holds: ForeignHold[];
}

/**
 * An optional capability of a Store: reading a whole tree in bounded pages, with what `unlisted`
 * and `foreignHolds` would report, in one pass (Consul: one `?keys` listing, then `?recurse` reads of
 * prefixes holding at most 250 keys each). {@link readPages} uses it when the store has it.
 */
export interface PagedReader<V> {
  /** The tree below `dir` (`''`: everything), page by page; see {@link ListPage}. */
  readPages(dir: string, options?: PageOptions): AsyncIterable<ListPage<V>>;
}

/** True when `store` offers {@link PagedReader.readPages}. */
export function isPagedReader<V>(store: object): store is PagedReader<V> {
  return typeof (store as Partial<PagedReader<V>>).readPages === 'function';
}

/**
 * The tree below `dir`, page by page, so that a copy of a large tree holds one page of values at a
 * time rather than all of them. Together the pages hold what `list(dir, { recursive: true })`,
 * `unlisted(dir)` and (on stores that report them) `foreignHolds(dir)` return, but they are not one
 * snapshot: a key written during the read may or may not be in a page. A directory's entry comes in
 * an earlier page than anything below it.
 *
 * Stores without their own paged read are walked one directory at a time with `list` (etcd v2 and
 * v3, memory://): a page is one directory's children, `concurrency` directories (default 16) read
 * ahead.
 */
export async function* readPages<V>(
  store: Store<V>,
  dir: string,
  options: PageOptions = {},
): AsyncGenerator<ListPage<V>, void, undefined> {
  if (isPagedReader<V>(store)) {
    yield* store.readPages(dir, options);
    return;
  }
  // A directory's page is small (its own children), so more of them are read ahead than Consul's.
  const { concurrency = 16, consistent } = options;
  const call = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
  };
  const [unlisted, holds] = await Promise.all([
    store.unlisted(dir, call),
    reportsHolds(store) ? store.foreignHolds(dir, call) : [],
  ]);
  if (unlisted.length > 0 || holds.length > 0) yield { entries: [], unlisted, holds };
  const list = (path: string): Promise<ListEntry<V>[]> =>
    store.list(path, consistent ? extend(call, { consistent }) : call);
  const subdirectories = (entries: ListEntry<V>[]): string[] =>
    entries.filter((entry) => entry.dir).map((entry) => entry.key);
  for await (const entries of readAhead([dir], list, concurrency, subdirectories))
    yield { entries, unlisted: [], holds: [] };
}

/**
 * Reads `items` with `read`, `concurrency` reads in flight ahead of the consumer, and yields the
 * answers in the items' order. `more` names items found in an answer (a walk's subdirectories):
 * they are read after every item named before them. A consumer that stops early leaves the reads
 * ahead unawaited, and their failures unreported (they are not news then).
 */
export async function* readAhead<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R>,
  concurrency: number,
  more?: (answer: R) => readonly T[],
): AsyncGenerator<R, void, undefined> {
  const waiting = [...items];
  const reading: Promise<R>[] = [];
  let next = 0;
  const fill = (): void => {
    while (reading.length < Math.max(1, concurrency) && next < waiting.length) {
      const answer = read(waiting[next++]!);
      answer.catch(() => undefined);
      reading.push(answer);
    }
  };
  fill();
  while (reading.length > 0) {
    const answer = await reading.shift()!;
    if (more) for (const item of more(answer)) waiting.push(item);
    fill();
    yield answer;
  }
}

/** What a copy or diff keeps of a key it only compares against: its index, flags and a digest. */
export interface KeySummary {
  /** The key's `index` (the condition of a write over it). */
  index: number;
  /** Its flags (0 when it has none). */
  flags: bigint;
  /** The SHA-256 of its bytes (see {@link valueDigest}). */
  digest: string;
}

/**
 * A digest of a value's bytes, so that a copy can hold what a large target holds as a few dozen
 * bytes per key and still tell a same value from a different one (SHA-256: a collision is not a
 * practical concern). Text is hashed as UTF-8, so a string and its bytes have the same digest.
 */
export function valueDigest(raw: string | Uint8Array): string {
  // One-shot: no Hash object per key (copy and diff digest every key of a tree; 1.6x faster here).
  return hash('sha256', raw, 'base64');
}

/** A tree as a copy or diff compares against it: each value key summarized, and the keys `list` leaves out. */
export interface TreeSummary {
  /** Every value key, with its {@link KeySummary}. */
  keys: Map<string, KeySummary>;
  /** The keys `list` cannot return (see `Store.unlisted`). */
  unlisted: UnlistedKey[];
}

/** The tree below `dir` in `store`, summarized (see {@link TreeSummary}), read page by page. */
export async function summarizeTree<V>(
  store: Store<V>,
  dir: string,
  options: PageOptions = {},
): Promise<TreeSummary> {
  const keys = new Map<string, KeySummary>();
  const unlisted: UnlistedKey[] = [];
  for await (const page of readPages(store, dir, options)) {
    unlisted.push(...page.unlisted);
    for (const entry of page.entries) if (!entry.dir) keys.set(entry.key, summarizeEntry(store, entry));
  }
  return { keys, unlisted };
}

/** An entry's {@link KeySummary}. */
export function summarizeEntry<V>(store: Store<V>, entry: Entry<V>): KeySummary {
  return {
    index: entry.index,
    flags: entry.flags ?? 0n,
    digest: valueDigest(store.codec.encode(entry.value)),
  };
}
