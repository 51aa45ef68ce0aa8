import type { KvApi } from '../api/kv.js';
import type { KeyValue, RequestOp } from '../proto/kv.js';
import { prefixEnd } from '../proto/wire.js';

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
  const { key: start, end } = below(dir);
  const out: KeyValue[] = [];
  let from: Uint8Array | string = start;
  let revision = 0;
  for (;;) {
    const page = await kv.range(from, { end, limit: 1000, ...(revision ? { revision } : {}), ...call });
    revision ||= page.header.revision;
    out.push(...page.kvs);
    if (!page.more) return out;
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
