import { EventEmitter } from 'eventemitter3';
import type { KvPair } from './api/kv.js';
import type { ConsulClient } from './client.js';
import { decodeText, type ConsulValue } from './codec.js';
import { ConsulError, isConsulError } from './errors.js';
import type { WriteOptions } from './options.js';
import { durationMs } from './request.js';
import { RenewedSession } from './renewed-session.js';
import { ConsulWatch } from './watch/consul-watch.js';

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
  session: string;
  /** The `ModifyIndex` of the `.lock` key our CAS wrote: grows with every acquisition. */
  fencingToken: number;
  /** Aborted (with the reason) when the slot is lost or released. */
  signal: AbortSignal;
}

/** Events of {@link ConsulSemaphore}. */
export interface ConsulSemaphoreEvents {
  acquire: [held: ConsulSemaphoreHeld];
  /** No free slot, or a CAS race lost: still trying. */
  retry: [];
  release: [];
  /** The slot was lost while held (not in the holders any more, or the session could not be renewed). */
  lost: [error: ConsulError];
  error: [error: ConsulError];
  end: [error?: ConsulError];
}

/** The JSON of the `.lock` key, as the Go api writes it. */
interface SemaphoreLockBody {
  Limit: number;
  Holders: Record<string, boolean>;
}

function invalid(message: string): ConsulError {
  return new ConsulError('CONSUL_INVALID_ARGUMENT', message);
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
export class ConsulSemaphore extends EventEmitter<ConsulSemaphoreEvents> {
  readonly prefix: string;
  readonly limit: number;
  readonly #client: ConsulClient;
  readonly #options: ConsulSemaphoreOptions;
  readonly #call: WriteOptions;
  #held: ConsulSemaphoreHeld | undefined;
  #lost: AbortController | undefined;
  #renewal: RenewedSession | undefined;
  #monitor: ConsulWatch<KvPair[]> | undefined;
  #acquiring = false;

  constructor(client: ConsulClient, prefix: string, limit: number, options: ConsulSemaphoreOptions = {}) {
    super();
    if (prefix === '') throw invalid('a semaphore needs a prefix');
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw invalid(`a semaphore limit must be >= 1, got ${limit}`);
    this.prefix = prefix.replace(/\/+$/, '');
    this.limit = limit;
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

  get held(): boolean {
    return this.#held !== undefined;
  }

  get #lockKey(): string {
    return `${this.prefix}/${SEMAPHORE_LOCK_KEY}`;
  }

  /** Waits for a slot. Rejects with `CONSUL_ABORTED` when `signal` aborts first. */
  async acquire(options: { signal?: AbortSignal } = {}): Promise<ConsulSemaphoreHeld> {
    if (this.#held || this.#acquiring)
      throw invalid(`semaphore ${this.prefix} is already held or being acquired`);
    this.#acquiring = true;
    let session: string | undefined;
    try {
      session = await this.#session(options.signal);
      const contender = `${this.prefix}/${session}`;
      const made = await this.#client.kv.acquire(contender, session, this.#options.value, {
        ...this.#call,
        flags: SEMAPHORE_FLAG_VALUE,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!made) throw invalid(`could not create the contender key ${contender}`);
      try {
        const held = await this.#acquireWith(session, options.signal);
        this.#held = held;
        this.#startMonitor(session);
        this.emit('acquire', held);
        return held;
      } catch (error) {
        await this.#client.kv.delete(contender, this.#call).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      const failure = isConsulError(error) ? error : invalid(String(error));
      await this.#stopSession();
      if (failure.code !== 'CONSUL_ABORTED') this.emit('error', failure);
      this.emit('end', failure);
      throw failure;
    } finally {
      this.#acquiring = false;
    }
  }

  /** Gives the slot up: removes us from the holders (by CAS), deletes our contender key, ends the session. */
  async release(): Promise<void> {
    const held = this.#held;
    if (!held) throw invalid(`semaphore ${this.prefix} is not held`);
    this.#held = undefined;
    this.#monitor?.end();
    this.#lost?.abort(new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix} released`));
    try {
      for (;;) {
        const { data: pair } = await this.#client.kv.get(this.#lockKey, { ...this.#call, consistent: true });
        if (!pair) break;
        const body = this.#decode(pair);
        if (!body.Holders[held.session]) break;
        delete body.Holders[held.session];
        const written = await this.#client.kv.cas(this.#lockKey, JSON.stringify(body), pair.ModifyIndex, {
          ...this.#call,
          flags: SEMAPHORE_FLAG_VALUE,
        });
        if (written) break;
      }
      await this.#client.kv.delete(`${this.prefix}/${held.session}`, this.#call);
    } finally {
      await this.#stopSession();
    }
    this.emit('release');
    this.emit('end');
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

  async #session(signal: AbortSignal | undefined): Promise<string> {
    if (this.#options.session !== undefined) return this.#options.session;
    const ttl = this.#options.sessionTtl ?? '15s';
    this.#renewal = await RenewedSession.start(
      this.#client,
      { Name: this.#options.sessionName ?? 'Consul API Semaphore', TTL: ttl, Behavior: 'delete' },
      { ...this.#call, ...(signal ? { signal } : {}) },
      (error: unknown) =>
        this.#loseSlot(
          new ConsulError(
            'CONSUL_ABORTED',
            `semaphore ${this.prefix} lost: the session could not be renewed`,
            {
              cause: error,
            },
          ),
        ),
    );
    return this.#renewal.id;
  }

  async #stopSession(): Promise<void> {
    const renewal = this.#renewal;
    this.#renewal = undefined;
    await renewal?.stop();
  }

  async #acquireWith(session: string, signal: AbortSignal | undefined): Promise<ConsulSemaphoreHeld> {
    const waitTime = durationMs(this.#options.waitTime ?? '15s');
    let index: number | undefined;
    for (;;) {
      if (signal?.aborted)
        throw new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix}: acquisition aborted`);
      const { data: pairs, meta } = await this.#client.kv.list(`${this.prefix}/`, {
        ...this.#call,
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
      const written = await this.#client.kv.cas(
        this.#lockKey,
        JSON.stringify(body),
        lockPair?.ModifyIndex ?? 0,
        {
          ...this.#call,
          flags: SEMAPHORE_FLAG_VALUE,
          ...(signal ? { signal } : {}),
        },
      );
      if (!written) {
        this.emit('retry');
        index = undefined;
        continue;
      }
      const { data: after } = await this.#client.kv.get(this.#lockKey, { ...this.#call, consistent: true });
      this.#lost = new AbortController();
      return { session, fencingToken: after?.ModifyIndex ?? 0, signal: this.#lost.signal };
    }
  }

  #startMonitor(session: string): void {
    const monitor = new ConsulWatch<KvPair[]>((options) => this.#client.kv.list(`${this.prefix}/`, options), {
      ...this.#call,
      consistent: true,
      wait: this.#options.waitTime ?? '15s',
      maxAttempts: (this.#options.monitorRetries ?? 3) + 1,
      minInterval: 0,
    });
    this.#monitor = monitor;
    monitor.on('change', (pairs) => {
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
      if (!holders[session] || !alive) {
        this.#loseSlot(
          new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix} lost: no longer a holder`),
        );
      }
    });
    monitor.on('error', (error) => this.emit('error', error));
    monitor.on('end', (error) => {
      if (error)
        this.#loseSlot(new ConsulError('CONSUL_ABORTED', `semaphore ${this.prefix} lost`, { cause: error }));
    });
  }

  #loseSlot(reason: ConsulError): void {
    if (!this.#held) return;
    this.#held = undefined;
    this.#monitor?.end();
    this.#lost?.abort(reason);
    void this.#stopSession();
    this.emit('lost', reason);
    this.emit('end', reason);
  }
}
