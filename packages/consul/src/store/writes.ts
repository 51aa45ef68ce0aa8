import {
  extend,
  BackendError,
  KeyHeldError,
  KeyTypeError,
  NotSupportedError,
  PermissionDeniedError,
  isReservedKey,
  type KeySpace,
} from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import type { TxnKvOp, TxnOp, TxnOpError, TxnResponse } from '../api/txn.js';
import type { ConsulClient } from '../client.js';
import { TXN_MAX_OPS } from '../codec.js';
import type { QueryOptions } from '../options.js';
import { rawSize, type Raw } from './common.js';
import { txnFailure } from './errors.js';
import { createTtlSession, destroyQuietly, expiryFlags, holderOf, type Holder } from './ttl.js';

/** Values whose base64 would make a txn body this large go through `PUT /v1/kv` instead. */
export const TXN_VALUE_LIMIT = 380 * 1024;
/** A transaction operation refused by the ACL system (Consul reports it in `Errors[].What`). */
const TXN_DENIED = /Permission denied|ACL not found/i;
const FREE: Holder = Object.freeze({ kind: 'free' });

/** The condition of a write: none, the key is absent, or the key is at this index. */
export type Condition = { kind: 'none' } | { kind: 'absent' } | { kind: 'index'; index: number };
export type WriteResult = { ok: true; pair: KvPair } | { ok: false; errors: TxnOpError[] };
export const NONE: Condition = { kind: 'none' };

/**
 * The store's writes: every transaction, conditional writes with and without a TTL (a TTL is a
 * session that holds the key, see ttl.ts), values too large for a transaction, and the release of
 * the store's own TTL sessions. Requests only: no Store options, no error mapping.
 */
export class KvWrites {
  readonly #client: ConsulClient;
  readonly #keys: KeySpace;

  constructor(client: ConsulClient, keys: KeySpace) {
    this.#client = client;
    this.#keys = keys;
  }

  /**
   * Every transaction of the store. A token without write rights makes Consul roll the transaction
   * back with "Permission denied" as an operation error (not a 403): that is a permission error, not
   * a failed condition, whatever the caller's condition was.
   */
  async txn(ops: readonly TxnOp[], call: QueryOptions): Promise<TxnResponse> {
    const response = await this.#client.txn.apply(ops, call);
    const denied = response.ok ? undefined : response.Errors.find((error) => TXN_DENIED.test(error.What));
    if (denied) throw new PermissionDeniedError(`consul: ${denied.What}`, { cause: response.Errors });
    return response;
  }

  /**
   * Writes a value under a condition, in one transaction that also reads the entry back. Without a
   * TTL a key held by the store's own TTL session is released from it (so it becomes permanent),
   * and a key held by anyone else's session stays held. With a TTL a new session with
   * `Behavior=delete` locks the key, replacing the store's earlier one; a key held by anyone
   * else's session is refused (`HELD`).
   */
  async write(
    path: string,
    raw: Raw,
    ttl: number | undefined,
    condition: Condition,
    call: QueryOptions,
    flags: bigint,
  ): Promise<WriteResult> {
    // Base64 of a string takes at most 4 characters per UTF-16 unit: short strings need no byte count.
    if (typeof raw !== 'string' || raw.length * 4 > TXN_VALUE_LIMIT) {
      if (Math.ceil(rawSize(raw) / 3) * 4 > TXN_VALUE_LIMIT)
        return this.#writeLarge(path, raw, ttl, condition, call, flags);
    }
    if (ttl === undefined) {
      const write: TxnKvOp =
        condition.kind === 'none'
          ? { Verb: 'set', Key: path, Value: raw }
          : { Verb: 'cas', Key: path, Value: raw, Index: condition.kind === 'absent' ? 0 : condition.index };
      if (flags !== 0n) write.Flags = flags;
      // A `set`/`cas` result carries the entry's indexes and session (not its value): one op is enough.
      const response = await this.txn([{ KV: write }], call);
      if (!response.ok) return { ok: false, errors: response.Errors };
      const pair = response.Results.at(-1)!.KV!;
      if (pair.Session === undefined || pair.Session === '') return { ok: true, pair };
      return { ok: true, pair: await this.releaseOwn(path, raw, flags, pair, call) };
    }
    const client = this.#client;
    const { data: current } = await client.kv.get(path, extend(call, { consistent: true }));
    if (condition.kind === 'index' && current?.ModifyIndex !== condition.index) {
      return { ok: false, errors: [{ OpIndex: 0, What: 'index is stale', op: undefined }] };
    }
    if (condition.kind === 'absent' && current) {
      return { ok: false, errors: [{ OpIndex: 0, What: 'key exists', op: undefined }] };
    }
    const holder: Holder = current ? await holderOf(client, current, current.Flags, call) : FREE;
    if (holder.kind === 'foreign') throw this.#held(path, holder);
    const session = await createTtlSession(client, path, ttl, call);
    const ops: TxnOp[] = [];
    if (current) ops.push({ KV: { Verb: 'check-index', Key: path, Index: current.ModifyIndex } });
    else ops.push({ KV: { Verb: 'check-not-exists', Key: path } });
    const old = holder.kind === 'own' ? holder.session : undefined;
    if (old) ops.push({ KV: { Verb: 'unlock', Key: path, Session: old } });
    ops.push(
      { KV: { Verb: 'lock', Key: path, Value: raw, Session: session, Flags: expiryFlags(ttl) } },
      { KV: { Verb: 'get', Key: path } },
    );
    let response;
    try {
      response = await this.txn(ops, call);
    } catch (error) {
      await destroyQuietly(client, session);
      throw error;
    }
    if (!response.ok) {
      await destroyQuietly(client, session);
      return { ok: false, errors: response.Errors };
    }
    if (old) await destroyQuietly(client, old);
    return { ok: true, pair: response.Results.at(-1)!.KV! };
  }

  /**
   * After a plain write found the key held (`pair.Session`): the store's own TTL session is
   * unlocked from the key and destroyed, so the key becomes permanent; a session polykv did not
   * create keeps its hold, exactly as `consul kv put` leaves it. Resolves the key's newest pair.
   */
  async releaseOwn(path: string, raw: Raw, flags: bigint, pair: KvPair, call: QueryOptions): Promise<KvPair> {
    const holder = await holderOf(this.#client, pair, undefined, call);
    if (holder.kind !== 'own') return pair;
    const unlock: TxnKvOp = { Verb: 'unlock', Key: path, Value: raw, Session: holder.session };
    if (flags !== 0n) unlock.Flags = flags;
    const released = await this.txn(
      [
        { KV: { Verb: 'check-index', Key: path, Index: pair.ModifyIndex } },
        { KV: unlock },
        { KV: { Verb: 'get', Key: path } },
      ],
      call,
    );
    await destroyQuietly(this.#client, holder.session);
    if (!released.ok) return pair; // written again since: the newer write decides
    return released.Results.at(-1)!.KV!;
  }

  /**
   * `del`: the key (a value, or an empty directory's marker), or with `recursive` the key and
   * everything below it. Resolves false when there was nothing to delete.
   */
  async delete(key: string, path: string, recursive: boolean, call: QueryOptions): Promise<boolean> {
    if (recursive && path === this.#keys.prefix) return this.#deleteRoot(path, call);
    if (recursive) {
      const { data: keys } = await this.#client.kv.keys(path, call);
      if (!keys.some((k) => k === path || k.startsWith(`${path}/`))) return false;
      const response = await this.txn(
        [{ KV: { Verb: 'delete-tree', Key: `${path}/` } }, { KV: { Verb: 'delete', Key: path } }],
        call,
      );
      if (!response.ok) throw txnFailure(key, response.Errors);
      return true;
    }
    const response = await this.txn(
      [{ KV: { Verb: 'get', Key: path } }, { KV: { Verb: 'delete', Key: path } }],
      call,
    );
    if (response.ok) return true;
    if (!response.Errors.every((error) => error.OpIndex === 0)) throw txnFailure(key, response.Errors);
    // No value at the key: maybe a directory.
    const { data: children } = await this.#client.kv.keys(`${path}/`, call);
    if (children.length === 0) return false;
    if (children.length === 1 && children[0] === `${path}/`) {
      await this.#client.kv.delete(`${path}/`, call);
      return true;
    }
    throw new KeyTypeError('IS_A_DIRECTORY', key);
  }

  /** `del('', { recursive })`: every top-level child of the prefix except the reserved `.polykv/`. */
  async #deleteRoot(path: string, call: QueryOptions): Promise<boolean> {
    const folder = path === '' ? '' : `${path}/`;
    const { data: children } = await this.#client.kv.keys(folder, extend(call, { separator: '/' }));
    const ops: TxnOp[] = [];
    for (const child of children) {
      const name = child.slice(folder.length);
      if (name === '' || isReservedKey(name.endsWith('/') ? name.slice(0, -1) : name)) continue;
      ops.push({ KV: { Verb: name.endsWith('/') ? 'delete-tree' : 'delete', Key: child } });
    }
    for (let at = 0; at < ops.length; at += TXN_MAX_OPS) {
      const response = await this.txn(ops.slice(at, at + TXN_MAX_OPS), call);
      if (!response.ok) throw txnFailure('', response.Errors);
    }
    return ops.length > 0;
  }

  /** The `HELD` error for a key a foreign session holds. */
  #held(path: string, holder: Extract<Holder, { kind: 'foreign' }>): KeyHeldError {
    return new KeyHeldError(this.#keys.fromBackend(path) ?? path, {
      session: holder.session,
      sessionName: holder.info.Name,
      node: holder.info.Node,
    });
  }

  /** Values too large for a transaction body: `PUT /v1/kv` and a read. Holds as in {@link write}. */
  async #writeLarge(
    path: string,
    raw: Raw,
    ttl: number | undefined,
    condition: Condition,
    call: QueryOptions,
    flags: bigint,
  ): Promise<WriteResult> {
    if (ttl !== undefined && condition.kind !== 'none') {
      throw new NotSupportedError(
        'Consul cannot write a value over 285 KiB with both a TTL and a condition atomically',
      );
    }
    const kv = this.#client.kv;
    const { data: current } = await kv.get(path, extend(call, { consistent: true }));
    const holder: Holder = current ? await holderOf(this.#client, current, current.Flags, call) : FREE;
    if (holder.kind === 'foreign' && ttl !== undefined) throw this.#held(path, holder);
    const own = holder.kind === 'own' ? holder.session : undefined;
    const withFlags = flags !== 0n ? { flags } : {};
    let session: string | undefined;
    let ok: boolean;
    if (ttl !== undefined) {
      // Our earlier session lets go first (writing the new value), then the new one takes the key.
      if (own) await kv.release(path, own, raw, call);
      session = await createTtlSession(this.#client, path, ttl, call);
      ok = await kv.put(path, raw, extend(call, { acquire: session, flags: expiryFlags(ttl) }));
    } else if (own) {
      // Write the value and free it from our own session in one step.
      const stale =
        condition.kind === 'absent' ||
        (condition.kind === 'index' && current!.ModifyIndex !== condition.index);
      ok = !stale && (await kv.release(path, own, raw, extend(call, withFlags)));
    } else if (condition.kind === 'none') {
      // Always a `?cas=` on the index just read: a plain PUT counts as idempotent and could be
      // resent to another agent after a connection broke, landing after a newer write. Someone
      // writing in between only means reading again (a set wins either way). A foreign session's
      // hold stays (a cas keeps the key's session, as `consul kv put` does).
      let seen = current;
      ok = false;
      for (let attempt = 0; attempt < 10 && !ok; attempt++) {
        ok = await kv.put(path, raw, extend(call, withFlags, { cas: seen?.ModifyIndex ?? 0 }));
        if (!ok) ({ data: seen } = await kv.get(path, extend(call, { consistent: true })));
      }
    } else {
      const cas = condition.kind === 'absent' ? 0 : condition.index;
      ok = await kv.put(path, raw, extend(call, withFlags, { cas }));
    }
    if (own) await destroyQuietly(this.#client, own);
    if (!ok) {
      if (session) await destroyQuietly(this.#client, session);
      return { ok: false, errors: [{ OpIndex: 0, What: 'conditional write refused', op: undefined }] };
    }
    const { data } = await kv.get(path, extend(call, { consistent: true }));
    if (!data) throw new BackendError(`consul: ${path} vanished right after it was written`);
    return { ok: true, pair: data };
  }
}
