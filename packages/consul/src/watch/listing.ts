// Sorted KV listings, as a shared poll keeps them.
import type { KvPair } from '../api/kv.js';

/** The first index of `pairs` whose key is >= `key` (plain string order, as `pairs` is sorted). */
export function lowerBound(pairs: readonly KvPair[], key: string): number {
  let lo = 0;
  let hi = pairs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pairs[mid]!.Key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function byKey(a: KvPair, b: KvPair): number {
  return a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0;
}

export function samePair(a: KvPair, b: KvPair): boolean {
  if (
    a.ModifyIndex !== b.ModifyIndex ||
    a.CreateIndex !== b.CreateIndex ||
    a.LockIndex !== b.LockIndex ||
    a.Flags !== b.Flags ||
    (a.Session ?? '') !== (b.Session ?? '')
  ) {
    return false;
  }
  const x = a.Value;
  const y = b.Value;
  if (x === y) return true;
  if (!x || !y || x.length !== y.length) return false;
  return Buffer.compare(x, y) === 0;
}
