import { InvalidArgumentError, KeyTypeError } from '@polykv/core';
import type { Compare, RequestOp, ResponseOp } from '../proto/kv.js';
import { prefixEnd } from '../proto/wire.js';

/**
 * Typed directories on flat keys, checked inside the write's own transaction: a key may be written
 * only while none of its parent paths holds a value (else `NOT_A_DIRECTORY`) and no key lies below
 * it (else `IS_A_DIRECTORY`). Each is a compare (`version = 0`: no such key; over a range: no key
 * in it), so the check and the write are one atomic step. The failure branch reads the same keys'
 * counts, so a refused write says why without another request.
 */

/** etcd's default `--max-txn-ops` is 128: the compares of the deepest key must fit. */
export const MAX_DEPTH = 100;

/** A key's backend path and the backend paths of its parents inside the store. */
export interface Shaped {
  path: string;
  parents: string[];
}

/** `key` (normalized user key) under `prefix` (normalized, `''` for none). */
export function shaped(prefix: string, key: string): Shaped {
  const segments = key.split('/');
  if (segments.length > MAX_DEPTH)
    throw new InvalidArgumentError(
      'key',
      `key has ${segments.length} levels; the etcd3 store holds at most ${MAX_DEPTH}`,
    );
  const base = prefix === '' ? '' : `${prefix}/`;
  const parents: string[] = [];
  for (let i = 1; i < segments.length; i++) parents.push(base + segments.slice(0, i).join('/'));
  return { path: base + key, parents };
}

/** No parent holds a value, and nothing is below the path (its own `path/` marker included). */
export function shapeCompares({ path, parents }: Shaped): Compare[] {
  return [
    ...parents.map((parent): Compare => ({ key: parent, target: 'version', result: '=', value: 0 })),
    { key: `${path}/`, rangeEnd: prefixEnd(`${path}/`), target: 'version', result: '=', value: 0 },
  ];
}

/** The failure branch: how many keys each compare of {@link shapeCompares} found. */
export function shapeProbes({ path, parents }: Shaped): RequestOp[] {
  return [
    ...parents.map((parent): RequestOp => ({ range: { key: parent, countOnly: true } })),
    { range: { key: `${path}/`, rangeEnd: prefixEnd(`${path}/`), countOnly: true, limit: 1 } },
  ];
}

/**
 * What the probes (at `responses[from...]`) found: `NOT_A_DIRECTORY` (a parent holds a value),
 * `IS_A_DIRECTORY` (keys below), or `undefined` (the shape was fine: another compare failed).
 */
export function shapeFailure(
  shape: Shaped,
  responses: ResponseOp[],
  from: number,
  userKey: string,
): KeyTypeError | undefined {
  const count = (i: number): number => {
    const op = responses[from + i];
    return op && 'range' in op ? op.range.count : 0;
  };
  for (let i = 0; i < shape.parents.length; i++) {
    if (count(i) > 0) return new KeyTypeError('NOT_A_DIRECTORY', userKey);
  }
  if (count(shape.parents.length) > 0) return new KeyTypeError('IS_A_DIRECTORY', userKey);
  return undefined;
}
