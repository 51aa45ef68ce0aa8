import {
  InvalidArgumentError,
  NotSupportedError,
  ValueTooLargeError,
  checkFlags,
  checkTtl,
  decodeValue,
  type Codec,
  type Entry,
  type KeySpace,
  type OptionTableOf,
} from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import { ConsulClient } from '../client.js';
import { KV_MAX_VALUE_SIZE } from '../codec.js';
import { isConsulError } from '../errors.js';
import type { ConsulClientOptions, QueryOptions } from '../options.js';
import { expiryOf, userFlags } from './ttl.js';

/** Options of `createConsulStore`. */
export interface ConsulStoreOptions<V = string> {
  /**
   * A client to use (the store leaves it open on `close()`), or options to make one (the store owns
   * it and closes it).
   * @defaultValue a client for `127.0.0.1:8500`
   */
  client?: ConsulClient | ConsulClientOptions;
  /** Every key lives under this path. @defaultValue `''` */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /**
   * The smallest TTL in seconds (Consul's `session_ttl_min`). Set 1 for agents run with
   * `session_ttl_min = "1s"`.
   * @defaultValue 10
   */
  minTtl?: number;
  /** Lock-delay of lock sessions, in ms: how long a lock stays unavailable after its holder was invalidated. @defaultValue 15000 */
  lockDelay?: number;
  /** How long each blocking query of a watch waits, in ms. @defaultValue 60000 */
  watchWait?: number;
  /** Read with `?consistent` (from the leader, with a quorum check) by default. @defaultValue false */
  consistent?: boolean;
}

/** The options of {@link ConsulStoreOptions}, with their types (`client`'s are the client's to check). */
export const STORE_OPTIONS_TABLE = {
  client: 'object',
  prefix: 'string',
  codec: 'object',
  minTtl: 'number',
  lockDelay: 'number',
  watchWait: 'number',
  consistent: 'boolean',
} satisfies OptionTableOf<ConsulStoreOptions>;

/** Consul's longest session TTL: 24 h. */
export const MAX_SESSION_TTL = 86_400;

/** The store's own client, from the options to make one. */
export function makeClient(options: ConsulClientOptions | undefined): ConsulClient {
  try {
    return new ConsulClient(options ?? {});
  } catch (cause) {
    // A bad client option is the Store's INVALID_ARGUMENT, not a native error.
    const argument = isConsulError(cause) && cause.argument ? `client.${cause.argument}` : 'client';
    throw new InvalidArgumentError(argument, `consul store options: ${(cause as Error).message}`, {
      cause,
    });
  }
}
export const EMPTY = new Uint8Array(0);

/** An encoded value: the codec's text or bytes. */
export type Raw = string | Uint8Array;

/** The byte size of an encoded value. */
export function rawSize(raw: Raw): number {
  return typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
}

/** A value as the codec encodes it, refused when Consul could not hold it. */
export function encodeValue<V>(codec: Codec<V>, key: string, value: V): Raw {
  const raw = codec.encode(value);
  // A string's UTF-8 is at most 3 bytes per UTF-16 unit: short strings need no byte count.
  if (typeof raw === 'string' && raw.length * 3 <= KV_MAX_VALUE_SIZE) return raw;
  const size = rawSize(raw);
  if (size > KV_MAX_VALUE_SIZE) {
    throw new ValueTooLargeError(
      `value of ${key} is ${size} bytes; Consul accepts at most ${KV_MAX_VALUE_SIZE}`,
      {
        key,
        size,
        limit: KV_MAX_VALUE_SIZE,
      },
    );
  }
  return raw;
}

/** A TTL option, checked against the store's smallest TTL and Consul's longest session TTL. */
export function checkSessionTtl(ttl: number | undefined, minTtl: number): number | undefined {
  const checked = checkTtl(ttl, minTtl);
  if (checked !== undefined && checked > MAX_SESSION_TTL)
    throw new InvalidArgumentError('ttl', `ttl ${checked} s is above Consul's longest session TTL (24 h)`);
  return checked;
}

/** `SetOptions.flags`, checked; with a TTL only 0 (the TTL's expiry stamp lives in `Flags`). */
export function checkStoreFlags(
  flags: number | bigint | undefined,
  ttl: number | undefined,
  key: string,
): bigint {
  if (flags === undefined) return 0n;
  const checked = checkFlags(flags);
  if (checked !== 0n && ttl !== undefined) {
    throw new NotSupportedError(
      `${key}: Consul cannot keep flags on a key with a TTL (the store keeps the TTL's expiry in Flags)`,
      { key },
    );
  }
  return checked;
}

export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return Buffer.compare(a ?? EMPTY, b ?? EMPTY) === 0;
}

/** What the store's parts share: the client, the key mapping, the codec and the read options. */
export interface StoreParts<V> {
  readonly client: ConsulClient;
  readonly keys: KeySpace;
  readonly codec: Codec<V>;
  /** The options of the store's reads (`consistent` or none), frozen. */
  readonly read: QueryOptions;
}

/** An entry from a pair; `raw`: the value just written (write results carry no value). */
export function toEntry<V>(parts: StoreParts<V>, pair: KvPair, ttl?: number, raw?: Raw): Entry<V> {
  const key = parts.keys.fromBackend(pair.Key)!;
  const entry: Entry<V> = {
    key,
    // Bytes are copied, so that the caller changing its array later cannot change the entry.
    value: decodeValue(
      parts.codec,
      raw === undefined ? (pair.Value ?? EMPTY) : typeof raw === 'string' ? raw : raw.slice(),
      key,
    ),
    index: pair.ModifyIndex,
    createIndex: pair.CreateIndex,
  };
  if (ttl !== undefined) entry.expiresAt = new Date(Date.now() + ttl * 1000);
  else {
    const expiresAt = expiryOf(pair);
    if (expiresAt !== undefined) entry.expiresAt = expiresAt;
  }
  const flags = userFlags(pair);
  if (flags !== undefined) entry.flags = flags;
  return entry;
}
