import type { Codec, KeySpace, ListPage, UnlistedKey } from '@polykv/core';
import type { Etcd3Client } from '../client.js';
import { listedEntries } from './entries.js';
import { below, TreeListing, unlistedItem } from './list.js';

/** Keys per page of a paged read (one `Range` request each, at one revision). */
const PAGE_KEYS = 1000;

/** What a paged read needs of the store. */
export interface PageParts<V> {
  readonly client: Etcd3Client;
  readonly keys: KeySpace;
  readonly codec: Codec<V>;
  /** The store's prefix (the paths of `unlisted` are relative to it). */
  readonly prefix: string;
}

/**
 * `readPages`: the tree below backend path `path` in `Range` pages of {@link PAGE_KEYS} keys, every
 * page at the first page's revision (one snapshot, as `list` reads it), each mapped as `list`
 * (recursive) and `unlisted` map the whole tree. `run` runs one page's requests as a Store call.
 */
export async function* etcd3Pages<V>(
  parts: PageParts<V>,
  path: string,
  serializable: boolean,
  run: <T>(fn: (call: { signal?: AbortSignal }) => Promise<T>) => Promise<T>,
): AsyncGenerator<ListPage<V>, void, undefined> {
  const { key: start, end } = below(path);
  let from: Uint8Array | string = start;
  let revision = 0;
  for (;;) {
    const { page, entries } = await run(async (call) => {
      const read = { end, limit: PAGE_KEYS, serializable, ...(revision ? { revision } : {}), ...call };
      const answer = await parts.client.kv.range(from, read);
      const tree = new TreeListing(parts.keys, path);
      for (const item of answer.kvs) tree.addTreeItem(item);
      const mapped = await listedEntries(parts.client.lease, parts.codec, tree, call);
      return { page: answer, entries: mapped };
    });
    revision ||= page.header.revision;
    const unlisted: UnlistedKey[] = [];
    for (const item of page.kvs) {
      const why = unlistedItem(item, parts.prefix);
      if (why) unlisted.push(why);
    }
    yield { entries, unlisted, holds: [] };
    if (!page.more || page.kvs.length === 0) return;
    from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}
