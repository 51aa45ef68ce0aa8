import { MAX_KEY_BYTES, normalizeKey } from '@polykv/core';
import type { KvPair } from './api/kv.js';

/**
 * Which Consul keys the portable key model can carry. Consul takes any string as a key; the model
 * (core's `normalizeKey`) has no empty, `.` or `..` segments, no characters that are not printable,
 * at most 4,096 bytes, and no key ending in `/` (a Consul key `dir/` that holds nothing is the
 * store's directory marker; one that holds a value or flags is a key the model cannot name).
 * `list` leaves such keys out and `unlisted` names them, so `copy` and `diff` can report each one.
 */

// Non-empty segments of printable ASCII: the common key, checked without the Unicode regex and
// the split of `normalizeKey` (list runs this for every key).
const PLAIN = /^[\x20-\x2e\x30-\x7e]+(?:\/[\x20-\x2e\x30-\x7e]+)*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * What is wrong with a Consul key (relative to the store's prefix, verbatim, without a marker's
 * final `/`) as a key of the model, or `undefined` when nothing is.
 */
export function keyProblem(relative: string): string | undefined {
  if (relative.length <= MAX_KEY_BYTES && PLAIN.test(relative) && !DOT_SEGMENT.test(relative))
    return undefined;
  try {
    normalizeKey(relative);
    // normalizeKey ignores one leading and one trailing slash; a Consul key cannot drop them.
    if (relative.startsWith('/') || relative.endsWith('/')) return 'the key starts or ends with "/"';
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^key /, 'the key ');
  }
}

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
