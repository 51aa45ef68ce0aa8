import {
  InvalidArgumentError,
  Lock,
  LockLostError,
  TimeoutError,
  checkTtl,
  deadline,
  isPolykvError,
  type KeySpace,
  type LockOptions,
} from '@polykv/core';
import type { ConsulClient } from '../client.js';
import { ConsulLock } from '../lock.js';
import { MAX_SESSION_TTL } from './common.js';
import { toStoreError } from './errors.js';

const LOCK_SESSION_NAME = 'polykv-lock';

/** How the store's locks are made: its client, keys, smallest TTL and lock-delay. */
export interface LockSettings {
  client: ConsulClient;
  keys: KeySpace;
  minTtl: number;
  lockDelay: number;
}

/**
 * `Store.lock` on Consul: the native {@link ConsulLock} (a session with lock-delay acquiring the key
 * `<prefix>/.polykv/locks/<key>`) behind core's {@link Lock}. `options` are checked already.
 */
export async function acquireStoreLock(
  settings: LockSettings,
  key: string,
  options: LockOptions,
): Promise<Lock> {
  const { client, keys, minTtl, lockDelay } = settings;
  const userKey = keys.fromBackend(keys.toBackend(key))!;
  const ttl = Math.max(checkTtl(options.ttl ?? 15, 1)!, minTtl);
  if (ttl > MAX_SESSION_TTL) throw new InvalidArgumentError('ttl', `ttl ${ttl} s is above Consul's 24 h`);
  const wait = options.wait ?? Infinity;
  if (typeof wait !== 'number' || !(wait >= 0))
    throw new InvalidArgumentError('wait', 'wait must be a number of milliseconds >= 0');
  const lockPath = keys.reserved('locks', userKey);
  const d = deadline(options.signal, options.timeout);
  // `wait: 0` tries once: a held lock times out at once; a free one gets a short bound for the round trips.
  const waitMs = wait === 0 ? 5000 : wait;
  const waitSignal = Number.isFinite(waitMs) ? AbortSignal.timeout(Math.max(1, waitMs)) : undefined;
  const signals = [d.signal, waitSignal].filter((s): s is AbortSignal => s !== undefined);
  const signal =
    signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const stopped = (cause: unknown): Error => {
    if (d.signal?.aborted) return d.error(cause);
    if (waitSignal?.aborted)
      return new TimeoutError(`lock ${key}: not acquired within ${wait} ms`, { key, cause });
    return toStoreError(cause, key);
  };
  try {
    if (wait === 0) {
      const { data } = await client.kv.get(lockPath, {
        consistent: true,
        ...(signal ? { signal } : {}),
      });
      if (data?.Session) throw new TimeoutError(`lock ${key} is held (wait: 0)`, { key });
    }
    const native = new ConsulLock(client, lockPath, {
      sessionName: LOCK_SESSION_NAME,
      sessionTtl: `${ttl}s`,
      lockDelay: `${Math.round(lockDelay)}ms`,
      retryTime: Math.max(100, Math.min(lockDelay, 5000)),
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
        // Nothing stays behind once nobody waits: the lock key goes unless a session holds it
        // again (a cas on its index; a waiter that takes it in between keeps it). Best effort.
        await native.destroy(options).catch(() => undefined);
      },
      () => native.validUntil,
    );
    const onLost = (cause: unknown): void => lock.markLost(new LockLostError(userKey, { cause }));
    native.once('lost', onLost);
    // Lost by the renewal deadline (read on `lock.held`): reading the native lock's `held` past
    // the same deadline gives its session up too.
    lock.once('lost', () => void native.held);
    if (held.signal.aborted && !native.held) onLost(held.signal.reason);
    return lock;
  } catch (error) {
    if (isPolykvError(error)) throw error;
    throw stopped(error);
  } finally {
    d.dispose();
  }
}

/**
 * A test aid: destroys the session holding `lock` behind its holder's back, as Consul does when a
 * holder's node fails or its TTL runs out. Only a lock session of polykv's, never anyone else's.
 */
export async function breakStoreLock(client: ConsulClient, keys: KeySpace, lock: Lock): Promise<void> {
  const { data } = await client.kv.get(keys.reserved('locks', lock.key), { consistent: true });
  if (!data?.Session) return;
  const { data: info } = await client.session.info(data.Session, { consistent: true });
  if (info?.Name === LOCK_SESSION_NAME) await client.session.destroy(data.Session);
}
