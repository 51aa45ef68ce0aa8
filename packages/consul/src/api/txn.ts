import {
  KV_MAX_VALUE_SIZE,
  TXN_MAX_OPS,
  checkFlags,
  decodeBase64,
  encodeBase64,
  parseKvJson,
  toFlags,
  stringifyWithBigInt,
  type ConsulValue,
} from '../codec.js';
import { ConsulError } from '../errors.js';
import type { QueryOptions } from '../options.js';
import type { Transport } from '../request.js';
import { pairProblem, type KvPair } from './kv.js';

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
  /** What to do with the key; see {@link TxnKvVerb}. */
  Verb: TxnKvVerb;
  /** The full key; for `get-tree` and `delete-tree`, a string prefix (`app` also matches `apple`). */
  Key: string;
  /** For `set`, `cas`, `lock`, `unlock`: the value to store (text is sent as UTF-8). */
  Value?: ConsulValue;
  /** For `set`, `cas`, `lock`, `unlock`: an opaque uint64 stored with the value. @defaultValue 0 */
  Flags?: number | bigint;
  /** For `cas`, `check-index`, `delete-cas`: the expected `ModifyIndex`. */
  Index?: number;
  /** For `lock`, `unlock`, `check-session`. */
  Session?: string;
  /** The key's namespace (Consul Enterprise). */
  Namespace?: string;
  /** The key's admin partition (Consul Enterprise 1.11+; not known to 1.8). */
  Partition?: string;
}

/** A node of a transaction's catalog operation. */
export interface TxnNode {
  /** The node's ID (a UUID); when given, it identifies the node before `Node` does. */
  ID?: string;
  /** The node's name. */
  Node: string;
  /** The node's address (an IP or host name). */
  Address?: string;
  /** The datacenter the node is in. */
  Datacenter?: string;
  /** Extra addresses by kind (`lan`, `wan`, ...). */
  TaggedAddresses?: Record<string, string>;
  /** The node's metadata (key/value pairs). */
  Meta?: Record<string, string>;
  /** The raft index at which the node was registered (set by Consul, in results). */
  CreateIndex?: number;
  /** The raft index of the node's last change: what `cas` and `delete-cas` compare against. */
  ModifyIndex?: number;
}

/** A service of a transaction's catalog operation. */
export interface TxnService {
  /** The instance's ID, unique on its node. */
  ID: string;
  /** The service's name. */
  Service?: string;
  /** The instance's tags. */
  Tags?: string[];
  /** The instance's address; `''` or absent means the node's address. */
  Address?: string;
  /** The instance's metadata (key/value pairs). */
  Meta?: Record<string, string>;
  /** The instance's port. */
  Port?: number;
  /** `''` for a typical service, else `connect-proxy`, `mesh-gateway`, ... */
  Kind?: string;
  /** True: the agent's anti-entropy leaves the tags alone, so tag changes made in the catalog stay. */
  EnableTagOverride?: boolean;
  /** The raft index at which the instance was registered (set by Consul, in results). */
  CreateIndex?: number;
  /** The raft index of the instance's last change: what `cas` and `delete-cas` compare against. */
  ModifyIndex?: number;
  [field: string]: unknown;
}

/** A check of a transaction's catalog operation. */
export interface TxnCheck {
  /** The node the check belongs to. */
  Node: string;
  /** The check's ID, unique on its node (`serfHealth`, `service:web`, ...). */
  CheckID: string;
  /** The check's name. */
  Name?: string;
  /** `passing`, `warning` or `critical`. */
  Status?: string;
  /** Free text about the check, for people. */
  Notes?: string;
  /** What the check last reported (a script's output, an HTTP body...). */
  Output?: string;
  /** The service instance the check belongs to; `''` or absent for a node check. */
  ServiceID?: string;
  /** The name of that service (filled in by Consul from the instance). */
  ServiceName?: string;
  /** The tags of that service (filled in by Consul from the instance). */
  ServiceTags?: string[];
  /** How the check runs (`HTTP`, `TCP`, `Interval`, `Timeout`, ...), as the catalog keeps it. */
  Definition?: Record<string, unknown>;
  /** The raft index at which the check was registered (set by Consul, in results). */
  CreateIndex?: number;
  /** The raft index of the check's last change: what `cas` and `delete-cas` compare against. */
  ModifyIndex?: number;
}

/** One operation of a transaction. */
export type TxnOp =
  | {
      /** A KV operation. */
      KV: TxnKvOp;
    }
  | {
      /** A catalog node operation (the node alone: its services and checks are separate operations). */
      Node: {
        /** What to do with the node; see {@link TxnCatalogVerb}. */
        Verb: TxnCatalogVerb;
        /** The node, found by `ID` if given, else by `Node`. */
        Node: TxnNode;
      };
    }
  | {
      /** A catalog service operation on one instance of one node. */
      Service: {
        /** What to do with the instance; see {@link TxnCatalogVerb}. */
        Verb: TxnCatalogVerb;
        /** The name of the node the instance is registered on. */
        Node: string;
        /** The instance, found by its `ID` on that node. */
        Service: TxnService;
      };
    }
  | {
      /** A catalog check operation. */
      Check: {
        /** What to do with the check; see {@link TxnCatalogVerb}. */
        Verb: TxnCatalogVerb;
        /** The check, found by `Node` and `CheckID`. */
        Check: TxnCheck;
      };
    };

/** One result of a committed transaction (`set` results carry `Value: null`). */
export interface TxnResult {
  /** The entry a KV operation read or wrote (its `Value` is `null` except for `get` and `get-tree`). */
  KV?: KvPair;
  /** The node a node operation read or wrote. */
  Node?: TxnNode;
  /** The instance a service operation read or wrote. */
  Service?: TxnService;
  /** The check a check operation read or wrote. */
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
  /** True when the transaction was applied (200), false when it was rolled back (409). */
  ok: boolean;
  /**
   * One result per operation that yields one (deletes and `check-not-exists` yield none,
   * `get-tree` one per key); `[]` when rolled back.
   */
  Results: TxnResult[];
  /** Why the transaction was rolled back; `[]` when it was applied. */
  Errors: TxnOpError[];
  /** Read-only transactions (only reads) also report these. */
  Index?: number;
  /**
   * Read-only transactions: how long since the answering server last heard from the leader, in
   * nanoseconds (0 when the leader answered).
   */
  LastContact?: number;
  /** Read-only transactions: whether the answering server knew of a leader. */
  KnownLeader?: boolean;
  /** Read-only transactions: the consistency mode that served the reads (`leader`, `stale`, `consistent`). */
  ConsistencyLevel?: string;
}

const OK_STATUSES: readonly number[] = [200, 409];

interface RawTxnResponse {
  Results: { KV?: Omit<KvPair, 'Value'> & { Value: string | null } }[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
  Index?: number;
  LastContact?: number;
  KnownLeader?: boolean;
  ConsistencyLevel?: string;
}

/**
 * An operation as Consul's JSON has it: `Value` in base64 and `Flags` checked (a `bigint`). Built
 * field by field, not with rest/spread (several times cheaper, and `set` sends one per call).
 * Sets `flags.big` when a `Flags` was written (only those need the bigint-aware stringify).
 */
function encodeOp(op: TxnOp, flags: { big: boolean }): unknown {
  if (!('KV' in op)) {
    flags.big = true; // other kinds are left to the careful path
    return op;
  }
  const kv = op.KV;
  const out: Record<string, unknown> = {};
  for (const name in kv) {
    if (name !== 'Value' && name !== 'Flags') out[name] = kv[name as keyof TxnKvOp];
  }
  // Value and Flags go last, as they always have (the body is compared as text in tests).
  if (kv.Value !== undefined) out.Value = encodeBase64(kv.Value);
  if (kv.Flags !== undefined) {
    out.Flags = checkFlags(kv.Flags);
    flags.big = true;
  }
  return { KV: out };
}

/** KV verbs whose operation yields one result when the transaction commits (Consul 1.8). */
const RESULT_VERBS: ReadonlySet<string> = new Set([
  'get',
  'set',
  'cas',
  'lock',
  'unlock',
  'check-index',
  'check-session',
]);

/**
 * What is wrong with a transaction's answer, or `undefined`. A commit (200) carries at least one
 * result per operation that yields one (`get-tree` may add any number), each with a well-formed
 * entry; a rollback (409) names at least one failed operation of those sent.
 */
function txnProblem(data: unknown, status: number, ops: readonly TxnOp[]): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a transaction result';
  const { Results: results, Errors: errors } = data as Record<string, unknown>;
  if (status === 409) {
    if (!Array.isArray(errors) || errors.length === 0) return 'a rollback without errors';
    for (const error of errors as unknown[]) {
      const { OpIndex: at, What: what } = (error ?? {}) as Record<string, unknown>;
      if (
        typeof at !== 'number' ||
        !Number.isInteger(at) ||
        at < 0 ||
        at >= ops.length ||
        typeof what !== 'string'
      )
        return 'an error without a valid OpIndex and What';
    }
    return undefined;
  }
  if (errors !== null && errors !== undefined && !(Array.isArray(errors) && errors.length === 0))
    return 'a commit with errors';
  if (results !== null && results !== undefined && !Array.isArray(results)) return 'Results is not a list';
  const list = (results ?? []) as unknown[];
  const onlyKv = ops.every((op) => 'KV' in op);
  if (onlyKv) {
    const expected = ops.filter((op) => 'KV' in op && RESULT_VERBS.has(op.KV.Verb)).length;
    if (list.length < expected) return `${list.length} results for ${expected} operations that yield one`;
  }
  for (let i = 0; i < list.length; i++) {
    const result = list[i];
    if (typeof result !== 'object' || result === null) return `result ${i} is not an object`;
    const kv = (result as { KV?: unknown }).KV;
    if (kv === undefined && onlyKv) return `result ${i} has no KV entry`;
    const problem = kv === undefined ? undefined : pairProblem(kv, `result ${i}.KV`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * `/v1/txn`: several KV and catalog operations applied atomically (all or none).
 * @see https://developer.hashicorp.com/consul/api-docs/txn
 */
export class Txn {
  /** Made by the client: use `client.txn`. */
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
    const flags = { big: false };
    const encoded: unknown[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) encoded[i] = encodeOp(ops[i]!, flags);
    const body = flags.big ? stringifyWithBigInt(encoded) : JSON.stringify(encoded);
    // A UTF-16 length within the limit is within it in UTF-8 too, unless it holds non-ASCII.
    if (body.length * 3 > KV_MAX_VALUE_SIZE && Buffer.byteLength(body) > KV_MAX_VALUE_SIZE) {
      throw new ConsulError(
        'CONSUL_TOO_LARGE',
        `the transaction is ${Buffer.byteLength(body)} bytes, Consul accepts at most ${KV_MAX_VALUE_SIZE}`,
      );
    }
    const { status, data } = await this.transport.request<RawTxnResponse>({
      method: 'PUT',
      path: '/v1/txn',
      body,
      json: true,
      options,
      ok: OK_STATUSES,
      parse: parseKvJson,
      check: (answer, status) => txnProblem(answer, status, ops),
    });
    // Decoded in place: the parsed body is ours alone.
    const response = data as unknown as TxnResponse;
    const results = data.Results ?? [];
    for (const result of results) {
      const kv = result.KV as unknown as KvPair | undefined;
      if (kv) {
        kv.Value = decodeBase64(result.KV!.Value);
        kv.Flags = toFlags(kv.Flags);
      }
    }
    const errors = data.Errors ?? [];
    for (const error of errors) {
      (error as TxnOpError).op = ops[error.OpIndex];
      // A reason ends up in error messages: it keeps no secret a proxy may have echoed into it.
      error.What = this.transport.keep(error.What, options);
    }
    response.ok = status === 200;
    response.Results = results as TxnResult[];
    response.Errors = errors as TxnOpError[];
    return response;
  }
}
