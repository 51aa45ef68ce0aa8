import { decodeValue, type Codec, type DirEntry, type Entry, type ListEntry } from '@polykv/core';
import type { LeaseApi } from '../api/lease.js';
import type { KeyValue } from '../proto/kv.js';

/** `LeaseTimeToLive` requests in flight at once while reading the leases of many keys. */
const LEASE_LOOKUPS_IN_FLIGHT = 16;

/**
 * The seconds left of each lease in `ids` (-1: the lease is gone), one `LeaseTimeToLive` per
 * distinct lease, at most {@link LEASE_LOOKUPS_IN_FLIGHT} at once: etcd has no call that reads
 * many leases, and a `list` of 1,000 keys with TTLs would otherwise wait for 1,000 round trips
 * one after the other.
 */
export async function leaseTtls(
  lease: LeaseApi,
  ids: Iterable<string>,
  call: { signal?: AbortSignal },
): Promise<Map<string, number>> {
  const ttls = new Map<string, number>();
  const pending = [...new Set(ids)].filter((id) => id !== '0');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const id = pending[next++]!;
      ttls.set(id, (await lease.timeToLive(id, call)).ttl);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LEASE_LOOKUPS_IN_FLIGHT, pending.length) }, worker));
  return ttls;
}

/**
 * A key's entry. `ttls` holds its lease's seconds left (from {@link leaseTtls}); a lease that is
 * gone by now gives `expiresAt` = now (the key expired meanwhile).
 */
export function toEntry<V>(
  kv: KeyValue,
  key: string,
  codec: Codec<V>,
  ttls: ReadonlyMap<string, number> | undefined,
  now = Date.now(),
): Entry<V> {
  const entry: Entry<V> = {
    key,
    value: decodeValue(codec, Uint8Array.from(kv.value), key),
    index: kv.modRevision,
    createIndex: kv.createRevision,
  };
  if (kv.lease !== '0') {
    const ttl = ttls?.get(kv.lease);
    if (ttl !== undefined) entry.expiresAt = new Date(now + Math.max(ttl, 0) * 1000);
  }
  return entry;
}

/** The entries of a listing: its values (each with its lease's TTL read) and its directories. */
export async function listedEntries<V>(
  lease: LeaseApi,
  codec: Codec<V>,
  listed: { values: readonly { kv: KeyValue; key: string }[]; dirs: readonly DirEntry[] },
  call: { signal?: AbortSignal },
): Promise<ListEntry<V>[]> {
  const ttls = await leaseTtls(
    lease,
    listed.values.map(({ kv }) => kv.lease),
    call,
  );
  const now = Date.now();
  const out: ListEntry<V>[] = listed.values.map(({ kv, key }) => toEntry(kv, key, codec, ttls, now));
  out.push(...listed.dirs);
  return out;
}
