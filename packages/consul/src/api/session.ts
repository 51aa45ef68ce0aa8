import { anySignal, sleep } from '@polykv/core';
import { ConsulError, isConsulError } from '../errors.js';
import type { ConsulCallOptions, ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import { durationMs, formatDuration } from '../codec.js';
import type { Transport } from '../request.js';

/** A session as `GET /v1/session/info/:uuid` reports it. */
export interface SessionEntry {
  /** The session's UUID. */
  ID: string;
  /** The name given at creation (`''` for none); not unique. */
  Name: string;
  /**
   * The node the session belongs to: the session is invalidated when the node is deregistered or
   * one of its `NodeChecks` turns critical.
   */
  Node: string;
  /** In nanoseconds. */
  LockDelay: number;
  /** What invalidation does to the keys the session holds: `release` unlocks them, `delete` deletes them. */
  Behavior: 'release' | 'delete';
  /** A duration string (`'15s'`), `''` for none. */
  TTL: string;
  /** 1.8 reports these; older agents `Checks`. */
  NodeChecks?: string[] | null;
  /** Service checks that invalidate the session when one turns critical (1.7+); `null` when none. */
  ServiceChecks?:
    | {
        /** The check's ID (`CheckID`). */
        ID: string;
        /** The check's namespace (Consul Enterprise). */
        Namespace?: string;
      }[]
    | null;
  /** Node checks, under their pre-1.7 name; 1.7+ leaves it out when it is only `serfHealth`. */
  Checks?: string[] | null;
  /** The session's namespace (Consul Enterprise). */
  Namespace?: string;
  /** The raft index at which the session was created. */
  CreateIndex: number;
  /** The raft index of the session's last change. */
  ModifyIndex: number;
}

/** The body of `PUT /v1/session/create`. Durations are ms numbers or Consul duration strings. */
export interface SessionCreateRequest {
  /** A name for people to tell sessions apart; not unique. @defaultValue `''` */
  Name?: string;
  /** @defaultValue the agent's node */
  Node?: string;
  /** How long an invalidated session's locks stay unavailable. @defaultValue 15 s */
  LockDelay?: number | string;
  /** What happens to held keys when the session is invalidated. @defaultValue 'release' */
  Behavior?: 'release' | 'delete';
  /** 10 s to 24 h; the server invalidates after up to 2×TTL without renewal. @defaultValue none */
  TTL?: number | string;
  /** Health checks tied to the session (older agents). */
  Checks?: string[];
  /** Node checks (1.7+). @defaultValue ['serfHealth'] */
  NodeChecks?: string[];
  /** Service checks (1.7+). */
  ServiceChecks?: {
    /** The check's ID (`CheckID`). */
    ID: string;
    /** The namespace to find the check in (Consul Enterprise). */
    Namespace?: string;
  }[];
}

/** A session entry's fields the client relies on (`ID`, a `TTL` it can read). */
function sessionProblem(value: unknown, where: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} is not an object`;
  const { ID: id, TTL: ttl } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return `${where}.ID is not a session ID`;
  if (ttl !== undefined && typeof ttl !== 'string') return `${where}.TTL is not a duration`;
  return undefined;
}

/** A list of sessions (1.8 answers `[]` when there is none, never `null`). */
function checkSessions(data: unknown): string | undefined {
  if (!Array.isArray(data)) return 'not a list of sessions';
  for (let i = 0; i < data.length; i++) {
    const problem = sessionProblem(data[i], `session ${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** A renewal's 200 answer: the renewed session (a gone one is a 404). */
function checkRenewed(data: unknown): string | undefined {
  if (!Array.isArray(data) || data.length === 0) return 'not the renewed session';
  return checkSessions(data);
}

function checkCreated(data: unknown): string | undefined {
  return sessionProblem(data, 'the answer');
}

function checkBoolean(data: unknown): string | undefined {
  return typeof data === 'boolean' ? undefined : 'neither true nor false';
}

/** Options of {@link Session.renewPeriodic}. */
export interface SessionRenewPeriodicOptions extends WriteOptions {
  /** Stops renewing; the session is then destroyed and the promise resolves. */
  signal?: AbortSignal;
  /**
   * Stops renewing without destroying the session: it expires by its TTL (a holder that dies on
   * purpose, in tests of what others see).
   */
  detach?: AbortSignal;
  /** Called for each failed renewal that is retried (the loop keeps going until the TTL runs out). */
  onError?: (error: unknown) => void;
  /**
   * Called after each confirmed renewal with the time it was sent (epoch ms) and the session's TTL
   * in ms: the session lives at least until `sentAt + ttlMs` on the servers.
   */
  onRenewed?: (sentAt: number, ttlMs: number) => void;
}

/**
 * `/v1/session`: sessions, the basis of locks and semaphores.
 * @see https://developer.hashicorp.com/consul/api-docs/session
 */
export class Session {
  /** Made by the client: use `client.session`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/session/create`: creates a session and resolves its ID.
   * @see https://developer.hashicorp.com/consul/api-docs/session#create-session
   */
  async create(entry: SessionCreateRequest = {}, options?: WriteOptions): Promise<string> {
    const body = {
      ...entry,
      ...(entry.TTL !== undefined ? { TTL: sessionDuration(entry.TTL) } : {}),
      ...(entry.LockDelay !== undefined ? { LockDelay: sessionDuration(entry.LockDelay) } : {}),
    };
    const path = '/v1/session/create';
    return (
      await this.transport.request<{ ID: string }>({
        method: 'PUT',
        path,
        body,
        options,
        check: checkCreated,
      })
    ).data.ID;
  }

  /**
   * `PUT /v1/session/destroy/:uuid`: destroys a session (its locks are released or deleted).
   * @see https://developer.hashicorp.com/consul/api-docs/session#delete-session
   */
  async destroy(id: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/session/destroy/${encodeURIComponent(id)}`;
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path,
        options,
        idempotent: true,
        check: checkBoolean,
      })
    ).data;
  }

  /**
   * `GET /v1/session/info/:uuid`: one session, `data: null` when it does not exist (1.8 answers
   * `200 []`, newer agents may answer 404).
   * @see https://developer.hashicorp.com/consul/api-docs/session#read-session
   */
  async info(id: string, options?: QueryOptions): Promise<ConsulResult<SessionEntry | null>> {
    const path = `/v1/session/info/${encodeURIComponent(id)}`;
    const { data, meta } = await this.transport.request<SessionEntry[] | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
      check: checkSessions,
    });
    return { data: data?.[0] ?? null, meta };
  }

  /**
   * `GET /v1/session/node/:node`: the sessions of a node.
   * @see https://developer.hashicorp.com/consul/api-docs/session#list-sessions-for-node
   */
  async node(node: string, options?: QueryOptions): Promise<ConsulResult<SessionEntry[]>> {
    const path = `/v1/session/node/${encodeURIComponent(node)}`;
    const { data, meta } = await this.transport.request<SessionEntry[] | null>({
      method: 'GET',
      path,
      options,
      check: checkSessions,
    });
    return { data: data ?? [], meta };
  }

  /**
   * `GET /v1/session/list`: every session.
   * @see https://developer.hashicorp.com/consul/api-docs/session#list-sessions
   */
  async list(options?: QueryOptions): Promise<ConsulResult<SessionEntry[]>> {
    const path = '/v1/session/list';
    const { data, meta } = await this.transport.request<SessionEntry[] | null>({
      method: 'GET',
      path,
      options,
      check: checkSessions,
    });
    return { data: data ?? [], meta };
  }

  /**
   * `PUT /v1/session/renew/:uuid`: resets a session's TTL. Resolves the session, or `null` when it
   * no longer exists (expired or destroyed: Consul answers 404).
   * @see https://developer.hashicorp.com/consul/api-docs/session#renew-session
   */
  async renew(id: string, options?: WriteOptions): Promise<SessionEntry | null> {
    const path = `/v1/session/renew/${encodeURIComponent(id)}`;
    const { data } = await this.transport.request<SessionEntry[] | null>({
      method: 'PUT',
      path,
      options,
      nullOn404: true,
      idempotent: true,
      check: checkRenewed,
    });
    return data?.[0] ?? null;
  }

  /**
   * Renews a session every `ttl / 2` until `signal` aborts, then destroys it and resolves (like the
   * Go api's `RenewPeriodic`). Failed renewals are retried every second while the TTL lasts. Rejects
   * with a `CONSUL_HTTP_STATUS` 404 error when the session is gone (expired, destroyed, or not
   * renewed within its TTL): whatever it held must be considered lost.
   * @see https://developer.hashicorp.com/consul/api-docs/session#renew-session
   */
  async renewPeriodic(
    id: string,
    ttl: number | string,
    options: SessionRenewPeriodicOptions = {},
  ): Promise<void> {
    const { signal: stop, detach, onError, onRenewed, ...callOptions } = options;
    // Not AbortSignal.any: on Node 20 the caller's signal keeps every signal combined from it for as
    // long as it lives (one per renewal loop); anySignal's follower leaves it when the loop ends.
    const combined = stop && detach ? anySignal([stop, detach]) : undefined;
    const signal = combined?.signal ?? stop ?? detach;
    let ttlMs = durationMs(ttl);
    let waitMs = ttlMs / 2;
    let lastRenew = Date.now();
    try {
      for (;;) {
        try {
          await sleep(waitMs, signal);
        } catch {
          if (!detach?.aborted) await this.#destroyQuietly(id, callOptions);
          return;
        }
        const sentAt = Date.now();
        try {
          const entry = await this.renew(id, { ...callOptions, ...(signal ? { signal } : {}) });
          if (!entry) throw sessionGone(id, 'no longer exists');
          // The server may change the TTL on renewal.
          if (entry.TTL) ttlMs = durationMs(entry.TTL);
          waitMs = ttlMs / 2;
          // From when it was sent: the server reset the TTL somewhere between then and the answer.
          lastRenew = sentAt;
          onRenewed?.(sentAt, ttlMs);
        } catch (error) {
          if (signal?.aborted) {
            if (!detach?.aborted) await this.#destroyQuietly(id, callOptions);
            return;
          }
          if (isConsulError(error) && error.statusCode === 404) throw error;
          onError?.(error);
          if (Date.now() - lastRenew > ttlMs)
            throw sessionGone(id, `could not be renewed within its TTL`, error);
          waitMs = 1000;
        }
      }
    } finally {
      combined?.dispose();
    }
  }

  async #destroyQuietly(id: string, options: ConsulCallOptions): Promise<void> {
    try {
      await this.destroy(id, { ...options, signal: undefined });
    } catch {
      // Best effort, as in the Go api: the session expires on its own.
    }
  }
}

/** Whole seconds as `'15s'` (Consul keeps the TTL string as sent, and reports it back). */
function sessionDuration(value: number | string): string {
  return typeof value === 'number' && value % 1000 === 0 && value >= 0
    ? `${value / 1000}s`
    : formatDuration(value);
}

function sessionGone(id: string, why: string, cause?: unknown): ConsulError {
  return new ConsulError('CONSUL_HTTP_STATUS', `session ${id} ${why}`, {
    statusCode: 404,
    method: 'PUT',
    path: `/v1/session/renew/${encodeURIComponent(id)}`,
    ...(cause !== undefined ? { cause } : {}),
  });
}
