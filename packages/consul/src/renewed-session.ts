import type { SessionCreateRequest } from './api/session.js';
import type { ConsulClient } from './client.js';
import type { WriteOptions } from './options.js';

/**
 * A session made for a lock or a semaphore and renewed in the background (`session.renewPeriodic`)
 * until `stop()`. When renewal fails for good, `onLost` is told once; the holder must give up.
 */
export class RenewedSession {
  readonly id: string;
  readonly #stop: AbortController;
  readonly #renewing: Promise<void>;

  private constructor(id: string, stop: AbortController, renewing: Promise<void>) {
    this.id = id;
    this.#stop = stop;
    this.#renewing = renewing;
  }

  static async start(
    client: ConsulClient,
    request: SessionCreateRequest & { TTL: number | string },
    call: WriteOptions,
    onLost: (cause: unknown) => void,
  ): Promise<RenewedSession> {
    const id = await client.session.create(request, call);
    const stop = new AbortController();
    const renewing = client.session
      .renewPeriodic(id, request.TTL, { ...call, signal: stop.signal })
      .catch((error: unknown) => onLost(error));
    return new RenewedSession(id, stop, renewing);
  }

  /** Stops renewing and destroys the session (renewPeriodic does that when its signal aborts). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#renewing;
  }
}
