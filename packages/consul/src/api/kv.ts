import { extend } from '@polykv/core';
import {
  KV_MAX_VALUE_SIZE,
  checkFlags,
  checkValueSize,
  decodeBase64,
  decodeText,
  escapePath,
  parseKvJson,
  toFlags,
  valueBytes,
  type ConsulValue,
} from '../codec.js';
import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** A KV entry as Consul's JSON has it, with `Value` decoded from base64 and `Flags` exact. */
export interface KvPair {
  /** The entry's full key (a listing gives full keys too, not keys relative to the prefix). */
  Key: string;
  /** The raft index at which the key was created; a key deleted and written again gets a new one. */
  CreateIndex: number;
  /** The entry's last write: the fencing token of CAS writes. */
  ModifyIndex: number;
  /** How many times a session acquired the key: the fencing token of locks. */
  LockIndex: number;
  /** A uint64, kept exact. */
  Flags: bigint;
  /** The bytes stored, `null` for an empty value. See {@link kvText}. */
  Value: Uint8Array | null;
  /** The session that holds the key (present only while one does). */
  Session?: string;
  /** Enterprise. */
  Namespace?: string;
  /** The admin partition of the key (Consul Enterprise 1.11+; absent on 1.8). */
  Partition?: string;
}

/** The UTF-8 text of a pair's value (`null` when the pair or its value is empty). */
export function kvText(pair: KvPair | null | undefined): string | null {
  return decodeText(pair?.Value);
}

/** Options of `GET /v1/kv/:prefix?keys`. */
export interface KvKeysOptions extends QueryOptions {
  /** List only up to this separator (`'/'` lists one level, folders end in `/`). */
  separator?: string;
}

/** Options of `PUT /v1/kv/:key`. */
export interface KvPutOptions extends WriteOptions {
  /** An opaque uint64 stored with the value. */
  flags?: number | bigint;
  /** Write only if the key's `ModifyIndex` is this (0: only if absent). Resolves `false` otherwise. */
  cas?: number;
  /** Write and lock the key with this session, if no other session holds it. */
  acquire?: string;
  /** Write and unlock the key held by this session. */
  release?: string;
}

/** Options of `DELETE /v1/kv/:key`. */
export interface KvDeleteOptions extends WriteOptions {
  /** Delete every key starting with the key (a string prefix: `app` also deletes `apple`). */
  recurse?: boolean;
  /** Delete only if the key's `ModifyIndex` is this. Resolves `false` otherwise. */
  cas?: number;
}

const EMPTY_BODY = new Uint8Array(0);

interface RawKvPair extends Omit<KvPair, 'Value'> {
  Value: string | null;
}

/** Decodes a pair in place: the parsed JSON object is the caller's own, so no copy of it is needed. */
function decodePair(raw: RawKvPair): KvPair {
  const pair = raw as unknown as KvPair;
  pair.Value = decodeBase64(raw.Value);
  pair.Flags = toFlags(raw.Flags);
  return pair;
}

/** What is wrong with a KV entry of an answer, or `undefined` (also used for txn results). */
export function pairProblem(value: unknown, where: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} is not an object`;
  const pair = value as Record<string, unknown>;
  if (typeof pair.Key !== 'string') return `${where}.Key is not a string`;
  if (typeof pair.CreateIndex !== 'number' || typeof pair.ModifyIndex !== 'number')
    return `${where} has no numeric CreateIndex and ModifyIndex`;
  if (pair.LockIndex !== undefined && typeof pair.LockIndex !== 'number')
    return `${where}.LockIndex is not a number`;
  if (pair.Flags !== undefined && typeof pair.Flags !== 'number' && typeof pair.Flags !== 'bigint')
    return `${where}.Flags is not a number`;
  if (pair.Value !== undefined && pair.Value !== null && typeof pair.Value !== 'string')
    return `${where}.Value is neither base64 text nor null`;
  if (pair.Session !== undefined && typeof pair.Session !== 'string')
    return `${where}.Session is not a string`;
  return undefined;
}

/** A KV read's 200 answer: a list of entries (an absent key is a 404, never a 200). */
function checkPairs(data: unknown): string | undefined {
  if (!Array.isArray(data)) return 'not a list of entries';
  for (let i = 0; i < data.length; i++) {
    const problem = pairProblem(data[i], `entry ${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkKeys(data: unknown): string | undefined {
  if (!Array.isArray(data)) return 'not a list of keys';
  return data.every((key) => typeof key === 'string') ? undefined : 'a key is not a string';
}

/**
 * `/v1/kv`: the key/value store. Values are bytes (strings are sent as UTF-8); values over
 * 512 KiB are refused before sending (`CONSUL_TOO_LARGE`).
 * @see https://developer.hashicorp.com/consul/api-docs/kv
 */
export class Kv {
  /** Made by the client: use `client.kv`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/kv/:key`: one entry, `data: null` when the key does not exist (the meta still carries
   * the index to block on).
   * @see https://developer.hashicorp.com/consul/api-docs/kv#read-key
   */
  async get(key: string, options?: QueryOptions): Promise<ConsulResult<KvPair | null>> {
    const { data, meta } = await this.transport.request<RawKvPair[] | null>({
      method: 'GET',
      path: `/v1/kv/${escapePath(key)}`,
      options,
      nullOn404: true,
      parse: parseKvJson,
      check: checkPairs,
    });
    return { data: data?.[0] ? decodePair(data[0]) : null, meta };
  }

  /**
   * `GET /v1/kv/:prefix?recurse`: every entry whose key starts with `prefix` (a plain string
   * prefix), `[]` when there is none (Consul answers 404).
   * @see https://developer.hashicorp.com/consul/api-docs/kv#read-key
   */
  async list(prefix: string, options?: QueryOptions): Promise<ConsulResult<KvPair[]>> {
    const { data, meta } = await this.transport.request<RawKvPair[] | null>({
      method: 'GET',
      path: `/v1/kv/${escapePath(prefix)}`,
      query: { recurse: true },
      options,
      nullOn404: true,
      parse: parseKvJson,
      check: checkPairs,
    });
    return { data: (data ?? []).map(decodePair), meta };
  }

  /**
   * `GET /v1/kv/:prefix?keys`: the keys starting with `prefix`, `[]` when there is none.
   * @see https://developer.hashicorp.com/consul/api-docs/kv#read-key
   */
  async keys(prefix: string, options?: KvKeysOptions): Promise<ConsulResult<string[]>> {
    const { separator, ...rest } = options ?? {};
    const { data, meta } = await this.transport.request<string[] | null>({
      method: 'GET',
      path: `/v1/kv/${escapePath(prefix)}`,
      query: { keys: true, separator },
      options: rest,
      nullOn404: true,
      check: checkKeys,
    });
    return { data: data ?? [], meta };
  }

  /**
   * `GET /v1/kv/:key?raw`: the stored bytes as they are, `data: null` when the key does not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/kv#read-key
   */
  async getRaw(key: string, options?: QueryOptions): Promise<ConsulResult<Uint8Array | null>> {
    const { data, meta } = await this.transport.request<Uint8Array | null>({
      method: 'GET',
      path: `/v1/kv/${escapePath(key)}`,
      query: { raw: true },
      options,
      nullOn404: true,
      read: 'bytes',
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/kv/:key`: writes a value (nothing for an empty value). Resolves Consul's answer: `true`,
   * or `false` when a `cas`, `acquire` or `release` condition did not hold.
   * @see https://developer.hashicorp.com/consul/api-docs/kv#create-update-key
   */
  async put(key: string, value?: ConsulValue, options?: KvPutOptions): Promise<boolean> {
    const path = `/v1/kv/${escapePath(key)}`;
    // A string goes as it is (undici sends it as UTF-8 with Content-Length): no encoded copy.
    const body = value === undefined ? EMPTY_BODY : value;
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > KV_MAX_VALUE_SIZE) checkValueSize(valueBytes(body), `PUT /v1/kv/${key}`);
    if (options === undefined) {
      // The common plain write: no query, no options to merge.
      return (
        await this.transport.request<boolean>({ method: 'PUT', path, body, read: 'bool', idempotent: true })
      ).data;
    }
    const { flags, cas, acquire, release, ...rest } = options;
    const query =
      flags === undefined && cas === undefined && acquire === undefined && release === undefined
        ? undefined
        : { flags: flags === undefined ? undefined : checkFlags(flags), cas, acquire, release };
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path,
        query,
        body,
        options: rest,
        read: 'bool',
        // A plain write is safe to repeat; a conditional one is not (a replay answers false).
        idempotent: cas === undefined && acquire === undefined && release === undefined,
      })
    ).data;
  }

  /**
   * `PUT /v1/kv/:key?cas=`: writes only if the key's `ModifyIndex` is `index` (0: only if absent).
   * @see https://developer.hashicorp.com/consul/api-docs/kv#create-update-key
   */
  cas(key: string, value: ConsulValue | undefined, index: number, options?: KvPutOptions): Promise<boolean> {
    return this.put(key, value, extend(options, { cas: index }));
  }

  /**
   * `PUT /v1/kv/:key?acquire=`: locks the key for `session` (and writes the value); `false` when
   * another session holds it or the lock-delay of an invalidated holder still runs.
   * @see https://developer.hashicorp.com/consul/api-docs/kv#create-update-key
   */
  acquire(key: string, session: string, value?: ConsulValue, options?: KvPutOptions): Promise<boolean> {
    return this.put(key, value, extend(options, { acquire: session }));
  }

  /**
   * `PUT /v1/kv/:key?release=`: unlocks the key held by `session` (and writes the value).
   * @see https://developer.hashicorp.com/consul/api-docs/kv#create-update-key
   */
  release(key: string, session: string, value?: ConsulValue, options?: KvPutOptions): Promise<boolean> {
    return this.put(key, value, extend(options, { release: session }));
  }

  /**
   * `DELETE /v1/kv/:key`: deletes a key (or, with `recurse`, every key with that prefix). Resolves
   * `true`, or `false` when `cas` did not match.
   * @see https://developer.hashicorp.com/consul/api-docs/kv#delete-key
   */
  async delete(key: string, options?: KvDeleteOptions): Promise<boolean> {
    const { recurse, cas, ...rest } = options ?? {};
    return (
      await this.transport.request<boolean>({
        method: 'DELETE',
        path: `/v1/kv/${escapePath(key)}`,
        query: { recurse, cas },
        options: rest,
        read: 'bool',
        idempotent: cas === undefined,
      })
    ).data;
  }

  /**
   * `DELETE /v1/kv/:prefix?recurse`: deletes every key starting with `prefix` (end it with `/` for a
   * folder: `app` also deletes `apple`).
   * @see https://developer.hashicorp.com/consul/api-docs/kv#delete-key
   */
  deleteTree(prefix: string, options?: WriteOptions): Promise<boolean> {
    return this.delete(prefix, extend(options, { recurse: true }));
  }
}
