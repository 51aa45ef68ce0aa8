import { keyProblem } from '@polykv/core';
import type { KvPair } from './api/kv.js';

/**
 * Which Consul keys the portable key model can carry. Consul takes any string as a key; the model
 * (core's `normalizeKey`) has no empty, `.` or `..` segments, no characters that are not printable,
 * at most 4,096 bytes, and no key ending in `/` (a Consul key `dir/` that holds nothing is the
 * store's directory marker; one that holds a value or flags is a key the model cannot name).
 * `list` leaves such keys out and `unlisted` names them, so `copy` and `diff` can report each one.
 */

/** Why a Consul pair cannot be a key of the model, or `undefined` when it can. */
export function unmodelled(
  relative: string,
  pair: KvPair,
): { code: 'trailing-slash' | 'invalid-key'; reason: string } | undefined {
  const marker = relative.endsWith('/');
  const body = marker ? relative.slice(0, -1) : relative;
  const problem = keyProblem(body);
  if (problem !== undefined) return { code: 'invalid-key', reason: problem };
  if (!marker) return undefined;
  const size = pair.Value?.byteLength ?? 0;
  if (size === 0 && pair.Flags === 0n) return undefined; // a directory marker: modelled
  const held = [size > 0 ? `a value of ${size} bytes` : '', pair.Flags !== 0n ? `flags ${pair.Flags}` : '']
    .filter((part) => part !== '')
    .join(' and ');
  return {
    code: 'trailing-slash',
    reason: `the key ends in "/" and holds ${held}; the key model has no key ending in "/" (an empty "dir/" is a directory)`,
  };
}
