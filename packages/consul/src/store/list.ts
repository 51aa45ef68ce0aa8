import {
  compareKeyPaths,
  isReservedKey,
  keyProblem,
  type DirEntry,
  type ForeignHold,
  type KeySpace,
  type ListEntry,
  type UnlistedKey,
} from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import type { SessionEntry } from '../api/session.js';
import type { QueryOptions } from '../options.js';
import { toEntry, type StoreParts } from './common.js';
import { unmodelled } from './key-model.js';
import { holderOf } from './ttl.js';

/** How many characters of a Consul key are the store's prefix and its `/`. */
function prefixLength(keys: KeySpace): number {
  return keys.prefix === '' ? 0 : keys.prefix.length + 1;
}

/**
 * `list`: the entries of a folder's listing (`pairs`, read with `?recurse` from `folder`), the
 * directories implied by `/` or marked by an empty `dir/` key, sorted as a tree walk would.
 */
export function listEntries<V>(
  parts: StoreParts<V>,
  pairs: readonly KvPair[],
  folder: string,
  recursive: boolean,
): ListEntry<V>[] {
  const keys = parts.keys;
  const skip = prefixLength(keys);
  const out: ListEntry<V>[] = [];
  const dirs = new Map<string, DirEntry>();
  const addDir = (backendPath: string, marker: KvPair | undefined): void => {
    const existing = dirs.get(backendPath);
    if (existing && (!marker || existing.index !== 0)) return;
    const entry: DirEntry = {
      key: keys.fromBackend(backendPath)!,
      dir: true,
      index: marker?.ModifyIndex ?? 0,
      createIndex: marker?.CreateIndex ?? 0,
    };
    dirs.set(backendPath, entry);
  };
  for (const pair of pairs) {
    const rest = pair.Key.slice(folder.length);
    if (rest === '') continue; // the directory's own marker
    const userKey = keys.fromBackend(pair.Key);
    if (userKey === undefined || isReservedKey(userKey)) continue;
    const isMarker = rest.endsWith('/');
    const relative = pair.Key.slice(skip);
    // A key the model cannot carry (`a//b`, `a/./b`, ...) is left out here and named by `unlisted`.
    if (keyProblem(isMarker ? relative.slice(0, -1) : relative) !== undefined) continue;
    const segments = (isMarker ? rest.slice(0, -1) : rest).split('/');
    // `dir/` holding a value or flags is not a directory marker but a key `unlisted` names: a
    // directory in its place would be a silent change (copy would make an empty folder of it).
    const holding = isMarker && unmodelled(relative, pair) !== undefined;
    if (!recursive) {
      if (segments.length === 1 && !isMarker) out.push(toEntry(parts, pair));
      else if (!(segments.length === 1 && holding))
        addDir(folder + segments[0]!, segments.length === 1 ? pair : undefined);
      continue;
    }
    for (let i = 1; i < segments.length; i++) addDir(folder + segments.slice(0, i).join('/'), undefined);
    if (isMarker) {
      if (!holding) addDir(folder + segments.join('/'), pair);
    } else out.push(toEntry(parts, pair));
  }
  out.push(...dirs.values());
  return out.sort((a, b) => compareKeyPaths(a.key, b.key) || (a.dir ? 1 : -1));
}

/** `unlisted`: the keys of a folder's listing that `list` leaves out, and why. */
export function unlistedKeys(keys: KeySpace, pairs: readonly KvPair[], folder: string): UnlistedKey[] {
  const skip = prefixLength(keys);
  const out: UnlistedKey[] = [];
  for (const pair of pairs) {
    const relative = pair.Key.slice(skip);
    const body = relative.endsWith('/') ? relative.slice(0, -1) : relative;
    if (isReservedKey(body)) continue; // polykv's own space
    if (body === '' || pair.Key === folder) {
      // The folder's (or the prefix's) own marker: a directory unless it holds something.
      const why = unmodelled('x/', pair);
      if (why?.code === 'trailing-slash')
        out.push({ path: relative === '' ? '/' : relative, code: why.code, reason: why.reason });
      continue;
    }
    const why = unmodelled(relative, pair);
    if (why) out.push({ path: relative, code: why.code, reason: why.reason });
  }
  return out;
}

/** `foreignHolds`: the keys of a folder's listing held by sessions the store did not create. */
export async function foreignHolds(
  parts: StoreParts<unknown>,
  pairs: readonly KvPair[],
  call: QueryOptions,
  /** Sessions already looked up (a paged read shares them between pages). */
  sessions = new Map<string, SessionEntry | null>(),
): Promise<ForeignHold[]> {
  const out: ForeignHold[] = [];
  for (const pair of pairs) {
    const key = pair.Session ? parts.keys.fromBackend(pair.Key) : undefined;
    if (key === undefined || isReservedKey(key)) continue;
    const holder = await holderOf(parts.client, pair, pair.Flags, call, sessions);
    if (holder.kind !== 'foreign') continue;
    out.push({ key, session: holder.session, sessionName: holder.info.Name, node: holder.info.Node });
  }
  return out;
}
