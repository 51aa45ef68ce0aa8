import type { Kv } from './api/kv.js';
import type { Session, SessionCreateRequest } from './api/session.js';
import type { WriteOptions } from './options.js';
import { durationMs } from './codec.js';
import { createSession } from './session-create.js';

/**
 * What locks, semaphores and their sessions use of a `ConsulClient`: its KV and session endpoints
 * (named here, not as the client, which makes locks and semaphores itself).
 */
export interface CoordinationClient {
  readonly kv: Kv;
  readonly session: Session;
}

/**
 * A session made for a lock or a semaphore and renewed in the background (`session.renewPeriodic`)
 * until `stop()`. When renewal fails for good, or no renewal has been confirmed for the session's
 * TTL (the local deadline: the servers may invalidate it from then on), `onLost` is told once; the
 * holder must give up.
 */
export class RenewedSession {
  readonly id: string;
  readonly #stop: AbortController;
  readonly #detach = new AbortController();
  #renewing: Promise<void> = Promise.resolve();
  #confirmedAt: number;
  #ttlMs: number;
  #timer: NodeJS.Timeout | undefined;
  #onLost: ((cause: unknown) => void) | undefined;

  private constructor(id: string, stop: AbortController, confirmedAt: number, ttlMs: number) {
    this.id = id;
    this.#stop = stop;
    this.#confirmedAt = confirmedAt;
    this.#ttlMs = ttlMs;
  }

  static async start(
    client: CoordinationClient,
    request: SessionCreateRequest & { TTL: number | string },
    call: WriteOptions,
    onLost: (cause: unknown) => void,
  ): Promise<RenewedSession> {
    const sentAt = Date.now();
    const id = await createSession(client.session, request, call);
    const stop = new AbortController();
    const session = new RenewedSession(id, stop, sentAt, durationMs(request.TTL));
    session.#onLost = onLost;
    session.#arm();
    session.#renewing = client.session
      .renewPeriodic(id, request.TTL, {
        ...call,
        signal: stop.signal,
        detach: session.#detach.signal,
        onRenewed: (at, ttlMs) => {
          session.#confirmedAt = at;
          session.#ttlMs = ttlMs;
          session.#arm();
        },
      })
      .catch((error: unknown) => session.#lose(error));
    return session;
  }

  /**
   * When the session may be gone unless a renewal is confirmed first (epoch ms): the last confirmed
   * renewal's send time plus the TTL, less a margin so that the holder hears of it first.
   */
  get validUntil(): number {
    return this.#confirmedAt + this.#ttlMs - Math.min(1000, this.#ttlMs / 10);
  }

  /** Stops renewing and destroys the session (renewPeriodic does that when its signal aborts). */
  async stop(): Promise<void> {
    this.#onLost = undefined;
    clearTimeout(this.#timer);
    this.#stop.abort();
    await this.#renewing;
  }

  /**
   * Stops renewing and forgets the session without destroying it (a holder that died, in tests):
   * the servers invalidate it once its TTL runs out.
   */
  abandon(): void {
    this.#onLost = undefined;
    clearTimeout(this.#timer);
    this.#detach.abort();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#onLost === undefined) return;
    // Referenced on purpose, like the renewals: a held lock keeps the process alive.
    this.#timer = setTimeout(
      () => {
        if (Date.now() < this.validUntil) this.#arm();
        else this.#lose(new Error(`no renewal of session ${this.id} was confirmed within its TTL`));
      },
      Math.min(2 ** 31 - 1, Math.max(0, this.validUntil - Date.now())),
    );
  }

  #lose(cause: unknown): void {
    const onLost = this.#onLost;
    this.#onLost = undefined;
    clearTimeout(this.#timer);
    onLost?.(cause);
  }
}
