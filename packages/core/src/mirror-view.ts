import { isBulkWriter, type BulkWriter } from './copy-writes.js';
import { InvalidArgumentError } from './errors.js';
import { reportsHolds, type HoldReporter } from './fidelity.js';
import { normalizeKey } from './keys.js';
import { isPagedReader, type ListPage, type PagedReader } from './pages.js';
import type { Store } from './store.js';

/** True when `key` is one of `excluded` or lies below one of them. */
export function isExcluded(key: string, excluded: readonly string[]): boolean {
  for (const path of excluded) if (key === path || key.startsWith(`${path}/`)) return true;
  return false;
}

/**
 * Normalizes `mirror`'s `exclude` paths: keys of the store (like `prefix`, not relative to it), each
 * below the prefix. A path outside the prefix is refused rather than ignored: it is almost always a
 * path written relative to the prefix by mistake, and ignoring it would carry what the user meant
 * to keep out.
 */
export function checkExcludes(exclude: unknown, prefix: string): string[] {
  if (exclude === undefined) return [];
  if (!Array.isArray(exclude))
    throw new InvalidArgumentError('exclude', 'exclude must be an array of key paths');
  return exclude.map((path: unknown) => {
    const key = normalizeKey(path, { argument: 'exclude' });
    if (prefix !== '' && !key.startsWith(`${prefix}/`))
      throw new InvalidArgumentError(
        'exclude',
        `exclude ${JSON.stringify(key)} is not below the prefix ${JSON.stringify(prefix)} (exclude paths are full keys, like the prefix)`,
      );
    return key;
  });
}

/**
 * `store` as `copy` and `diff` should see it for a mirror with exclusions: `list`, `unlisted`,
 * `foreignHolds` and `readPages` leave out excluded keys, everything else is the store itself. So an excluded key
 * is neither carried nor, on the target, taken for an extra.
 */
export function excluding<V>(store: Store<V>, excluded: readonly string[]): Store<V> {
  if (excluded.length === 0) return store;
  const shown = (key: string): boolean => !isExcluded(key, excluded);
  const view: Store<V> & Partial<BulkWriter<V> & HoldReporter & PagedReader<V>> = {
    get kind() {
      return store.kind;
    },
    get prefix() {
      return store.prefix;
    },
    get codec() {
      return store.codec;
    },
    get capabilities() {
      return store.capabilities;
    },
    get: (key, options) => store.get(key, options),
    list: async (dir, options) => (await store.list(dir, options)).filter((entry) => shown(entry.key)),
    unlisted: async (dir, options) =>
      (await store.unlisted(dir, options)).filter((entry) => shown(entry.path)),
    set: (key, value, options) => store.set(key, value, options),
    del: (key, options) => store.del(key, options),
    mkdir: (key, options) => store.mkdir(key, options),
    compareAndSwap: (key, value, condition, options) => store.compareAndSwap(key, value, condition, options),
    compareAndDelete: (key, condition, options) => store.compareAndDelete(key, condition, options),
    push: (dir, value, options) => store.push(dir, value, options),
    watch: (key, options) => store.watch(key, options),
    lock: (key, options) => store.lock(key, options),
    semaphore: (key, options) => store.semaphore(key, options),
    close: (options) => store.close(options),
  };
  if (isBulkWriter<V>(store)) view.writeMany = (writes, options) => store.writeMany(writes, options);
  if (reportsHolds(store))
    view.foreignHolds = async (dir, options) =>
      (await store.foreignHolds(dir, options)).filter((hold) => shown(hold.key));
  if (isPagedReader<V>(store))
    view.readPages = async function* (dir, options): AsyncGenerator<ListPage<V>> {
      for await (const page of store.readPages(dir, options))
        yield {
          entries: page.entries.filter((entry) => shown(entry.key)),
          unlisted: page.unlisted.filter((entry) => shown(entry.path)),
          holds: page.holds.filter((hold) => shown(hold.key)),
        };
    };
  return view;
}
