import { CompareFailedError, KeyNotFoundError, backoffDelay, sleep } from '@polykv/core';
import type { ConsulClient } from '../client.js';
import type { QueryOptions } from '../options.js';
import { sameBytes } from './common.js';

/**
 * After a write or delete on `prevIndex` was refused: `KEY_NOT_FOUND` when the key is gone, else
 * `COMPARE_FAILED` naming the index it is at.
 */
export async function indexMismatch(
  client: ConsulClient,
  key: string,
  path: string,
  prevIndex: number,
  call: QueryOptions,
): Promise<never> {
  const { data } = await client.kv.get(path, call);
  if (!data) throw new KeyNotFoundError(key);
  throw new CompareFailedError(key, {
    message: `compare failed: ${key} is at index ${data.ModifyIndex}, not ${prevIndex}`,
  });
}

/**
 * A condition on the value (`prevValue`), which Consul cannot check: reads the key, compares its
 * bytes with `expected`, and runs `attempt` with a `cas` on the index read. `attempt` resolving
 * `undefined` means the key was written in between: compare again with what is there now.
 */
export async function whileHolding<T>(
  client: ConsulClient,
  key: string,
  path: string,
  expected: Uint8Array,
  call: QueryOptions,
  attempt: (index: number) => Promise<T | undefined>,
): Promise<T> {
  for (let round = 0; ; round++) {
    const { data } = await client.kv.get(path, call);
    if (!data) throw new KeyNotFoundError(key);
    if (!sameBytes(data.Value, expected))
      throw new CompareFailedError(key, { message: `compare failed: ${key} holds another value` });
    const done = await attempt(data.ModifyIndex);
    if (done !== undefined) return done;
    if (round > 0) await sleep(backoffDelay(round, 10, 200), call.signal);
  }
}
