import { extend } from '@polykv/core';
import type { Etcd3CallOptions } from '../options.js';
import {
  readDeleteRange,
  readHeaderOnly,
  readPut,
  readRange,
  readTxn,
  writeDeleteRange,
  writePut,
  writeRange,
  writeTxn,
  type DeleteRangeResponse,
  type KeyValue,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type HeaderOnlyResponse,
  type TxnRequest,
  type TxnResponse,
} from '../proto/kv.js';
import { Writer, prefixEnd, type BytesLike } from '../proto/wire.js';
import { rpc, type CallFn } from '../request.js';

const RANGE = rpc('KV', 'Range', readRange);
const PUT = rpc('KV', 'Put', readPut);
const DELETE_RANGE = rpc('KV', 'DeleteRange', readDeleteRange);
const TXN = rpc('KV', 'Txn', readTxn);
const COMPACT = rpc('KV', 'Compact', readHeaderOnly);

/** Which keys a range, delete or watch covers, beside `key` itself. */
export interface KeyRange {
  /** Every key that starts with `key`. */
  prefix?: boolean;
  /** Every key in `[key, end)`; `'\0'` for every key from `key` on. */
  end?: BytesLike;
}

/** Options of {@link KvApi.range}. */
export interface RangeOptions extends KeyRange, Etcd3CallOptions, Omit<RangeRequest, 'key' | 'rangeEnd'> {}

/** Options of {@link KvApi.put}. */
export interface PutOptions extends Etcd3CallOptions {
  /** A lease ID: the key goes when the lease does. */
  lease?: string;
  /** Resolve the key as it was before the put. */
  prevKv?: boolean;
  /** Keep the current value (only the lease changes); the key must exist. */
  ignoreValue?: boolean;
  /** Keep the current lease; the key must exist. */
  ignoreLease?: boolean;
}

/** Options of {@link KvApi.delete}. */
export interface DeleteOptions extends KeyRange, Etcd3CallOptions {
  /** Resolve the deleted keys. */
  prevKv?: boolean;
}

/** The range end for `key` and a {@link KeyRange}: `undefined` for the key alone. */
export function rangeEnd(key: BytesLike, range: KeyRange): BytesLike | undefined {
  if (range.end !== undefined) return range.end;
  return range.prefix ? prefixEnd(key) : undefined;
}

/** The KV service: `KV/Range`, `KV/Put`, `KV/DeleteRange`, `KV/Txn`, `KV/Compact`. */
export class KvApi {
  readonly #call: CallFn;

  /** Made by {@link Etcd3Client} (its `kv`) over the client's request function. */
  constructor(call: CallFn) {
    this.#call = call;
  }

  /** Reads a key, a prefix or a range (`KV/Range`). Linearizable unless `serializable`. */
  range(key: BytesLike, options: RangeOptions = {}): Promise<RangeResponse> {
    const request: RangeRequest = extend(options, { key });
    const end = rangeEnd(key, options);
    if (end !== undefined) request.rangeEnd = end;
    return this.#call(RANGE, writeRange(new Writer(), request), extend(options, { idempotent: true }));
  }

  /** One key, or `null` (`KV/Range`). */
  async get(key: BytesLike, options: Omit<RangeOptions, 'prefix' | 'end'> = {}): Promise<KeyValue | null> {
    const { kvs } = await this.range(key, options);
    return kvs[0] ?? null;
  }

  /** Writes a key (`KV/Put`). Not replayed on another host once it may have been sent. */
  put(key: BytesLike, value: BytesLike, options: PutOptions = {}): Promise<PutResponse> {
    const message = writePut(new Writer(), {
      key,
      value,
      ...(options.lease !== undefined ? { lease: options.lease } : {}),
      ...(options.prevKv ? { prevKv: true } : {}),
      ...(options.ignoreValue ? { ignoreValue: true } : {}),
      ...(options.ignoreLease ? { ignoreLease: true } : {}),
    });
    return this.#call(PUT, message, extend(options, { idempotent: false }));
  }

  /** Deletes a key, a prefix or a range (`KV/DeleteRange`). */
  delete(key: BytesLike, options: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    const end = rangeEnd(key, options);
    const message = writeDeleteRange(new Writer(), {
      key,
      ...(end !== undefined ? { rangeEnd: end } : {}),
      ...(options.prevKv ? { prevKv: true } : {}),
    });
    return this.#call(DELETE_RANGE, message, extend(options, { idempotent: false }));
  }

  /**
   * A transaction (`KV/Txn`): if every compare holds, the `success` operations run, else the
   * `failure` ones, atomically. A transaction of reads only is replayed on another host like a read.
   */
  txn(request: TxnRequest, options: Etcd3CallOptions = {}): Promise<TxnResponse> {
    const readOnly = [...(request.success ?? []), ...(request.failure ?? [])].every((op) => 'range' in op);
    return this.#call(TXN, writeTxn(new Writer(), request), extend(options, { idempotent: readOnly }));
  }

  /**
   * Drops the history before `revision` (`KV/Compact`): reads and watches at older revisions then
   * fail with `ETCD3_COMPACTED`. `physical`: resolve once the space is reclaimed.
   */
  compact(
    revision: number,
    options: Etcd3CallOptions & { physical?: boolean } = {},
  ): Promise<HeaderOnlyResponse> {
    const message = new Writer().uint(1, revision).bool(2, options.physical);
    return this.#call(COMPACT, message, extend(options, { idempotent: true }));
  }
}
