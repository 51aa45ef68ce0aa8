import { EventEmitter } from 'eventemitter3';
import { LockLostError } from './errors.js';
import { MAX_TIMER_MS, type CallOptions } from './signal.js';
import { checkOptions } from './validate.js';

/** Events of a held {@link Lock}. */
export interface LockEvents {
  /** The lock is no longer held: its session or key is gone, or it could not be renewed in time. */
  lost: [error: LockLostError];
  /** `release()` finished. */
  released: [];
}

/**
 * A held lock. Its holder must stop acting on the protected resource as soon as `signal` aborts
 * (or `lost` fires), and should pass `fencingToken` to the resource so that a stale holder's
 * writes can be refused.
 */
export class Lock extends EventEmitter<LockEvents> {
  /** The locked key (relative to the store's prefix). */
  readonly key: string;
  /** Grows with every acquisition of this key: etcd's createdIndex, Consul's LockIndex/ModifyIndex. */
  readonly fencingToken: number;
  /** Aborted when the lock is lost (reason: the `LockLostError`) or released. */
  readonly signal: AbortSignal;

  readonly #controller = new AbortController();
  readonly #release: (options: CallOptions) => Promise<void>;
  #state: 'held' | 'lost' | 'released' = 'held';
  #releasing: Promise<void> | undefined;

  constructor(key: string, fencingToken: number, release: (options: CallOptions) => Promise<void>) {
    super();
    this.key = key;
    this.fencingToken = fencingToken;
    this.signal = this.#controller.signal;
    this.#release = release;
  }

  /** True until the lock is lost or released. */
  get held(): boolean {
    return this.#state === 'held';
  }

  /**
   * Gives the lock up. Resolves once the backend has dropped it; a lock that was already lost
   * resolves at once. Safe to call more than once.
   */
  release(options: CallOptions = {}): Promise<void> {
    try {
      checkOptions(options, 'release');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state === 'lost') return Promise.resolve();
    this.#releasing ??= (async () => {
      this.#state = 'released';
      this.#controller.abort(new Error('the lock was released'));
      await this.#release(options);
      this.emit('released');
    })();
    return this.#releasing;
  }

  /** For backends: the lock is gone. Emits `lost` once and aborts `signal`. */
  markLost(error: LockLostError): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.#controller.abort(error);
    this.emit('lost', error);
  }
}

/**
 * Renews a lock (or any TTL'd claim) every `ttl / 3` and declares it lost when a renewal says so
 * or when no renewal has succeeded for long enough that the server may have let it expire. The
 * local check matters: a half-open connection can hide a lost lease (microsoft/etcd3#110).
 */
export class KeepAlive {
  readonly #ttlMs: number;
  readonly #renew: (signal: AbortSignal) => Promise<void>;
  readonly #onLost: (cause: unknown) => void;
  readonly #stop = new AbortController();
  #lastGood: number;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;

  /**
   * @param ttlSeconds - the claim's TTL on the server.
   * @param renew - renews the claim; rejects with a `LockLostError` when the claim is gone for good.
   * @param onLost - called once, with the cause.
   */
  constructor(
    ttlSeconds: number,
    renew: (signal: AbortSignal) => Promise<void>,
    onLost: (cause: unknown) => void,
  ) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#renew = renew;
    this.#onLost = onLost;
    this.#lastGood = Date.now();
    this.#armDeadline();
    this.#schedule(this.#ttlMs / 3);
  }

  /** Stops renewing (on release). */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
  }

  #armDeadline(): void {
    clearTimeout(this.#deadline);
    // Give up a little before the server could: the holder must hear of the loss first.
    const margin = Math.min(1000, this.#ttlMs / 10);
    const remaining = this.#lastGood + this.#ttlMs - margin - Date.now();
    this.#deadline = setTimeout(
      () => {
        // A TTL longer than one timer can wait takes several timers.
        if (Date.now() < this.#lastGood + this.#ttlMs - margin) this.#armDeadline();
        else this.#lose(new Error('no renewal succeeded within the TTL'));
      },
      Math.min(MAX_TIMER_MS, Math.max(0, remaining)),
    );
  }

  #schedule(delayMs: number): void {
    if (this.#stop.signal.aborted) return;
    // Referenced on purpose: a held lock keeps the process alive until it is released or lost.
    this.#timer = setTimeout(() => void this.#tick(), Math.min(MAX_TIMER_MS, delayMs));
  }

  async #tick(): Promise<void> {
    const sentAt = Date.now();
    try {
      await this.#renew(
        AbortSignal.any([this.#stop.signal, AbortSignal.timeout(Math.max(500, this.#ttlMs / 3))]),
      );
      if (this.#stop.signal.aborted) return;
      this.#lastGood = sentAt;
      this.#armDeadline();
      this.#schedule(this.#ttlMs / 3);
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      if (error instanceof LockLostError) {
        this.#lose(error);
        return;
      }
      // A transient failure: try again soon, until the local deadline says the claim may be gone.
      this.#schedule(Math.min(1000, this.#ttlMs / 10));
    }
  }

  #lose(cause: unknown): void {
    if (this.#stop.signal.aborted) return;
    this.stop();
    this.#onLost(cause);
  }
}
