import {
  extend,
  isReservedKey,
  keyProblem,
  type DirEntry,
  type KeySpace,
  type UnlistedKey,
} from '@polykv/core';
import type { KvApi } from '../api/kv.js';
import type { KeyValue, RequestOp } from '../proto/kv.js';
import { prefixEnd, type BytesLike } from '../proto/wire.js';
import { modelled } from './common.js';

/** Keys per request while listing. */
const PAGE = 256;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One item `list` found: a value, or a directory (from a marker key, or implied by deeper keys). */
export type Listed =
  { kind: 'value'; path: string; kv: KeyValue } | { kind: 'dir'; path: string; marker: KeyValue | undefined };

/** The key range of everything below a backend directory path (`''`: the whole key space). */
export function below(dir: string): { key: Uint8Array | string; end: Uint8Array } {
  return dir === ''
    ? { key: new Uint8Array([0]), end: new Uint8Array([0]) }
    : { key: `${dir}/`, end: prefixEnd(`${dir}/`) };
}

/** A key's text, or `undefined` when it is not UTF-8 (no key of the portable model). */
export function keyText(kv: KeyValue): string | undefined {
  try {
    return decoder.decode(kv.key);
  } catch {
    return undefined;
  }
}

/**
 * The direct children of `dir`, by a skip scan: keys are read in order, {@link PAGE} per request,
 * and at the first key below a child directory the scan jumps past that directory's subtree (to
 * `child0`, the first key after every `child/...`). The cost grows with the number of children,
 * not with the size of their subtrees. `revision` pins every page to one snapshot.
 */
export async function listChildren(
  kv: KvApi,
  dir: string,
  call: { signal?: AbortSignal; serializable?: boolean },
): Promise<Listed[]> {
  const { key: start, end } = below(dir);
  const base = dir === '' ? '' : `${dir}/`;
  const out: Listed[] = [];
  let from: Uint8Array | string = start;
  let revision = 0;
  for (;;) {
    const page = await kv.range(from, { end, limit: PAGE, ...(revision ? { revision } : {}), ...call });
    revision ||= page.header.revision;
    let jump: string | undefined;
    let inside: string | undefined;
    for (const item of page.kvs) {
      const path = keyText(item);
      if (path === undefined || !path.startsWith(base)) continue;
      if (inside !== undefined && path.startsWith(inside)) continue;
      const rest = path.slice(base.length);
      if (rest === '') continue; // the directory's own marker
      const slash = rest.indexOf('/');
      if (slash === -1) {
        out.push({ kind: 'value', path, kv: item });
        continue;
      }
      const child = `${base}${rest.slice(0, slash)}`;
      // The marker `child/` is the first key of the child's subtree, when there is one.
      out.push({ kind: 'dir', path: child, marker: rest.length === slash + 1 ? item : undefined });
      inside = `${child}/`;
      jump = `${child}0`;
    }
    if (!page.more) return out;
    const last = page.kvs[page.kvs.length - 1]!.key;
    const next = Buffer.concat([last, Buffer.from([0])]);
    from = jump !== undefined && Buffer.compare(Buffer.from(jump), next) > 0 ? jump : next;
  }
}

/** Every key below `dir`, in pages pinned to one revision. */
export async function listTree(
  kv: KvApi,
  dir: string,
  call: { signal?: AbortSignal; serializable?: boolean },
): Promise<KeyValue[]> {
  const { key, end } = below(dir);
  return (await readRange(kv, key, end, call)).kvs;
}

/**
 * Every key in `[key, end)` (`end` undefined: the key alone), in pages of 1,000 pinned to the first
 * page's revision, so the read is one snapshot; resolves the keys and that revision.
 */
export async function readRange(
  kv: KvApi,
  key: BytesLike,
  end: BytesLike | undefined,
  call: { signal?: AbortSignal; serializable?: boolean },
): Promise<{ kvs: KeyValue[]; revision: number }> {
  if (end === undefined) {
    const single = await kv.range(key, call);
    return { kvs: single.kvs, revision: single.header.revision };
  }
  const out: KeyValue[] = [];
  let from: BytesLike = key;
  let revision = 0;
  for (;;) {
    const page = await kv.range(from, { end, limit: 1000, ...(revision ? { revision } : {}), ...call });
    revision ||= page.header.revision;
    out.push(...page.kvs);
    if (!page.more) return { kvs: out, revision };
    from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}

/**
 * Deletes `path` and everything below it in one transaction; for the store's root (`reserved` given:
 * the `.polykv` path), everything but the library's own keys (locks, push counters). Resolves
 * whether anything was deleted.
 */
export async function deleteTree(
  kv: KvApi,
  path: string,
  reserved: string | undefined,
  call: { signal?: AbortSignal },
): Promise<boolean> {
  const { key, end } = below(path);
  const ops: RequestOp[] =
    reserved === undefined
      ? [{ deleteRange: { key: path } }, { deleteRange: { key, rangeEnd: end } }]
      : [
          { deleteRange: { key, rangeEnd: `${reserved}/` } },
          { deleteRange: { key: prefixEnd(`${reserved}/`), rangeEnd: end } },
        ];
  const response = await kv.txn({ success: ops }, call);
  return response.responses.some((op) => 'deleteRange' in op && op.deleteRange.deleted > 0);
}

/**
 * What `list` shows of the keys below `path`: the values (with their Store keys) and the
 * directories (from `dir/` markers, or implied by deeper keys; `index` 0 when there is no marker).
 * Keys outside the key model and the reserved space are left out.
 */
export class TreeListing {
  readonly values: { kv: KeyValue; key: string }[] = [];
  readonly #dirs = new Map<string, DirEntry>();
  readonly #keys: KeySpace;
  readonly #base: string;

  /** @param path - the backend path listed (`''`: the whole key space). */
  constructor(keys: KeySpace, path: string) {
    this.#keys = keys;
    this.#base = path === '' ? '' : `${path}/`;
  }

  /** The directories found, one entry each. */
  get dirs(): DirEntry[] {
    return [...this.#dirs.values()];
  }

  /** A directory at a backend path; `marker`: its `dir/` key, when it has one. */
  addDir(backend: string, marker: KeyValue | undefined): void {
    const key = this.#keys.fromBackend(backend);
    if (key === undefined || !modelled(key)) return;
    const existing = this.#dirs.get(backend);
    if (existing && (marker === undefined || existing.index !== 0)) return;
    this.#dirs.set(backend, {
      key,
      dir: true,
      index: marker?.modRevision ?? 0,
      createIndex: marker?.createRevision ?? 0,
    });
  }

  /** A value at backend path `text`. */
  addValue(text: string, item: KeyValue): void {
    const key = this.#keys.fromBackend(text);
    if (key !== undefined && modelled(key)) this.values.push({ kv: item, key });
  }

  /** One key of a read of the whole tree: a value, a marker, and the directories above it. */
  addTreeItem(item: KeyValue): void {
    const base = this.#base;
    const text = keyText(item);
    if (text === undefined || !text.startsWith(base) || text === base) return;
    const marker = text.endsWith('/');
    const rest = (marker ? text.slice(0, -1) : text).slice(base.length);
    const segments = rest.split('/');
    for (let i = 1; i < segments.length; i++) this.addDir(base + segments.slice(0, i).join('/'), undefined);
    if (marker) this.addDir(base + rest, item);
    else this.addValue(text, item);
  }
}

/** What `list` shows below `path` (see {@link TreeListing}), read in one snapshot. */
export async function listing(
  kv: KvApi,
  keys: KeySpace,
  path: string,
  recursive: boolean,
  call: { signal?: AbortSignal; serializable?: boolean },
): Promise<{ values: { kv: KeyValue; key: string }[]; dirs: DirEntry[] }> {
  const tree = new TreeListing(keys, path);
  if (recursive) for (const item of await listTree(kv, path, call)) tree.addTreeItem(item);
  else
    for (const item of await listChildren(kv, path, call)) {
      if (item.kind === 'dir') tree.addDir(item.path, item.marker);
      else tree.addValue(item.path, item.kv);
    }
  return { values: tree.values, dirs: tree.dirs };
}

/**
 * Keys below `path` that etcd holds and `list` leaves out (see `Etcd3Store.unlisted`); `prefix` is
 * the store's, which the paths are relative to.
 */
export async function unlistedBelow(
  kv: KvApi,
  path: string,
  prefix: string,
  call: { signal?: AbortSignal },
): Promise<UnlistedKey[]> {
  const out: UnlistedKey[] = [];
  for (const item of await listTree(kv, path, extend(call, { serializable: false }))) {
    const why = unlistedItem(item, prefix);
    if (why) out.push(why);
  }
  return out;
}

/** Why `list` leaves `item` out, or `undefined` when it does not; `prefix` is the store's. */
export function unlistedItem(item: KeyValue, prefix: string): UnlistedKey | undefined {
  const text = keyText(item);
  if (text === undefined) {
    const shown = JSON.stringify(item.key.toString('latin1')).slice(1, -1);
    return { path: shown, code: 'invalid-key', reason: 'the key is not UTF-8' };
  }
  const relative = text.slice(prefix === '' ? 0 : prefix.length + 1);
  const marker = relative.endsWith('/');
  const body = marker ? relative.slice(0, -1) : relative;
  if (body === '' || isReservedKey(body)) return undefined;
  const problem = keyProblem(body);
  if (problem !== undefined) return { path: relative, code: 'invalid-key', reason: problem };
  if (marker && item.value.byteLength > 0)
    return {
      path: relative,
      code: 'trailing-slash',
      reason: `the key ends in "/" and holds a value of ${item.value.byteLength} bytes; the key model has no key ending in "/" (an empty "dir/" is a directory)`,
    };
  return undefined;
}
