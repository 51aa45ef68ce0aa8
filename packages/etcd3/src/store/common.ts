import {
  InvalidArgumentError,
  isReservedKey,
  type Codec,
  type OptionTableOf,
  type StoreCapabilities,
} from '@polykv/core';
import { ETCD3_CLIENT_OPTIONS } from '../options.js';
import type { Etcd3Client } from '../client.js';
import type { Etcd3ClientOptions } from '../options.js';
import type { Compare, RequestOp, ResponseOp, KeyValue } from '../proto/kv.js';

/** Options of `createEtcd3Store`. */
export interface Etcd3StoreOptions<V = string> extends Etcd3ClientOptions {
  /** A client to use (the store leaves it open); otherwise the store makes one from these options and owns it. */
  client?: Etcd3Client;
  /** Every key lives under this path. @defaultValue `''` */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /**
   * Read from the answering member without a quorum round (etcd's serializable reads): faster,
   * possibly stale. `get`/`list` with `{ consistent: true }` still read linearizably.
   * @defaultValue false
   */
  serializable?: boolean;
  /**
   * The shortest TTL in seconds. etcd raises shorter leases to its own minimum (1.5 × the election
   * timeout: 2 s with the default 1 s), which would change a TTL silently.
   * @defaultValue 2
   */
  minTtl?: number;
}

export type Call = { signal?: AbortSignal };

/** What an etcd v3 Store supports, for a `minTtl` option (a whole number of seconds, at least 1). */
export function etcd3Capabilities(minTtl: number): StoreCapabilities {
  if (!Number.isInteger(minTtl) || minTtl < 1)
    throw new InvalidArgumentError('minTtl', 'minTtl must be a whole number of seconds >= 1');
  return Object.freeze({
    minTtl,
    // etcd checks expiry twice a second, and a new leader gives every lease its full TTL again.
    ttlExpiryFactor: 1.5,
    typedDirectories: true,
    watchHistory: Number.POSITIVE_INFINITY,
    flags: false,
    binaryValues: true,
  });
}

/** What a write checks besides the key's shape (see `Etcd3Store.#write`). */
export interface WriteCheck {
  compare: Compare[];
  /** Reads in the failure branch, for `explain`. */
  probes: RequestOp[];
  /** Why the transaction failed, from the probes' answers; `undefined`: look at the shape. */
  explain?: (responses: ResponseOp[]) => Error | undefined;
  /** The compares require an existing value: skip the typed-directory compares. */
  existing?: boolean;
  /** Operations before the put (push's counter). */
  extra?: RequestOp[];
}

export const NO_CHECK: WriteCheck = { compare: [], probes: [] };
export const PUSH_DIGITS = 20;

export function rangeOf(op: ResponseOp | undefined): KeyValue[] {
  return op && 'range' in op ? op.range.kvs : [];
}

export function countOf(op: ResponseOp | undefined): number {
  return op && 'range' in op ? op.range.count : 0;
}

/** True for keys `list` returns: keys of the portable model outside the reserved space. */
export function modelled(key: string): boolean {
  return key !== '' && !isReservedKey(key) && !key.split('/').some((segment) => segment === '');
}

/** The compares of a CAS on an existing key: it exists, and its mod revision or value matches. */
export function casCompares(
  path: string,
  prevIndex: number | undefined,
  prevRaw: string | Uint8Array | undefined,
): Compare[] {
  const exists: Compare = { key: path, target: 'version', result: '>', value: 0 };
  if (prevIndex !== undefined) return [exists, { key: path, target: 'mod', result: '=', value: prevIndex }];
  return [exists, { key: path, target: 'value', result: '=', value: prevRaw! }];
}

/** The store's own options and the client's, for the unknown-option check. */
export const ETCD3_STORE_OPTIONS = {
  ...ETCD3_CLIENT_OPTIONS,
  client: 'object',
  prefix: 'string',
  codec: 'object',
  serializable: 'boolean',
  minTtl: 'number',
} satisfies OptionTableOf<Etcd3StoreOptions>;
