import { deadline } from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import type { SessionCreateRequest } from './api/session.js';
import { ConsulError, isConsulError } from './errors.js';
import type { WriteOptions } from './options.js';
import { RenewedSession, type CoordinationClient } from './renewed-session.js';
import { ConsulWatch } from './watch/consul-watch.js';
import type { WatchMethod } from './watch/source.js';

/** Events of a lock or a semaphore (node-consul's vocabulary, plus `lost`). */
export interface HoldingEvents<Held> {
  /** Held. */
  acquire: [held: Held];
  /** An acquisition attempt was refused (held by others, a lock-delay runs, a race lost); it goes on. */
  retry: [];
  /** `release()` gave the holding up. */
  release: [];
  /** Lost while held (the keys say another holds it, or the session could not be renewed). */
  lost: [error: ConsulError];
  /** An error of the holding's own calls. */
  error: [error: ConsulError];
  /** One acquisition's life is over (released, lost, or the acquisition failed). */
  end: [error?: ConsulError];
}

/** Options of `acquire` on a lock or a semaphore. */
export interface AcquireOptions {
  /** Gives up waiting: `acquire` rejects with `CONSUL_ABORTED` and leaves nothing behind. */
  signal?: AbortSignal;
  /** Milliseconds to wait (including for other holders) before rejecting with `CONSUL_TIMEOUT`. */
  timeout?: number;
}

/** The options a lock and a semaphore share (their defaults are the Go api's). */
interface HoldingOptions extends WriteOptions {
  session?: string;
  waitTime?: number | string;
  monitorRetries?: number;
}

/** What a watched holding is told by the recipe: why an answer means it is lost. */
interface HoldingWatch<T> {
  /** Why this answer means the holding is lost, or `undefined` while it holds. */
  lostBy(data: T): ConsulError | undefined;
  /** The loss when the watch itself gave up (its reads failed `monitorRetries` + 1 times). */
  unwatched(cause: ConsulError): ConsulError;
}

export function invalid(message: string, cause?: unknown): ConsulError {
  return new ConsulError('CONSUL_INVALID_ARGUMENT', message, cause === undefined ? {} : { cause });
}

/**
 * What a lock and a semaphore share, following the Go api: a session (made and renewed here
 * unless the caller gave one), acquisition and release with their events, the signal the holder
 * is given, and the watch that checks the holding while held. A recipe (`ConsulLock`,
 * `ConsulSemaphore`) says which keys it writes: {@link SessionHolder.take},
 * {@link SessionHolder.give} and {@link SessionHolder.watchHeld}.
 */
export abstract class SessionHolder<Held extends { session: string }> extends EventEmitter<
  HoldingEvents<Held>
> {
  /** The client whose KV and session endpoints the recipe uses. */
  protected readonly client: CoordinationClient;
  /** The options of the recipe's own calls: its dc, token, ns and partition. */
  protected readonly call: WriteOptions;
  readonly #options: HoldingOptions;
  /** `lock <key>` or `semaphore <prefix>`, for messages. */
  readonly #what: string;
  #held: Held | undefined;
  #acquiring = false;
  #renewal: RenewedSession | undefined;
  #lost: AbortController | undefined;
  #monitor: ConsulWatch<unknown> | undefined;

  constructor(client: CoordinationClient, options: HoldingOptions, what: string) {
    super();
    this.client = client;
    this.#options = options;
    this.#what = what;
    const { dc, token, ns, partition } = options;
    this.call = {
      ...(dc !== undefined ? { dc } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(ns !== undefined ? { ns } : {}),
      ...(partition !== undefined ? { partition } : {}),
    };
  }

  /**
   * When the holding ends unless a session renewal is confirmed first (epoch ms); `Infinity` with
   * a session of the caller's own (which is not renewed here).
   */
  get validUntil(): number {
    return this.#renewal?.validUntil ?? Infinity;
  }

  /**
   * Waits until held. Rejects with `CONSUL_ABORTED` when `signal` aborts first, with
   * `CONSUL_TIMEOUT` when `timeout` (ms) runs out first, and with `CONSUL_INVALID_ARGUMENT` when
   * already held, or when the keys are used otherwise. Nothing is left behind by a failed
   * acquisition: the session made for it is destroyed.
   */
  async acquire(options: AcquireOptions = {}): Promise<Held> {
    const { signal, timeout } = options;
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0)))
      throw invalid(`${this.#what}: timeout must be a number of milliseconds >= 0`);
    if (this.#held || this.#acquiring) throw invalid(`${this.#what} is already held or being acquired`);
    this.#acquiring = true;
    const bound = deadline(signal, timeout);
    try {
      const session = await this.#session(bound.signal);
      const held = await this.take(session, bound.signal);
      this.#held = held;
      this.watchHeld(session);
      this.emit('acquire', held);
      return held;
    } catch (error) {
      let failure = isConsulError(error) ? error : invalid(String(error), error);
      if (bound.signal?.aborted && !signal?.aborted)
        failure = new ConsulError('CONSUL_TIMEOUT', `${this.#what}: not acquired within ${timeout} ms`, {
          cause: error,
        });
      else if (signal?.aborted && failure.code !== 'CONSUL_ABORTED')
        failure = new ConsulError('CONSUL_ABORTED', `${this.#what}: acquisition aborted`, { cause: error });
      await this.#stopSession();
      if (failure.code !== 'CONSUL_ABORTED' && failure.code !== 'CONSUL_TIMEOUT') this.emit('error', failure);
      this.emit('end', failure);
      throw failure;
    } finally {
      bound.dispose();
      this.#acquiring = false;
    }
  }

  /**
   * Stops renewing the session and watching the holding without giving anything up, as a holder
   * that died would: the servers free the holding once the session's TTL runs out. The holding
   * counts as lost here at once (`lost`, the signal aborts). Only for a session made here.
   */
  abandon(): void {
    if (!this.#held) return;
    const renewal = this.#renewal;
    this.#renewal = undefined;
    renewal?.abandon();
    this.lose(new ConsulError('CONSUL_ABORTED', `${this.#what} abandoned by its holder`));
  }

  /** Gives the holding up (the recipe's writes) and destroys the session made for it. */
  async release(options: { signal?: AbortSignal } = {}): Promise<void> {
    const held = this.#held;
    if (!held) throw invalid(`${this.#what} is not held`);
    this.#held = undefined;
    this.#end(new ConsulError('CONSUL_ABORTED', `${this.#what} released`));
    try {
      await this.give(held, options.signal);
    } finally {
      await this.#stopSession();
    }
    this.emit('release');
    this.emit('end');
  }

  /** The current holding (or `undefined`). */
  protected get current(): Held | undefined {
    return this.#held;
  }

  /** The session's request when the holder makes one (no `options.session`). */
  protected abstract sessionRequest(): SessionCreateRequest & { TTL: number | string };
  /** Takes the holding with `session`; resolves once held (its `signal` from {@link begin}). */
  protected abstract take(session: string, signal: AbortSignal | undefined): Promise<Held>;
  /** The writes that give `held` up. */
  protected abstract give(held: Held, signal: AbortSignal | undefined): Promise<void>;
  /** Starts checking the holding while held (with {@link watch}). */
  protected abstract watchHeld(session: string): void;

  /** A holding begins: the signal its holder is given, aborted when it ends. */
  protected begin(): AbortSignal {
    this.#lost = new AbortController();
    return this.#lost.signal;
  }

  /** Watches `read` (blocking, consistent) while held: the holding is lost when `check` says so. */
  protected watch<T>(read: WatchMethod<T>, check: HoldingWatch<T>): void {
    const monitor = new ConsulWatch<T>(read, {
      ...this.call,
      consistent: true,
      wait: this.#options.waitTime ?? '15s',
      maxAttempts: (this.#options.monitorRetries ?? 3) + 1,
      minInterval: 0,
    });
    this.#monitor = monitor as ConsulWatch<unknown>;
    monitor.on('change', (data) => {
      const reason = check.lostBy(data);
      if (reason) this.lose(reason);
    });
    monitor.on('error', (error) => this.emit('error', error));
    monitor.on('end', (error) => {
      if (error) this.lose(check.unwatched(error));
    });
  }

  /** The holding is lost: the watch stops, the holder's signal aborts, the session goes. */
  protected lose(reason: ConsulError): void {
    if (!this.#held) return;
    this.#held = undefined;
    this.#end(reason);
    void this.#stopSession();
    this.emit('lost', reason);
    this.emit('end', reason);
  }

  async #session(signal: AbortSignal | undefined): Promise<string> {
    if (this.#options.session !== undefined) return this.#options.session;
    this.#renewal = await RenewedSession.start(
      this.client,
      this.sessionRequest(),
      { ...this.call, ...(signal ? { signal } : {}) },
      (error: unknown) =>
        this.lose(
          new ConsulError('CONSUL_ABORTED', `${this.#what} lost: the session could not be renewed`, {
            cause: error,
          }),
        ),
    );
    return this.#renewal.id;
  }

  async #stopSession(): Promise<void> {
    const renewal = this.#renewal;
    this.#renewal = undefined;
    await renewal?.stop();
  }

  #end(reason: ConsulError): void {
    this.#monitor?.end();
    this.#lost?.abort(reason);
  }
}
