import {
  Lock,
  LockLostError,
  STORE_OPTIONS,
  checkLimit,
  type OptionTableOf,
  type SemaphoreOptions,
} from '@polykv/core';
import { decodeText } from '../codec.js';
import { ConsulSemaphore, SEMAPHORE_LOCK_KEY } from '../semaphore.js';
import { toStoreError } from './errors.js';
import { boundedAcquire, lockBasics, type LockSettings } from './lock.js';

const SEMAPHORE_SESSION_NAME = 'polykv-semaphore';

/** `Store.semaphore` options on Consul: the portable ones, and a prefix shared with Consul's tools. */
export interface ConsulStoreSemaphoreOptions extends SemaphoreOptions {
  /**
   * Hold a slot of the Consul semaphore under this prefix (relative to the store's prefix) instead
   * of the store's own `.polykv/semaphores/<key>`: then polykv, `consul lock -n <limit> <prefix>`
   * and Go services using `api.SemaphorePrefix` on it share its slots. `key` still names the handle.
   */
  consulPrefix?: string;
}

/** `Store.semaphore`'s option table on Consul. */
export const SEMAPHORE_OPTIONS = {
  ...STORE_OPTIONS.semaphore,
  consulPrefix: 'string',
} satisfies OptionTableOf<ConsulStoreSemaphoreOptions>;

/**
 * `Store.semaphore` on Consul: the native {@link ConsulSemaphore} (Consul's own layout: contender
 * keys `<prefix>/<session>` and the `<prefix>/.lock` key with `Limit` and `Holders`) behind core's
 * {@link Lock}. A contender with another limit than the semaphore's is refused (`INVALID_ARGUMENT`),
 * as Consul's own tools refuse it. `options` are checked already.
 */
export async function acquireStoreSemaphore(
  settings: LockSettings,
  key: string,
  options: ConsulStoreSemaphoreOptions,
): Promise<Lock> {
  const { client, keys } = settings;
  const limit = checkLimit(options.limit);
  const { userKey, ttl, wait } = lockBasics(settings, key, options);
  const prefix =
    options.consulPrefix === undefined
      ? keys.reserved('semaphores', userKey)
      : keys.toBackend(options.consulPrefix, { argument: 'consulPrefix' });
  // `wait: 0`: full when the `.lock` key lists `limit` holders whose contender keys are held.
  const busy = async (signal: AbortSignal | undefined): Promise<boolean> => {
    const { data: pairs } = await client.kv.list(`${prefix}/`, {
      consistent: true,
      ...(signal ? { signal } : {}),
    });
    const lockPair = pairs.find((pair) => pair.Key === `${prefix}/${SEMAPHORE_LOCK_KEY}`);
    if (!lockPair?.Value) return false;
    let holders: Record<string, boolean> = {};
    try {
      holders =
        (JSON.parse(decodeText(lockPair.Value) ?? '') as { Holders?: Record<string, boolean> }).Holders ?? {};
    } catch {
      return false; // The acquisition itself names what is wrong with the key.
    }
    const alive = new Set(pairs.filter((pair) => pair.Session).map((pair) => pair.Session));
    return Object.keys(holders).filter((holder) => alive.has(holder)).length >= limit;
  };
  return boundedAcquire(`semaphore ${key}`, key, options, wait, busy, async (signal) => {
    const native = new ConsulSemaphore(client, prefix, limit, {
      sessionName: SEMAPHORE_SESSION_NAME,
      sessionTtl: `${ttl}s`,
      waitTime: '15s',
    });
    native.on('error', () => undefined);
    const held = await native.acquire(signal ? { signal } : {});
    const lock = new Lock(
      userKey,
      held.fencingToken,
      async (releaseOptions) => {
        if (!native.held) return;
        const options = releaseOptions.signal ? { signal: releaseOptions.signal } : {};
        try {
          await native.release(options);
        } catch (error) {
          if (native.held) throw toStoreError(error, key);
        }
        // Nothing stays behind once nobody holds or waits (conditional on the key's index).
        await native.destroy(options).catch(() => undefined);
      },
      () => native.validUntil,
      () => native.abandon(),
    );
    const onLost = (cause: unknown): void => lock.markLost(new LockLostError(userKey, { cause }));
    native.once('lost', onLost);
    // Lost by the renewal deadline (read on `lock.held`): give the slot up (only ours is touched).
    lock.once('lost', () => {
      if (!lock.abandoned && native.held) void native.release().catch(() => undefined);
    });
    if (held.signal.aborted && !native.held) onLost(held.signal.reason);
    return lock;
  });
}
