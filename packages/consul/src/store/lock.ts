import {
  InvalidArgumentError,
  Lock,
  LockLostError,
  STORE_OPTIONS,
  TimeoutError,
  checkTtl,
  checkWait,
  anySignal,
  deadline,
  isPolykvError,
  type KeySpace,
  type LockOptions,
  type OptionTableOf,
} from '@polykv/core';
import type { ConsulClient } from '../client.js';
import { ConsulLock } from '../lock.js';
import { MAX_SESSION_TTL } from './common.js';
import { toStoreError } from './errors.js';

const LOCK_SESSION_NAME = 'polykv-lock';

/** `Store.lock` options on Consul: the portable ones, and the key of a lock shared with Consul's tools. */
export interface ConsulStoreLockOptions extends LockOptions {
  /**
   * Lock this Consul key (relative to the store's prefix) as Consul's Go `api.Lock` does, instead
   * of the store's own `.polykv/locks/<key>`: then polykv, Go services locking that key and `consul
   * lock <p>` (which locks `<p>/.lock`) exclude each other. `key` still names the handle. A key that
   * holds anything but a lock (other flags) is refused with `INVALID_ARGUMENT`.
   */
  consulKey?: string;
}

/** `Store.lock`'s option table on Consul. */
export const LOCK_OPTIONS = {
  ...STORE_OPTIONS.lock,
  consulKey: 'string',
} satisfies OptionTableOf<ConsulStoreLockOptions>;

/** How the store's locks are made: its client, keys, smallest TTL and lock-delay. */
export interface LockSettings {
  client: ConsulClient;
  keys: KeySpace;
  minTtl: number;
  lockDelay: number;
}

/** The checks every lock and semaphore makes: the user key, the session TTL, `wait`. */
export function lockBasics(
  settings: LockSettings,
  key: string,
  options: LockOptions,
): { userKey: string; ttl: number; wait: number } {
  const userKey = settings.keys.fromBackend(settings.keys.toBackend(key))!;
  const ttl = Math.max(checkTtl(options.ttl ?? 15, 1)!, settings.minTtl);
  if (ttl > MAX_SESSION_TTL) throw new InvalidArgumentError('ttl', `ttl ${ttl} s is above Consul's 24 h`);
  return { userKey, ttl, wait: checkWait(options.wait) };
}

/**
 * Runs an acquisition bounded by the caller's `signal` and `timeout` and by `wait`, and maps its
 * failure: the caller's abort or timeout (`ABORTED`, `TIMEOUT`), `wait` running out (`TIMEOUT`), or
 * the native error. `wait: 0` tries once: `busy` says whether others hold it all now; a free one
 * gets a short bound for the round trips.
 */
export async function boundedAcquire<T>(
  what: string,
  key: string,
  options: LockOptions,
  wait: number,
  busy: (signal: AbortSignal | undefined) => Promise<boolean>,
  acquire: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const d = deadline(options.signal, options.timeout);
  const waitMs = wait === 0 ? 5000 : wait;
  const waitSignal = Number.isFinite(waitMs) ? AbortSignal.timeout(Math.max(1, waitMs)) : undefined;
  const signals = [d.signal, waitSignal].filter((s): s is AbortSignal => s !== undefined);
  const both = signals.length > 1 ? anySignal(signals) : undefined;
  const signal = both?.signal ?? signals[0];
  try {
    if (wait === 0 && (await busy(signal))) throw new TimeoutError(`${what} is held (wait: 0)`, { key });
    return await acquire(signal);
  } catch (error) {
    if (isPolykvError(error)) throw error;
    if (d.signal?.aborted) throw d.error(error);
    if (waitSignal?.aborted)
      throw new TimeoutError(`${what}: not acquired within ${wait} ms`, { key, cause: error });
    throw toStoreError(error, key);
  } finally {
    both?.dispose();
    d.dispose();
  }
}

/**
 * `Store.lock` on Consul: the native {@link ConsulLock} (a session with lock-delay acquiring the key
 * `<prefix>/.polykv/locks/<key>`, or `consulKey`) behind core's {@link Lock}. `options` are checked
 * already.
 */
export async function acquireStoreLock(
  settings: LockSettings,
  key: string,
  options: ConsulStoreLockOptions,
): Promise<Lock> {
  const { client, keys, lockDelay } = settings;
  const { userKey, ttl, wait } = lockBasics(settings, key, options);
  const lockPath =
    options.consulKey === undefined
      ? keys.reserved('locks', userKey)
      : keys.toBackend(options.consulKey, { argument: 'consulKey' });
  const busy = async (signal: AbortSignal | undefined): Promise<boolean> => {
    const { data } = await client.kv.get(lockPath, { consistent: true, ...(signal ? { signal } : {}) });
    return Boolean(data?.Session);
  };
  return boundedAcquire(`lock ${key}`, key, options, wait, busy, async (signal) => {
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
      () => native.abandon(),
    );
    const onLost = (cause: unknown): void => lock.markLost(new LockLostError(userKey, { cause }));
    native.once('lost', onLost);
    // Lost by the renewal deadline (read on `lock.held`): reading the native lock's `held` past
    // the same deadline gives its session up too.
    lock.once('lost', () => void native.held);
    if (held.signal.aborted && !native.held) onLost(held.signal.reason);
    return lock;
  });
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
