import {
  KV_MAX_VALUE_SIZE,
  TXN_MAX_OPS,
  checkFlags,
  decodeBase64,
  encodeBase64,
  parseWithFlags,
  stringifyWithBigInt,
  type ConsulValue,
} from '../codec.js';
import { ConsulError } from '../errors.js';
import type { QueryOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { KvPair } from './kv.js';

/** KV verbs of a transaction. */
export type TxnKvVerb =
  | 'set'
  | 'cas'
  | 'lock'
  | 'unlock'
  | 'get'
  | 'get-tree'
  | 'check-index'
  | 'check-session'
  | 'check-not-exists'
  | 'delete'
  | 'delete-tree'
  | 'delete-cas';

/** Node, service and check verbs of a transaction. */
export type TxnCatalogVerb = 'set' | 'cas' | 'get' | 'delete' | 'delete-cas';

/** A KV operation; `Value` is given as text or bytes and sent as base64. */
export interface TxnKvOp {
  Verb: TxnKvVerb;
  Key: string;
  Value?: ConsulValue;
  Flags?: number | bigint;
  /** For `cas`, `check-index`, `delete-cas`: the expected `ModifyIndex`. */
  Index?: number;
  /** For `lock`, `unlock`, `check-session`. */
  Session?: string;
  Namespace?: string;
  Partition?: string;
}

/** A node of a transaction's catalog operation. */
export interface TxnNode {
  ID?: string;
  Node: string;
  Address?: string;
  Datacenter?: string;
  TaggedAddresses?: Record<string, string>;
  Meta?: Record<string, string>;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** A service of a transaction's catalog operation. */
export interface TxnService {
  ID: string;
  Service?: string;
  Tags?: string[];
  Address?: string;
  Meta?: Record<string, string>;
  Port?: number;
  Kind?: string;
  EnableTagOverride?: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
  [field: string]: unknown;
}

/** A check of a transaction's catalog operation. */
export interface TxnCheck {
  Node: string;
  CheckID: string;
  Name?: string;
  Status?: string;
  Notes?: string;
  Output?: string;
  ServiceID?: string;
  ServiceName?: string;
  ServiceTags?: string[];
  Definition?: Record<string, unknown>;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** One operation of a transaction. */
export type TxnOp =
  | { KV: TxnKvOp }
  | { Node: { Verb: TxnCatalogVerb; Node: TxnNode } }
  | { Service: { Verb: TxnCatalogVerb; Node: string; Service: TxnService } }
  | { Check: { Verb: TxnCatalogVerb; Check: TxnCheck } };

/** One result of a committed transaction (`set` results carry `Value: null`). */
export interface TxnResult {
  KV?: KvPair;
  Node?: TxnNode;
  Service?: TxnService;
  Check?: TxnCheck;
}

/** Why an operation made the transaction roll back. */
export interface TxnOpError {
  /** The position of the failed operation in the list given to {@link Txn.apply}. */
  OpIndex: number;
  /** Consul's reason (`failed to set key "a", index is stale`). */
  What: string;
  /** The operation that failed (from the list given). */
  op: TxnOp | undefined;
}

/**
 * What {@link Txn.apply} resolves: `ok` with `Results` (one per operation) when the transaction
 * committed, or `ok: false` with the `Errors` that rolled everything back (Consul's 409).
 */
export interface TxnResponse {
  ok: boolean;
  Results: TxnResult[];
  Errors: TxnOpError[];
  /** Read-only transactions (only reads) also report these. */
  Index?: number;
  LastContact?: number;
  KnownLeader?: boolean;
  ConsistencyLevel?: string;
}

interface RawTxnResponse {
  Results: { KV?: Omit<KvPair, 'Value'> & { Value: string | null } }[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
  Index?: number;
  LastContact?: number;
  KnownLeader?: boolean;
  ConsistencyLevel?: string;
}

/** Whether an encoded op may carry a bigint (KV Flags; other kinds are left to the careful path). */
function hasFlags(op: TxnOp): boolean {
  return !('KV' in op) || op.KV.Flags !== undefined;
}

function encodeOp(op: TxnOp): unknown {
  if (!('KV' in op)) return op;
  const { Value, Flags, ...kv } = op.KV;
  return {
    KV: {
      ...kv,
      ...(Value !== undefined ? { Value: encodeBase64(Value) } : {}),
      ...(Flags !== undefined ? { Flags: checkFlags(Flags) } : {}),
    },
  };
}

/**
 * `/v1/txn`: several KV and catalog operations applied atomically (all or none).
 * @see https://developer.hashicorp.com/consul/api-docs/txn
 */
export class Txn {
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/txn`: applies up to 64 operations atomically. A rollback (409) is not thrown: it
   * resolves `ok: false` with `Errors[i].OpIndex` naming the failed operations. More than 64
   * operations, or a body over 512 KiB, are refused before sending with `CONSUL_TOO_LARGE` (Consul
   * itself answers 413).
   * @see https://developer.hashicorp.com/consul/api-docs/txn#create-transaction
   */
  async apply(ops: readonly TxnOp[], options?: QueryOptions): Promise<TxnResponse> {
    if (ops.length > TXN_MAX_OPS) {
      throw new ConsulError(
        'CONSUL_TOO_LARGE',
        `a transaction has at most ${TXN_MAX_OPS} operations, got ${ops.length}`,
      );
    }
    // Only uint64 Flags need the bigint-aware (replacer) stringify; most transactions carry none.
    const encoded = ops.map(encodeOp);
    const body = ops.some(hasFlags) ? stringifyWithBigInt(encoded) : JSON.stringify(encoded);
    if (Buffer.byteLength(body) > KV_MAX_VALUE_SIZE) {
      throw new ConsulError(
        'CONSUL_TOO_LARGE',
        `the transaction is ${Buffer.byteLength(body)} bytes, Consul accepts at most ${KV_MAX_VALUE_SIZE}`,
      );
    }
    const { status, data } = await this.transport.request<RawTxnResponse>({
      method: 'PUT',
      path: '/v1/txn',
      body,
      headers: { 'content-type': 'application/json' },
      options,
      ok: [200, 409],
      parse: parseWithFlags,
    });
    const { Results, Errors, ...rest } = data;
    return {
      ...rest,
      ok: status === 200,
      // Decoded in place: the parsed body is ours alone.
      Results: (Results ?? []).map((result) => {
        if (result.KV) (result.KV as unknown as KvPair).Value = decodeBase64(result.KV.Value);
        return result as TxnResult;
      }),
      Errors: (Errors ?? []).map((error) => ({ ...error, op: ops[error.OpIndex] })),
    };
  }
}
