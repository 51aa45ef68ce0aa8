import { backoffDelay, checkFlags, joinKey, sleep, type BulkWrite } from '@polykv/core';
import type { KvPair } from '../api/kv.js';
import type { TxnKvOp } from '../api/txn.js';
import type { ConsulClient } from '../client.js';
import { TXN_MAX_OPS } from '../codec.js';
import type { QueryOptions } from '../options.js';
import { EMPTY, rawSize, type Raw } from './common.js';
import { txnFailure } from './errors.js';
import { createTtlSession, destroyQuietly, expiryFlags } from './ttl.js';
import { TXN_VALUE_LIMIT, type KvWrites } from './writes.js';

/** A `cas` of `writeMany`'s transaction. */
export type BulkOp = { KV: TxnKvOp & { Value: Raw } };

/**
 * `writeMany`'s writes as one transaction of `cas` operations on each `prevIndex`, or `undefined`
 * when a transaction cannot carry them (a key or value the store refuses, too many operations, a
 * body too large): then each write goes through the single-key path, for an answer of its own.
 */
export function bulkOps<V>(
  writes: readonly BulkWrite<V>[],
  path: (key: string) => string,
  encode: (key: string, value: V) => Raw,
): BulkOp[] | undefined {
  let ops: BulkOp[];
  try {
    ops = writes.map((write) => {
      const op: BulkOp['KV'] = {
        Verb: 'cas',
        Key: path(write.key),
        Value: encode(write.key, write.value),
        Index: write.prevIndex,
      };
      // Carried as Consul keeps them (copy passes the source's flags); none writes 0, as a set does.
      const flags = checkFlags(write.flags);
      if (flags !== 0n) op.Flags = flags;
      return { KV: op };
    });
  } catch {
    return undefined;
  }
  const body = ops.reduce(
    (sum, op) => sum + Math.ceil(rawSize(op.KV.Value) / 3) * 4 + op.KV.Key.length + 100,
    0,
  );
  return ops.length > TXN_MAX_OPS || body > TXN_VALUE_LIMIT ? undefined : ops;
}

/**
 * `push`: the next in-order key below `dirPath`, from a counter key (`counter`) moved by a `cas`
 * in the same transaction that creates the item. Resolves `made` of the new item's pair (made while
 * the item's TTL session, if any, would still be destroyed on a failure).
 */
export async function pushItem<T>(
  client: ConsulClient,
  writes: KvWrites,
  dir: string,
  dirPath: string,
  counter: string,
  raw: Raw,
  ttl: number | undefined,
  flags: bigint,
  call: QueryOptions,
  made: (pair: KvPair) => T,
): Promise<T> {
  let skip = 0;
  let session: string | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      const { data } = await client.kv.get(counter, { ...call, consistent: true });
      const last = data ? Number(Buffer.from(data.Value ?? EMPTY).toString()) || 0 : 0;
      const next = last + 1 + skip;
      const item = joinKey(dirPath, String(next).padStart(20, '0'));
      // A TTL session is bound to the one key it holds (see ttl.ts): made per item.
      if (ttl !== undefined) session = await createTtlSession(client, item, ttl, call);
      const write: TxnKvOp =
        session === undefined
          ? { Verb: 'set', Key: item, Value: raw, ...(flags !== 0n ? { Flags: flags } : {}) }
          : { Verb: 'lock', Key: item, Value: raw, Session: session, Flags: expiryFlags(ttl!) };
      const response = await writes.txn(
        [
          { KV: { Verb: 'cas', Key: counter, Index: data?.ModifyIndex ?? 0, Value: String(next) } },
          { KV: { Verb: 'check-not-exists', Key: item } },
          { KV: write },
          { KV: { Verb: 'get', Key: item } },
        ],
        call,
      );
      if (response.ok) {
        const result = made(response.Results.at(-1)!.KV!);
        session = undefined;
        return result;
      }
      if (session !== undefined) {
        await destroyQuietly(client, session);
        session = undefined;
      }
      if (response.Errors.some((error) => error.OpIndex === 1)) skip++;
      else if (response.Errors.some((error) => error.OpIndex !== 0)) throw txnFailure(dir, response.Errors);
      else skip = 0;
      await sleep(backoffDelay(Math.min(attempt, 6), 5, 100), call.signal);
    }
  } finally {
    if (session !== undefined) await destroyQuietly(client, session);
  }
}
