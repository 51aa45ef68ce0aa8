import { sleep } from '@polykv/core';
import type { KvPair } from './api/kv.js';
import type { SessionCreateRequest } from './api/session.js';
import type { ConsulValue } from './codec.js';
import { ConsulError } from './errors.js';
import type { WriteOptions } from './options.js';
import { durationMs } from './codec.js';
import { SessionHolder, invalid, type HoldingEvents } from './holding.js';
import type { CoordinationClient } from './renewed-session.js';

/** The flags the Go api sets on a lock key (and checks, to tell a lock from a semaphore). */
export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;

/** Options of {@link ConsulLock}; defaults are the Go api's. */
export interface ConsulLockOptions extends WriteOptions {
  /** Stored in the key while the lock is held. */
  value?: ConsulValue;
  /** Use this session instead of creating (and renewing, and destroying) one. */
  session?: string;
  /** @defaultValue 'Consul API Lock' */
  sessionName?: string;
  /** TTL of the session the lock creates, renewed every TTL/2. @defaultValue '15s' */
  sessionTtl?: number | string;
  /** Lock-delay of the session the lock creates. @defaultValue Consul's 15 s */
  lockDelay?: number | string;
  /** How long each blocking read waits for the holder to go. @defaultValue '15s' */
  waitTime?: number | string;
  /**
   * Pause after an acquire refused although nobody holds the key (the lock-delay of an
   * invalidated holder runs), in ms. @defaultValue 5000
   */
  retryTime?: number;
  /** Consecutive failed reads of the key while held before the lock counts as lost. @defaultValue 3 */
  monitorRetries?: number;
}

/** What {@link ConsulLock.acquire} resolves. */
export interface ConsulLockHeld {
  /** The session holding the key. */
  session: string;
  /** The key's `LockIndex` after acquisition (how many times the key was acquired). */
  lockIndex: number;
  /**
   * The key's `ModifyIndex` after acquisition: a fencing token that grows with every acquisition;
   * pass it to the resources you protect and let them refuse smaller ones.
   */
  fencingToken: number;
  /** Aborted (with the reason) when the lock is lost or released. */
  signal: AbortSignal;
}

/** Events of {@link ConsulLock} (node-consul's vocabulary, plus `lost`): see `HoldingEvents`. */
export type ConsulLockEvents = HoldingEvents<ConsulLockHeld>;

function lostError(key: string, why: string, cause?: unknown): ConsulError {
  return new ConsulError('CONSUL_ABORTED', `lock ${key} lost: ${why}`, cause === undefined ? {} : { cause });
}

/**
 * A distributed mutex on one KV key, following the Go api's `Lock` (Consul's leader election
 * recipe): a session with a TTL renewed every TTL/2, `?acquire` on the key, blocking reads while
 * another session holds it, and patience during lock-delay (after an invalidated holder, acquire
 * answers `false` until the delay has passed). While held, the key is watched: if its `Session` is
 * no longer ours, or the session cannot be renewed, the lock is lost (`lost` event, `signal` aborted).
 *
 * ```ts
 * const lock = client.lock('service/leader', { sessionTtl: '15s' });
 * const held = await lock.acquire({ signal });
 * held.signal.addEventListener('abort', () => stopLeading());
 * await doWork(held.fencingToken);
 * await lock.release();
 * ```
 */
export class ConsulLock extends SessionHolder<ConsulLockHeld> {
  /** The KV key the lock acquires with its session (and writes `value` to while held). */
  readonly key: string;
  readonly #options: ConsulLockOptions;

  /**
   * Usually made with `client.lock(key, options)`. Sends nothing until `acquire`; an empty key is
   * refused with `CONSUL_INVALID_ARGUMENT`.
   * @param client The client, or anything with its `kv` and `session` endpoints.
   */
  constructor(client: CoordinationClient, key: string, options: ConsulLockOptions = {}) {
    if (key === '') throw invalid('a lock needs a key');
    super(client, options, `lock ${key}`);
    this.key = key;
    this.#options = options;
  }

  /**
   * Whether the lock is held now: false also once the session's renewal deadline passed (see
   * {@link ConsulLock.validUntil}), even before any timer ran; reading it then declares the loss.
   */
  get held(): boolean {
    if (this.current !== undefined && Date.now() >= this.validUntil)
      this.lose(lostError(this.key, 'no renewal of its session was confirmed within the TTL'));
    return this.current !== undefined;
  }

  /** The current holding (or `undefined`). */
  get holding(): ConsulLockHeld | undefined {
    return this.current;
  }

  /**
   * Deletes the lock's key once nobody uses it (as the Go api's `Lock.Destroy`): resolves `false`
   * and deletes nothing while the lock is held (by anyone) or the key is not a lock. The delete is
   * conditional on the key's index, so a contender that takes the lock in between keeps its key.
   */
  async destroy(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.current) return false;
    const call = { ...this.call, consistent: true, ...(options.signal ? { signal: options.signal } : {}) };
    const { data: pair } = await this.client.kv.get(this.key, call);
    if (!pair) return true;
    if (pair.Flags !== LOCK_FLAG_VALUE || pair.Session) return false;
    return this.client.kv.delete(this.key, {
      ...this.call,
      cas: pair.ModifyIndex,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  protected sessionRequest(): SessionCreateRequest & {
    /** The session's TTL (`sessionTtl`), which the lock renews every TTL/2. */
    TTL: number | string;
  } {
    return {
      Name: this.#options.sessionName ?? 'Consul API Lock',
      TTL: this.#options.sessionTtl ?? '15s',
      Behavior: 'release',
      ...(this.#options.lockDelay !== undefined ? { LockDelay: this.#options.lockDelay } : {}),
    };
  }

  /** `?acquire` on the key, reading blockingly while another session holds it. */
  protected take(session: string, signal: AbortSignal | undefined): Promise<ConsulLockHeld> {
    return this.#acquireWith(session, signal);
  }

  /** `?release` of the key. */
  protected async give(held: ConsulLockHeld, signal: AbortSignal | undefined): Promise<void> {
    await this.client.kv.release(this.key, held.session, this.#options.value, {
      ...this.call,
      flags: LOCK_FLAG_VALUE,
      ...(signal ? { signal } : {}),
    });
  }

  /** While held, the key's `Session` must stay ours. */
  protected watchHeld(session: string): void {
    this.watch<KvPair | null>((options) => this.client.kv.get(this.key, options), {
      lostBy: (pair) =>
        pair?.Session === session
          ? undefined
          : lostError(this.key, pair ? 'another session holds the key' : 'the key was deleted'),
      unwatched: (error) => lostError(this.key, 'the key could not be watched', error),
    });
  }

  async #acquireWith(session: string, signal: AbortSignal | undefined): Promise<ConsulLockHeld> {
    const waitTime = durationMs(this.#options.waitTime ?? '15s');
    const read = { ...this.call, consistent: true, ...(signal ? { signal } : {}) };
    let index: number | undefined;
    for (;;) {
      if (signal?.aborted) throw lostError(this.key, 'acquisition aborted');
      const { data: pair, meta } = await this.client.kv.get(this.key, {
        ...read,
        ...(index !== undefined ? { index, wait: waitTime } : {}),
      });
      if (pair && pair.Flags !== LOCK_FLAG_VALUE) {
        throw invalid(`key ${this.key} exists and is not a lock (flags ${pair.Flags})`);
      }
      if (pair?.Session === session) return this.#heldFrom(pair, session);
      if (pair?.Session) {
        index = meta.index;
        continue;
      }
      const acquired = await this.client.kv.acquire(this.key, session, this.#options.value, {
        ...this.call,
        flags: LOCK_FLAG_VALUE,
        ...(signal ? { signal } : {}),
      });
      if (acquired) {
        index = undefined;
        continue; // Read it back: the holding's indexes are the fencing token.
      }
      this.emit('retry');
      // Refused with nobody holding the key: an invalidated holder's lock-delay runs. Do not spin.
      const again = await this.client.kv.get(this.key, read);
      if (again.data?.Session) {
        index = again.meta.index;
        continue;
      }
      index = undefined;
      try {
        await sleep(this.#options.retryTime ?? 5000, signal);
      } catch {
        throw lostError(this.key, 'acquisition aborted');
      }
    }
  }

  #heldFrom(pair: KvPair, session: string): ConsulLockHeld {
    const signal = this.begin();
    return { session, lockIndex: pair.LockIndex, fencingToken: pair.ModifyIndex, signal };
  }
}
