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

  readonly #controller = new AbortController();
  readonly #release: (options: CallOptions) => Promise<void>;
  readonly #validUntil: (() => number) | undefined;
  readonly #abandon: (() => void) | undefined;
  #abandoned = false;
  #state: 'held' | 'lost' | 'released' = 'held';
  #releasing: Promise<void> | undefined;

  /**
   * For backends: a lock just acquired. `release` gives it up on the server.
   * @param validUntil - when the holding ends unless a renewal is confirmed first (epoch ms; the
   *   keep-alive's local deadline). Past it, `held` is false and `lost` fires, even before any
   *   timer ran: a process stopped (SIGSTOP, a long GC pause, a suspended VM) past its TTL must not
   *   read `held` as true when it wakes up, while its timers are still pending.
   * @param abandon - stops renewing (and watching) without giving the holding up: see {@link Lock.abandon}.
   */
  constructor(
    key: string,
    fencingToken: number,
    release: (options: CallOptions) => Promise<void>,
    validUntil?: () => number,
    abandon?: () => void,
  ) {
    super();
    this.key = key;
    this.fencingToken = fencingToken;
    this.#release = release;
    this.#validUntil = validUntil;
    this.#abandon = abandon;
  }

  /** True once {@link Lock.abandon} was called. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /**
   * Stops renewing the holding without giving it up, as a holder that died would: the backend
   * frees it only when its TTL runs out (Consul: its session's). The handle counts as lost at
   * once. For tests of what other holders see of a dead one; a live holder calls `release`.
   */
  abandon(): void {
    if (this.#state !== 'held') return;
    this.#abandoned = true;
    this.#abandon?.();
    this.markLost(new LockLostError(this.key, { message: `lock ${this.key} abandoned by its holder` }));
  }

  /**
   * True until the lock is lost or released, or its renewal deadline passed. Reading it past the
   * deadline is what declares the loss (`lost` fires, `signal` aborts) when no timer has yet.
   */
  get held(): boolean {
    this.#checkDeadline();
    return this.#state === 'held';
  }

  /**
   * Aborted when the lock is lost (reason: the `LockLostError`) or released. Read `lock.signal`
   * afresh (rather than keeping the signal) to have the renewal deadline checked at that moment.
   */
  get signal(): AbortSignal {
    this.#checkDeadline();
    return this.#controller.signal;
  }

  #checkDeadline(): void {
    if (this.#state !== 'held' || this.#validUntil === undefined) return;
    if (Date.now() < this.#validUntil()) return;
    this.markLost(
      new LockLostError(this.key, {
        message: `lock ${this.key} lost: no renewal was confirmed within its TTL (the holder may have been stalled)`,
      }),
    );
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
   * Starts at once: the local deadline is armed and the first renewal comes after a third of the TTL.
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

  /**
   * When the claim ends unless a renewal is confirmed first (epoch ms): the last confirmed renewal's
   * send time plus the TTL, less a margin so that the holder hears of it before the server acts.
   */
  get deadline(): number {
    return this.#lastGood + this.#ttlMs - this.#margin;
  }

  /** Stops renewing (on release). */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
  }

  /** Give up a little before the server could: the holder must hear of the loss first. */
  get #margin(): number {
    return Math.min(1000, this.#ttlMs / 10);
  }

  #armDeadline(): void {
    clearTimeout(this.#deadline);
    const remaining = this.deadline - Date.now();
    this.#deadline = setTimeout(
      () => {
        // A TTL longer than one timer can wait takes several timers.
        if (Date.now() < this.deadline) this.#armDeadline();
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
    // Woken past the deadline (the process was stopped): the claim may be gone; a renewal that
    // still succeeded would revive a holding the holder was already told (or will be) it lost.
    if (sentAt >= this.deadline) {
      this.#lose(new Error('no renewal succeeded within the TTL'));
      return;
    }
    try {
      await this.#renew(
        AbortSignal.any([this.#stop.signal, AbortSignal.timeout(Math.max(500, Math.ceil(this.#ttlMs / 3)))]),
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
