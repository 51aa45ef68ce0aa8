import type { KvPair } from './api/kv.js';
import type { SessionCreateRequest } from './api/session.js';
import { decodeText, type ConsulValue } from './codec.js';
import { ConsulError } from './errors.js';
import type { WriteOptions } from './options.js';
import { durationMs } from './codec.js';
import { SessionHolder, invalid, type HoldingEvents } from './holding.js';
import type { CoordinationClient } from './renewed-session.js';

/** The flags the Go api sets on semaphore keys (and checks, to tell a semaphore from a lock). */
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;

/** The coordination key inside the prefix. */
export const SEMAPHORE_LOCK_KEY = '.lock';

/** Options of {@link ConsulSemaphore}; defaults are the Go api's. */
export interface ConsulSemaphoreOptions extends WriteOptions {
  /** Stored in this contender's key. */
  value?: ConsulValue;
  /** Use this session instead of creating (and renewing, and destroying) one. */
  session?: string;
  /** @defaultValue 'Consul API Semaphore' */
  sessionName?: string;
  /** TTL of the session the semaphore creates, renewed every TTL/2. @defaultValue '15s' */
  sessionTtl?: number | string;
  /** How long each blocking read waits for a slot. @defaultValue '15s' */
  waitTime?: number | string;
  /** Consecutive failed reads while held before the slot counts as lost. @defaultValue 3 */
  monitorRetries?: number;
}

/** What {@link ConsulSemaphore.acquire} resolves. */
export interface ConsulSemaphoreHeld {
  /** The session holding the slot: its contender key is `<prefix>/<session>`. */
  session: string;
  /** The `ModifyIndex` of the `.lock` key our CAS wrote: grows with every acquisition. */
  fencingToken: number;
  /** Aborted (with the reason) when the slot is lost or released. */
  signal: AbortSignal;
}

/** Events of {@link ConsulSemaphore}: see `HoldingEvents`. */
export type ConsulSemaphoreEvents = HoldingEvents<ConsulSemaphoreHeld>;

/** The JSON of the `.lock` key, as the Go api writes it. */
interface SemaphoreLockBody {
  Limit: number;
  Holders: Record<string, boolean>;
}

/**
 * A distributed semaphore (at most `limit` holders) under a KV prefix, following the Go api's
 * `Semaphore`: each contender holds `<prefix>/<session>` with its session, and `<prefix>/.lock`
 * (written by CAS) lists the `Holders`; holders whose contender key is gone are pruned. While
 * held, the prefix is watched and the slot is lost when we are no longer among the holders or the
 * session cannot be renewed.
 *
 * ```ts
 * const sem = client.semaphore('jobs/encoder', 2);
 * const held = await sem.acquire();
 * try { await encode(held.signal); } finally { await sem.release(); }
 * ```
 */
export class ConsulSemaphore extends SessionHolder<ConsulSemaphoreHeld> {
  /**
   * The KV prefix, without trailing slashes: contender keys are `<prefix>/<session>`, the holders
   * are listed in `<prefix>/.lock`.
   */
  readonly prefix: string;
  /**
   * The most holders at once. Every contender must use the same: `acquire` rejects with
   * `CONSUL_INVALID_ARGUMENT` when the `.lock` key records another.
   */
  readonly limit: number;
  readonly #options: ConsulSemaphoreOptions;

  /**
   * Usually made with `client.semaphore(prefix, limit, options)`. Sends nothing until `acquire`; an
   * empty prefix, or a limit that is not a whole number of at least 1, is refused with
   * `CONSUL_INVALID_ARGUMENT`.
   * @param client The client, or anything with its `kv` and `session` endpoints.
   * @param prefix Trailing slashes are dropped.
   */
  constructor(
    client: CoordinationClient,
    prefix: string,
    limit: number,
    options: ConsulSemaphoreOptions = {},
  ) {
    if (prefix === '') throw invalid('a semaphore needs a prefix');
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw invalid(`a semaphore limit must be >= 1, got ${limit}`);
    const trimmed = prefix.replace(/\/+$/, '');
    super(client, options, `semaphore ${trimmed}`);
    this.prefix = trimmed;
    this.limit = limit;
    this.#options = options;
  }

  /** Whether a slot is held now (false again once it is released or lost). */
  get held(): boolean {
    return this.current !== undefined;
  }

  get #lockKey(): string {
    return `${this.prefix}/${SEMAPHORE_LOCK_KEY}`;
  }

  /**
   * Deletes the `.lock` key once nobody uses the semaphore (as the Go api's `Semaphore.Destroy`):
   * resolves `false` and deletes nothing while we or anyone else holds a slot or contends (a
   * contender key held by a session), or when the key is not a semaphore's. The delete is
   * conditional on the key's index, so a contender that writes it in between keeps it.
   */
  async destroy(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.current) return false;
    const call = { ...this.call, ...(options.signal ? { signal: options.signal } : {}) };
    const { data: pairs } = await this.client.kv.list(`${this.prefix}/`, { ...call, consistent: true });
    const lockPair = pairs.find((pair) => pair.Key === this.#lockKey);
    if (!lockPair) return true;
    if (pairs.some((pair) => pair.Session)) return false;
    let body: SemaphoreLockBody;
    try {
      body = this.#decode(lockPair);
    } catch {
      return false;
    }
    const alive = new Set(pairs.filter((pair) => pair.Session).map((pair) => pair.Session));
    if (Object.keys(body.Holders).some((holder) => alive.has(holder))) return false;
    return this.client.kv.delete(this.#lockKey, { ...call, cas: lockPair.ModifyIndex });
  }

  protected sessionRequest(): SessionCreateRequest & {
    /** The session's TTL (`sessionTtl`), which the semaphore renews every TTL/2. */
    TTL: number | string;
  } {
    return {
      Name: this.#options.sessionName ?? 'Consul API Semaphore',
      TTL: this.#options.sessionTtl ?? '15s',
      Behavior: 'delete',
    };
  }

  /** Our contender key `<prefix>/<session>`, then a place among the `.lock` key's holders. */
  protected async take(session: string, signal: AbortSignal | undefined): Promise<ConsulSemaphoreHeld> {
    const contender = `${this.prefix}/${session}`;
    const made = await this.client.kv.acquire(contender, session, this.#options.value, {
      ...this.call,
      flags: SEMAPHORE_FLAG_VALUE,
      ...(signal ? { signal } : {}),
    });
    if (!made) throw invalid(`could not create the contender key ${contender}`);
    try {
      return await this.#acquireWith(session, signal);
    } catch (error) {
      await this.client.kv.delete(contender, this.call).catch(() => undefined);
      throw error;
    }
  }

  /** Removes us from the holders (by CAS) and deletes our contender key. */
  protected async give(held: ConsulSemaphoreHeld, signal: AbortSignal | undefined): Promise<void> {
    const call = { ...this.call, ...(signal ? { signal } : {}) };
    for (;;) {
      const { data: pair } = await this.client.kv.get(this.#lockKey, { ...call, consistent: true });
      if (!pair) break;
      const body = this.#decode(pair);
      if (!body.Holders[held.session]) break;
      delete body.Holders[held.session];
      const written = await this.client.kv.cas(this.#lockKey, JSON.stringify(body), pair.ModifyIndex, {
        ...call,
        flags: SEMAPHORE_FLAG_VALUE,
      });
      if (written) break;
    }
    await this.client.kv.delete(`${this.prefix}/${held.session}`, call);
  }

  /** While held, we must stay among the holders, with our contender key held by our session. */
  protected watchHeld(session: string): void {
    this.watch<KvPair[]>((options) => this.client.kv.list(`${this.prefix}/`, options), {
      lostBy: (pairs) => {
        const lockPair = pairs.find((pair) => pair.Key === this.#lockKey);
        let holders: Record<string, boolean> = {};
        try {
          holders = lockPair ? this.#decode(lockPair).Holders : {};
        } catch {
          // An unreadable lock key: we cannot be a holder.
        }
        // As in the Go api, a holder whose contender key lost its session is pruned: that includes us.
        const alive = pairs.some(
          (pair) => pair.Key === `${this.prefix}/${session}` && pair.Session === session,
        );
        if (holders[session] && alive) return undefined;
        return new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix} lost: no longer a holder`);
      },
      unwatched: (error) =>
        new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix} lost`, { cause: error }),
    });
  }

  #decode(pair: KvPair): SemaphoreLockBody {
    if (pair.Flags !== SEMAPHORE_FLAG_VALUE) throw invalid(`key ${pair.Key} is not a semaphore lock key`);
    const text = decodeText(pair.Value);
    let body: SemaphoreLockBody;
    try {
      body = text ? (JSON.parse(text) as SemaphoreLockBody) : { Limit: this.limit, Holders: {} };
    } catch {
      throw invalid(`key ${pair.Key} does not hold a semaphore`);
    }
    if (body.Limit !== this.limit) {
      throw invalid(`semaphore ${this.prefix} has limit ${body.Limit}, this contender uses ${this.limit}`);
    }
    body.Holders ??= {};
    return body;
  }

  async #acquireWith(session: string, signal: AbortSignal | undefined): Promise<ConsulSemaphoreHeld> {
    const waitTime = durationMs(this.#options.waitTime ?? '15s');
    let index: number | undefined;
    for (;;) {
      if (signal?.aborted)
        throw new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix}: acquisition aborted`);
      const { data: pairs, meta } = await this.client.kv.list(`${this.prefix}/`, {
        ...this.call,
        consistent: true,
        ...(signal ? { signal } : {}),
        ...(index !== undefined ? { index, wait: waitTime } : {}),
      });
      const lockPair = pairs.find((pair) => pair.Key === this.#lockKey);
      const body = lockPair ? this.#decode(lockPair) : { Limit: this.limit, Holders: {} };
      // Prune holders whose contender key (held by their session) is gone.
      const alive = new Set(pairs.filter((pair) => pair.Session).map((pair) => pair.Session));
      for (const holder of Object.keys(body.Holders)) if (!alive.has(holder)) delete body.Holders[holder];
      if (!body.Holders[session] && Object.keys(body.Holders).length >= this.limit) {
        this.emit('retry');
        index = meta.index;
        continue;
      }
      body.Holders[session] = true;
      const written = await this.client.kv.cas(
        this.#lockKey,
        JSON.stringify(body),
        lockPair?.ModifyIndex ?? 0,
        {
          ...this.call,
          flags: SEMAPHORE_FLAG_VALUE,
          ...(signal ? { signal } : {}),
        },
      );
      if (!written) {
        this.emit('retry');
        index = undefined;
        continue;
      }
      const { data: after } = await this.client.kv.get(this.#lockKey, { ...this.call, consistent: true });
      return { session, fencingToken: after?.ModifyIndex ?? 0, signal: this.begin() };
    }
  }
}
