import { Reader, Writer, type BytesLike } from './wire.js';

/**
 * etcd's KV messages (`etcdserverpb` Range/Put/DeleteRange/Txn/Compaction, `mvccpb.KeyValue`),
 * field numbers as in etcd's `rpc.proto` and `kv.proto`.
 *
 * @module
 */

/** Every response's header (`ResponseHeader`). */
export interface ResponseHeader {
  /** The ID (decimal) of the cluster the answering member belongs to. */
  clusterId: string;
  /** The ID (decimal) of the member that answered; see {@link Etcd3Member.id}. */
  memberId: string;
  /** The store's revision when the request was applied (for a watch progress: all events up to it were sent). */
  revision: number;
  /** The Raft term when the request was applied; it grows with every leader election. */
  raftTerm: number;
}

/** The answer of a call that returns nothing but etcd's header (auth changes, lease revoke, compaction). */
export interface HeaderOnlyResponse {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
}

/** A key and its value (`mvccpb.KeyValue`). `key` and `value` are views into the response. */
export interface KeyValue {
  /** The whole key, as stored (no prefix is stripped). */
  key: Buffer;
  /** Empty with `keysOnly`. */
  value: Buffer;
  /** The revision that created the key (it resets when the key is deleted and created again). */
  createRevision: number;
  /** The revision of the last change. */
  modRevision: number;
  /** Changes since creation: 1 after a create. */
  version: number;
  /** The lease the key is attached to; `'0'` for none. */
  lease: string;
}

/** The order of a range's answer (`RangeRequest.SortOrder`). */
export type SortOrder = 'none' | 'ascend' | 'descend';
/** What a range's answer is sorted by (`RangeRequest.SortTarget`). */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/** `RangeRequest`. */
export interface RangeRequest {
  /** The key to read; with `rangeEnd`, the first key of the range. */
  key: BytesLike;
  /** The range is `[key, rangeEnd)`; `\0` means every key from `key` on; absent: `key` alone. */
  rangeEnd?: BytesLike;
  /** At most this many keys in `kvs`; 0 or absent: no limit. `more` says whether keys were left out. */
  limit?: number;
  /** Read the store as of this revision (0: the newest). */
  revision?: number;
  /** The order of `kvs`; absent: `'none'`, etcd's ascending key order (but see `sortTarget`). */
  sortOrder?: SortOrder;
  /** What `kvs` is sorted by; absent: `'key'`. Another target with no `sortOrder` sorts ascending. */
  sortTarget?: SortTarget;
  /**
   * Answer from the member's local state, without a quorum round: faster, possibly stale. Absent:
   * linearizable.
   */
  serializable?: boolean;
  /** Leave values out: each `value` in `kvs` is empty. */
  keysOnly?: boolean;
  /** Only count: `kvs` is empty and `count` says how many keys the range holds. */
  countOnly?: boolean;
  /** Leave out keys last changed before this revision; 0 or absent: no lower bound. */
  minModRevision?: number;
  /** Leave out keys last changed after this revision; 0 or absent: no upper bound. */
  maxModRevision?: number;
  /** Leave out keys created before this revision; 0 or absent: no lower bound. */
  minCreateRevision?: number;
  /** Leave out keys created after this revision; 0 or absent: no upper bound. */
  maxCreateRevision?: number;
}

/** `RangeResponse`: the keys found (all, or up to `limit`) and the total count. */
export interface RangeResponse {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** The keys found, in key order unless sorted; empty with `countOnly` or when none matched. */
  kvs: KeyValue[];
  /** More keys are in the range than `limit` let through. */
  more: boolean;
  /** Keys in the range (regardless of `limit`). */
  count: number;
}

/** `PutRequest`. */
export interface PutRequest {
  /** The key to write. */
  key: BytesLike;
  /** The new value (a string is written as its UTF-8); must be empty with `ignoreValue`. */
  value: BytesLike;
  /** A lease ID (decimal) to attach the key to. */
  lease?: string;
  /** Return the key as it was before the put, in `PutResponse.prevKv`. */
  prevKv?: boolean;
  /** Keep the current value (only the lease changes); etcd refuses it when the key does not exist. */
  ignoreValue?: boolean;
  /** Keep the current lease; etcd refuses it when the key does not exist or `lease` is also given. */
  ignoreLease?: boolean;
}

/** `PutResponse`. */
export interface PutResponse {
  /** etcd's response header (answering member, store revision, Raft term). `revision` is the put's own. */
  header: ResponseHeader;
  /** With `prevKv`: the key before the put, when there was one. */
  prevKv: KeyValue | undefined;
}

/** `DeleteRangeRequest`. */
export interface DeleteRangeRequest {
  /** The key to delete; with `rangeEnd`, the first key of the range. */
  key: BytesLike;
  /** The range is `[key, rangeEnd)`; `\0` means every key from `key` on; absent: `key` alone. */
  rangeEnd?: BytesLike;
  /** Return the deleted keys as they were, in `DeleteRangeResponse.prevKvs`. */
  prevKv?: boolean;
}

/** `DeleteRangeResponse`: how many keys were deleted (and, with `prevKv`, which). */
export interface DeleteRangeResponse {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** How many keys were deleted; 0 when none matched. */
  deleted: number;
  /** With `prevKv`: the deleted keys as they were; otherwise empty. */
  prevKvs: KeyValue[];
}

/** What a {@link Compare} looks at. */
export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
/** How a {@link Compare} compares its target with the given value. */
export type CompareResult = '=' | '>' | '<' | '!=';

/**
 * One condition of a transaction (`Compare`): `target` of `key` (or of every key in
 * `[key, rangeEnd)`) compared with `value`. A missing key has version, create and mod revision 0.
 */
export interface Compare {
  /** The key whose `target` is compared; with `rangeEnd`, the first key of the range. */
  key: BytesLike;
  /** Which field of the key is compared. */
  target: CompareTarget;
  /** How: the condition is "`target` `result` `value`", e.g. `mod` `'='` 12. */
  result: CompareResult;
  /** A number for version/create/mod, bytes for value, a lease ID (decimal) for lease. */
  value: number | BytesLike;
  /** Compare every key in `[key, rangeEnd)` (each must pass; `\0`: every key from `key` on). etcd 3.3+. */
  rangeEnd?: BytesLike;
}

/** One operation of a transaction (`RequestOp`). */
export type RequestOp =
  | {
      /** Read a key or range. */
      range: RangeRequest;
    }
  | {
      /** Write a key. */
      put: PutRequest;
    }
  | {
      /** Delete a key or range. */
      deleteRange: DeleteRangeRequest;
    }
  | {
      /** A nested transaction (etcd 3.3+). */
      txn: TxnRequest;
    };

/** One result of a transaction (`ResponseOp`), in the order of the operations. */
export type ResponseOp =
  | {
      /** The answer of a `range` operation. */
      range: RangeResponse;
    }
  | {
      /** The answer of a `put` operation. */
      put: PutResponse;
    }
  | {
      /** The answer of a `deleteRange` operation. */
      deleteRange: DeleteRangeResponse;
    }
  | {
      /** The answer of a nested `txn`. */
      txn: TxnResponse;
    };

/** `TxnRequest`: if every `compare` holds, `success` runs, else `failure`; atomically. */
export interface TxnRequest {
  /** Conditions that must all hold for `success` to run; none: `success` runs. */
  compare?: Compare[];
  /** Operations run in order when every compare holds. */
  success?: RequestOp[];
  /** Operations run in order when a compare fails. */
  failure?: RequestOp[];
}

/** `TxnResponse`: whether the compares held, and the answers of the branch that ran. */
export interface TxnResponse {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** True when every compare held and `success` ran; false: `failure` ran. */
  succeeded: boolean;
  /** One answer per operation of the branch that ran, in order. */
  responses: ResponseOp[];
}

const SORT_ORDER: Record<SortOrder, number> = { none: 0, ascend: 1, descend: 2 };
const SORT_TARGET: Record<SortTarget, number> = { key: 0, version: 1, create: 2, mod: 3, value: 4 };
const RESULT: Record<CompareResult, number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };
const TARGET: Record<CompareTarget, number> = { version: 0, create: 1, mod: 2, value: 3, lease: 4 };

export function writeRange(w: Writer, r: RangeRequest): Writer {
  return w
    .bytes(1, r.key)
    .bytes(2, r.rangeEnd)
    .uint(3, r.limit)
    .uint(4, r.revision)
    .uint(5, r.sortOrder && SORT_ORDER[r.sortOrder])
    .uint(6, r.sortTarget && SORT_TARGET[r.sortTarget])
    .bool(7, r.serializable)
    .bool(8, r.keysOnly)
    .bool(9, r.countOnly)
    .uint(10, r.minModRevision)
    .uint(11, r.maxModRevision)
    .uint(12, r.minCreateRevision)
    .uint(13, r.maxCreateRevision);
}

export function writePut(w: Writer, r: PutRequest): Writer {
  return w
    .bytes(1, r.key)
    .bytes(2, r.value)
    .id(3, r.lease)
    .bool(4, r.prevKv)
    .bool(5, r.ignoreValue)
    .bool(6, r.ignoreLease);
}

export function writeDeleteRange(w: Writer, r: DeleteRangeRequest): Writer {
  return w.bytes(1, r.key).bytes(2, r.rangeEnd).bool(3, r.prevKv);
}

function writeCompare(w: Writer, c: Compare): void {
  w.uint(1, RESULT[c.result]).uint(2, TARGET[c.target]).bytes(3, c.key);
  // The target value is a oneof: written even when zero, or etcd could not tell which one is meant.
  if (c.target === 'value') w.bytesAlways(7, c.value as BytesLike);
  else if (c.target === 'lease') w.id(8, String(c.value));
  else w.uintAlways(c.target === 'version' ? 4 : c.target === 'create' ? 5 : 6, c.value as number);
  w.bytes(64, c.rangeEnd);
}

function writeOp(w: Writer, op: RequestOp): void {
  if ('range' in op) w.message(1, (m) => writeRange(m, op.range));
  else if ('put' in op) w.message(2, (m) => writePut(m, op.put));
  else if ('deleteRange' in op) w.message(3, (m) => writeDeleteRange(m, op.deleteRange));
  else w.message(4, (m) => writeTxn(m, op.txn));
}

export function writeTxn(w: Writer, r: TxnRequest): Writer {
  for (const c of r.compare ?? []) w.message(1, (m) => writeCompare(m, c));
  for (const op of r.success ?? []) w.message(2, (m) => writeOp(m, op));
  for (const op of r.failure ?? []) w.message(3, (m) => writeOp(m, op));
  return w;
}

export function readHeader(r: Reader, end: number): ResponseHeader {
  const header: ResponseHeader = { clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 8) header.clusterId = r.id();
    else if (tag === 16) header.memberId = r.id();
    else if (tag === 24) header.revision = r.varint();
    else if (tag === 32) header.raftTerm = r.varint();
    else r.skip(tag & 7);
  }
  return header;
}

const NO_BYTES = Buffer.alloc(0);
const NO_HEADER: ResponseHeader = Object.freeze({ clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 });

/** Reads a nested message's length and calls `read` with its end. */
export function nested<T>(r: Reader, read: (r: Reader, end: number) => T): T {
  const size = r.length();
  const end = r.pos + size;
  const value = read(r, end);
  r.pos = end;
  return value;
}

export function readKeyValue(r: Reader, end: number): KeyValue {
  const kv: KeyValue = {
    key: NO_BYTES,
    value: NO_BYTES,
    createRevision: 0,
    modRevision: 0,
    version: 0,
    lease: '0',
  };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) kv.key = r.bytes();
    else if (tag === 16) kv.createRevision = r.varint();
    else if (tag === 24) kv.modRevision = r.varint();
    else if (tag === 32) kv.version = r.varint();
    else if (tag === 42) kv.value = r.bytes();
    else if (tag === 48) kv.lease = r.id();
    else r.skip(tag & 7);
  }
  return kv;
}

export function readRange(r: Reader, end: number): RangeResponse {
  const out: RangeResponse = { header: NO_HEADER, kvs: [], more: false, count: 0 };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18) out.kvs.push(nested(r, readKeyValue));
    else if (tag === 24) out.more = r.varint() !== 0;
    else if (tag === 32) out.count = r.varint();
    else r.skip(tag & 7);
  }
  return out;
}

export function readPut(r: Reader, end: number): PutResponse {
  const out: PutResponse = { header: NO_HEADER, prevKv: undefined };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18) out.prevKv = nested(r, readKeyValue);
    else r.skip(tag & 7);
  }
  return out;
}

export function readDeleteRange(r: Reader, end: number): DeleteRangeResponse {
  const out: DeleteRangeResponse = { header: NO_HEADER, deleted: 0, prevKvs: [] };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 16) out.deleted = r.varint();
    else if (tag === 26) out.prevKvs.push(nested(r, readKeyValue));
    else r.skip(tag & 7);
  }
  return out;
}

function readResponseOp(r: Reader, end: number): ResponseOp {
  let op: ResponseOp | undefined;
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) op = { range: nested(r, readRange) };
    else if (tag === 18) op = { put: nested(r, readPut) };
    else if (tag === 26) op = { deleteRange: nested(r, readDeleteRange) };
    else if (tag === 34) op = { txn: nested(r, readTxn) };
    else r.skip(tag & 7);
  }
  // An empty PutResponse can arrive as an empty ResponseOp only if etcd omitted the oneof; say put.
  return op ?? { put: { header: NO_HEADER, prevKv: undefined } };
}

export function readTxn(r: Reader, end: number): TxnResponse {
  const out: TxnResponse = { header: NO_HEADER, succeeded: false, responses: [] };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 16) out.succeeded = r.varint() !== 0;
    else if (tag === 26) out.responses.push(nested(r, readResponseOp));
    else r.skip(tag & 7);
  }
  return out;
}

/** A response that carries only a header (Compaction, LeaseRevoke, the auth writes, ...). */
export function readHeaderOnly(r: Reader, end: number): HeaderOnlyResponse {
  let header = NO_HEADER;
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) header = nested(r, readHeader);
    else r.skip(tag & 7);
  }
  return { header };
}
