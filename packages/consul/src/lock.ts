import { sleep } from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import type { KvPair } from './api/kv.js';
import type { ConsulClient } from './client.js';
import type { ConsulValue } from './codec.js';
import { ConsulError, isConsulError } from './errors.js';
import type { WriteOptions } from './options.js';
import { durationMs } from './request.js';
import { RenewedSession } from './renewed-session.js';
import { ConsulWatch } from './watch/consul-watch.js';

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

/** Events of {@link ConsulLock} (node-consul's vocabulary, plus `lost`). */
export interface ConsulLockEvents {
  /** The lock is held. */
  acquire: [held: ConsulLockHeld];
  /** An acquisition attempt was refused (someone holds the key, or a lock-delay runs); it goes on. */
  retry: [];
  /** `release()` gave the lock up. */
  release: [];
  /** The lock was lost while held (the key's session changed, or the session could not be renewed). */
  lost: [error: ConsulError];
  /** An error of the lock's own calls. */
  error: [error: ConsulError];
  /** One acquisition's life is over (released, lost, or the acquisition failed). */
  end: [error?: ConsulError];
}

function lockError(message: string, cause?: unknown): ConsulError {
  return new ConsulError('CONSUL_INVALID_ARGUMENT', message, cause === undefined ? {} : { cause });
}

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
export class ConsulLock extends EventEmitter<ConsulLockEvents> {
  readonly key: string;
  readonly #client: ConsulClient;
  readonly #options: ConsulLockOptions;
  readonly #call: WriteOptions;
  #held: ConsulLockHeld | undefined;
  #lost: AbortController | undefined;
  #renewal: RenewedSession | undefined;
  #monitor: ConsulWatch<KvPair | null> | undefined;
  #acquiring = false;

  constructor(client: ConsulClient, key: string, options: ConsulLockOptions = {}) {
    super();
    if (key === '') throw lockError('a lock needs a key');
    this.key = key;
    this.#client = client;
    this.#options = options;
    const { dc, token, ns, partition } = options;
    this.#call = {
      ...(dc !== undefined ? { dc } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(ns !== undefined ? { ns } : {}),
      ...(partition !== undefined ? { partition } : {}),
    };
  }

  /**
   * Whether the lock is held now: false also once the session's renewal deadline passed (see
   * {@link ConsulLock.validUntil}), even before any timer ran; reading it then declares the loss.
   */
  get held(): boolean {
    const renewal = this.#renewal;
    if (this.#held !== undefined && renewal !== undefined && Date.now() >= renewal.validUntil)
      this.#loseLock(lostError(this.key, 'no renewal of its session was confirmed within the TTL'));
    return this.#held !== undefined;
  }

  /**
   * When the holding ends unless a session renewal is confirmed first (epoch ms); `Infinity` with
   * a session of the caller's own (which the lock does not renew).
   */
  get validUntil(): number {
    return this.#renewal?.validUntil ?? Infinity;
  }

  /** The current holding (or `undefined`). */
  get holding(): ConsulLockHeld | undefined {
    return this.#held;
  }

  /**
   * Waits until the lock is held. Rejects with `CONSUL_ABORTED` when `signal` aborts first, and
   * with `CONSUL_INVALID_ARGUMENT` when the lock is already held or the key is used otherwise (a
   * semaphore, or a plain value with other flags).
   */
  async acquire(options: { signal?: AbortSignal } = {}): Promise<ConsulLockHeld> {
    if (this.#held || this.#acquiring) throw lockError(`lock ${this.key} is already held or being acquired`);
    this.#acquiring = true;
    let session: string | undefined;
    try {
      session = await this.#session(options.signal);
      const held = await this.#acquireWith(session, options.signal);
      this.#held = held;
      this.#startMonitor(session);
      this.emit('acquire', held);
      return held;
    } catch (error) {
      const failure = isConsulError(error) ? error : lockError(String(error), error);
      await this.#stopSession();
      if (failure.code !== 'CONSUL_ABORTED') this.emit('error', failure);
      this.emit('end', failure);
      throw failure;
    } finally {
      this.#acquiring = false;
    }
  }

  /** Gives the lock up (`?release`) and destroys the session the lock created. */
  async release(options: { signal?: AbortSignal } = {}): Promise<void> {
    const held = this.#held;
    if (!held) throw lockError(`lock ${this.key} is not held`);
    this.#held = undefined;
    this.#monitor?.end();
    this.#lost?.abort(lostError(this.key, 'released'));
    try {
      await this.#client.kv.release(this.key, held.session, this.#options.value, {
        ...this.#call,
        flags: LOCK_FLAG_VALUE,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } finally {
      await this.#stopSession();
    }
    this.emit('release');
    this.emit('end');
  }

  /**
   * Deletes the lock's key once nobody uses it (as the Go api's `Lock.Destroy`): resolves `false`
   * and deletes nothing while the lock is held (by anyone) or the key is not a lock. The delete is
   * conditional on the key's index, so a contender that takes the lock in between keeps its key.
   */
  async destroy(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.#held) return false;
    const call = { ...this.#call, consistent: true, ...(options.signal ? { signal: options.signal } : {}) };
    const { data: pair } = await this.#client.kv.get(this.key, call);
    if (!pair) return true;
    if (pair.Flags !== LOCK_FLAG_VALUE || pair.Session) return false;
    return this.#client.kv.delete(this.key, {
      ...this.#call,
      cas: pair.ModifyIndex,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async #session(signal: AbortSignal | undefined): Promise<string> {
    if (this.#options.session !== undefined) return this.#options.session;
    const ttl = this.#options.sessionTtl ?? '15s';
    this.#renewal = await RenewedSession.start(
      this.#client,
      {
        Name: this.#options.sessionName ?? 'Consul API Lock',
        TTL: ttl,
        Behavior: 'release',
        ...(this.#options.lockDelay !== undefined ? { LockDelay: this.#options.lockDelay } : {}),
      },
      { ...this.#call, ...(signal ? { signal } : {}) },
      (error: unknown) => this.#loseLock(lostError(this.key, 'the session could not be renewed', error)),
    );
    return this.#renewal.id;
  }

  async #stopSession(): Promise<void> {
    const renewal = this.#renewal;
    this.#renewal = undefined;
    await renewal?.stop();
  }

  async #acquireWith(session: string, signal: AbortSignal | undefined): Promise<ConsulLockHeld> {
    const waitTime = durationMs(this.#options.waitTime ?? '15s');
    const read = { ...this.#call, consistent: true, ...(signal ? { signal } : {}) };
    let index: number | undefined;
    for (;;) {
      if (signal?.aborted) throw lostError(this.key, 'acquisition aborted');
      const { data: pair, meta } = await this.#client.kv.get(this.key, {
        ...read,
        ...(index !== undefined ? { index, wait: waitTime } : {}),
      });
      if (pair && pair.Flags !== LOCK_FLAG_VALUE) {
        throw lockError(`key ${this.key} exists and is not a lock (flags ${pair.Flags})`);
      }
      if (pair?.Session === session) return this.#heldFrom(pair, session);
      if (pair?.Session) {
        index = meta.index;
        continue;
      }
      const acquired = await this.#client.kv.acquire(this.key, session, this.#options.value, {
        ...this.#call,
        flags: LOCK_FLAG_VALUE,
        ...(signal ? { signal } : {}),
      });
      if (acquired) {
        index = undefined;
        continue; // Read it back: the holding's indexes are the fencing token.
      }
      this.emit('retry');
      // Refused with nobody holding the key: an invalidated holder's lock-delay runs. Do not spin.
      const again = await this.#client.kv.get(this.key, read);
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
    this.#lost = new AbortController();
    return { session, lockIndex: pair.LockIndex, fencingToken: pair.ModifyIndex, signal: this.#lost.signal };
  }

  #startMonitor(session: string): void {
    const monitor = new ConsulWatch<KvPair | null>((options) => this.#client.kv.get(this.key, options), {
      ...this.#call,
      consistent: true,
      wait: this.#options.waitTime ?? '15s',
      maxAttempts: (this.#options.monitorRetries ?? 3) + 1,
      minInterval: 0,
    });
    this.#monitor = monitor;
    monitor.on('change', (pair) => {
      if (pair?.Session !== session) {
        this.#loseLock(lostError(this.key, pair ? 'another session holds the key' : 'the key was deleted'));
      }
    });
    monitor.on('error', (error) => this.emit('error', error));
    monitor.on('end', (error) => {
      if (error) this.#loseLock(lostError(this.key, 'the key could not be watched', error));
    });
  }

  #loseLock(reason: ConsulError): void {
    if (!this.#held) return;
    this.#held = undefined;
    this.#monitor?.end();
    this.#lost?.abort(reason);
    void this.#stopSession();
    this.emit('lost', reason);
    this.emit('end', reason);
  }
}
