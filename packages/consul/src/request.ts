import { Readable } from 'node:stream';
import { deadline } from '@polykv/core';
import { Agent, type Dispatcher } from 'undici';
import { ConsulError, isConsulError, type AgentFailure } from './errors.js';
import type { ConsulClientOptions, ConsulTlsOptions, QueryMeta, QueryOptions } from './options.js';

type QueryValue = string | number | boolean | bigint | undefined | null | readonly string[];

/** One Consul HTTP call, as an endpoint method describes it to {@link Transport.request}. */
export interface RequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path with every dynamic segment already escaped (see `escapePath`), e.g. `/v1/kv/a%20b`. */
  path: string;
  /** Endpoint parameters. `true` sends a bare flag (`?recurse`), `false`/`undefined`/`null` nothing. */
  query?: Record<string, QueryValue>;
  /**
   * An object is sent as JSON; a string or bytes as they are (with Content-Length); a `Readable`
   * is streamed (chunked, so it can be sent only once).
   */
  body?: unknown;
  /** The caller's options (merged over the client's defaults here, and only here). */
  options?: QueryOptions | undefined;
  /** Statuses that count as success. @defaultValue [200] */
  ok?: readonly number[];
  /** Resolve `data: null` on 404, where the API means "absent". */
  nullOn404?: boolean;
  /**
   * How to read a successful body: JSON (default), text, bytes, the `true`/`false` body of CAS and
   * lock calls (`bool`), nothing, or the undici body stream for the caller to consume (`stream`).
   */
  read?: 'json' | 'text' | 'bytes' | 'bool' | 'none' | 'stream';
  /** Parses JSON text (e.g. losslessly for uint64 fields) instead of `JSON.parse`. */
  parse?: (text: string) => unknown;
  /**
   * Safe to send again to another agent even if the first may have applied it. Reads are; most
   * writes are not (session create, event fire, CAS). Only used with the client's `failover`.
   * @defaultValue true for GET, false otherwise
   */
  idempotent?: boolean;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** What {@link Transport.request} resolves. */
export interface ResponseOf<T> {
  status: number;
  data: T;
  meta: QueryMeta;
  headers: Record<string, string | string[] | undefined>;
}

const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_BLOCKING_WAIT = 5 * 60_000;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Escapes each segment of a key or ID path, keeping the `/` between segments. */
export function escapePath(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}

/** Formats a duration for Consul (`wait`, `TTL`): numbers are ms; strings pass through. */
export function formatDuration(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value) || value < 0) {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a duration must be a finite number of ms >= 0, got ${value}`,
    );
  }
  // Consul rounds sub-millisecond waits down to zero, which means "no wait": round up instead.
  return `${Math.ceil(value)}ms`;
}

/** Parses a Consul duration string (`'1m30s'`, `'250ms'`) or ms number into ms. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  let total = 0;
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const pattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let matched = '';
  for (const match of value.matchAll(pattern)) {
    total += Number(match[1]) * units[match[2]!]!;
    matched += match[0];
  }
  if (matched !== value || value === '') {
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', `not a Consul duration: ${JSON.stringify(value)}`);
  }
  return total;
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readMeta(
  headers: Record<string, string | string[] | undefined>,
  started: number,
  agent: string,
): QueryMeta {
  const index = headerValue(headers, 'x-consul-index');
  const knownLeader = headerValue(headers, 'x-consul-knownleader');
  const lastContact = headerValue(headers, 'x-consul-lastcontact');
  const cache = headerValue(headers, 'x-cache');
  const age = headerValue(headers, 'age');
  return {
    index: index === undefined ? undefined : Number(index),
    knownLeader: knownLeader === undefined ? undefined : knownLeader === 'true',
    lastContact: lastContact === undefined ? undefined : Number(lastContact),
    effectiveConsistency: headerValue(headers, 'x-consul-effective-consistency'),
    cacheHit: cache === undefined ? undefined : cache === 'HIT',
    cacheAge: age === undefined ? undefined : Number(age),
    contentHash: headerValue(headers, 'x-consul-contenthash'),
    requestTime: Date.now() - started,
    agent,
  };
}

/**
 * The body of an ACL refusal, whatever the status: `ACL not found`, `Permission denied...`, and the
 * keyring's `Reading keyring denied by ACLs` / `Modifying keyring denied due to ACLs`.
 */
const ACL_FAILURE =
  /^\s*(?:rpc error(?: making call)?: )?(?:ACL not found|Permission denied)|denied (?:by|due to) ACLs/;

/** Connection failures that prove the request never reached the agent: safe to send elsewhere. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause && cause !== error ? errorCode(cause) : undefined;
}

function normalizeAgent(address: string, secure: boolean): string {
  if (typeof address !== 'string') {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a Consul agent address must be a string, got ${typeof address}`,
    );
  }
  const withScheme = /^https?:\/\//i.test(address) ? address : `${secure ? 'https' : 'http'}://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `not a Consul agent address: ${JSON.stringify(address)}`,
      { cause },
    );
  }
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a Consul agent address is scheme://host:port only, got ${url.origin}${url.pathname}`,
    );
  }
  return url.origin;
}

function tlsConnectOptions(tls: ConsulTlsOptions | undefined): Agent.Options['connect'] {
  if (!tls) return undefined;
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/**
 * THE request function of the Consul client: every endpoint goes through {@link Transport.request},
 * which alone builds URLs, merges defaults, sets the token header, derives timeouts, maps statuses
 * to errors, drains bodies and reads the metadata headers.
 */
export class Transport {
  readonly agents: readonly string[];
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #defaults: QueryOptions;
  readonly #timeout: number;
  readonly #failover: boolean;
  readonly #baseHeaders: Record<string, string>;
  /** The agent that answered last: failover moves on from here, and only on connection errors. */
  #pinned = 0;
  #closed = false;

  constructor(options: ConsulClientOptions = {}) {
    const addresses = options.address === undefined ? ['127.0.0.1:8500'] : [options.address].flat();
    if (addresses.length === 0)
      throw new ConsulError('CONSUL_INVALID_ARGUMENT', 'address must name at least one agent');
    this.agents = addresses.map((address) => normalizeAgent(address, options.secure ?? false));
    this.#failover = options.failover ?? false;
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.#defaults = {
      ...options.defaults,
      ...(options.dc !== undefined ? { dc: options.dc } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    };
    const base: Record<string, string> = {};
    if (options.basicAuth) {
      const { username, password } = options.basicAuth;
      base.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    this.#baseHeaders = base;
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      const connect = tlsConnectOptions(options.tls);
      this.#dispatcher = new Agent({ keepAliveTimeout: 30_000, ...(connect ? { connect } : {}) });
      this.#ownsDispatcher = true;
    }
  }

  /** Sends one call; see {@link RequestSpec}. Rejects only with {@link ConsulError}. */
  async request<T>(spec: RequestSpec): Promise<ResponseOf<T>> {
    if (this.#closed) throw new ConsulError('CONSUL_CLOSED', 'the Consul client is closed');
    const options = spec.options ? { ...this.#defaults, ...spec.options } : this.#defaults;
    const path = spec.path + this.#queryString(spec, options);
    const headers = this.#headers(spec, options);
    const body = this.#body(spec.body);
    const blocking = options.index !== undefined || options.hash !== undefined;
    let timeout = options.timeout ?? this.#timeout;
    if (blocking) {
      // A blocking query may take the whole wait plus Consul's jitter (wait/16): never cut it short.
      const wait = options.wait === undefined ? DEFAULT_BLOCKING_WAIT : durationMs(options.wait);
      timeout = Math.max(timeout, wait + wait / 16 + Math.max(1000, wait / 10));
    }
    const bound = deadline(options.signal, timeout);
    const started = Date.now();
    const idempotent = spec.idempotent ?? spec.method === 'GET';
    const failures: AgentFailure[] = [];
    try {
      for (let attempt = 0; attempt < this.agents.length; attempt++) {
        const slot = (this.#pinned + attempt) % this.agents.length;
        const agent = this.agents[slot]!;
        let response: Dispatcher.ResponseData;
        try {
          response = await this.#dispatcher.request({
            origin: agent,
            path,
            method: spec.method,
            headers,
            body,
            signal: bound.signal,
            // undici's own timers would fire before a long poll ends; our deadline governs instead.
            headersTimeout: 0,
            bodyTimeout: 0,
          });
        } catch (error) {
          if (bound.signal?.aborted) throw this.#abortError(bound.error(error), spec);
          failures.push({ agent, error });
          const notSent = NOT_SENT.has(errorCode(error) ?? '');
          if (this.#failover && (notSent || idempotent) && attempt + 1 < this.agents.length) continue;
          throw new ConsulError(
            'CONSUL_UNAVAILABLE',
            `${spec.method} ${spec.path}: no Consul agent answered (${failures.map((f) => `${f.agent}: ${describe(f.error)}`).join('; ')})`,
            { method: spec.method, path: spec.path, cause: error, causes: failures },
          );
        }
        this.#pinned = slot;
        return await this.#read<T>(spec, response, readMeta(response.headers, started, agent), bound);
      }
      throw new ConsulError('CONSUL_UNAVAILABLE', `${spec.method} ${spec.path}: no agent to try`);
    } finally {
      bound.dispose();
    }
  }

  /** Frees every socket the client opened (not those of an injected dispatcher). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #queryString(spec: RequestSpec, options: QueryOptions): string {
    let query = '';
    const add = (name: string, value: QueryValue): void => {
      if (value === undefined || value === null || value === false) return;
      if (Array.isArray(value)) {
        for (const item of value as readonly string[]) add(name, item);
        return;
      }
      query += `${query === '' ? '?' : '&'}${encodeURIComponent(name)}`;
      if (value !== true) query += `=${encodeURIComponent(String(value))}`;
    };
    if (spec.query) for (const name in spec.query) add(name, spec.query[name]);
    if (options.consistent && options.stale) {
      throw new ConsulError('CONSUL_INVALID_ARGUMENT', 'consistent and stale cannot be combined', {
        method: spec.method,
        path: spec.path,
      });
    }
    add('dc', options.dc);
    add('ns', options.ns);
    add('partition', options.partition);
    add('consistent', options.consistent);
    add('stale', options.stale);
    add('cached', options.cached);
    // An endpoint may send the index itself, as exact uint64 digits (event list indexes exceed 2^53).
    if (spec.query?.index === undefined || spec.query.index === null) add('index', options.index);
    if (options.wait !== undefined) add('wait', formatDuration(options.wait));
    add('hash', options.hash);
    add('filter', options.filter);
    add('near', options.near);
    if (options.nodeMeta)
      for (const name in options.nodeMeta) add('node-meta', `${name}:${options.nodeMeta[name]}`);
    return query;
  }

  #headers(spec: RequestSpec, options: QueryOptions): Record<string, string> {
    const needsOwn =
      options.token !== undefined ||
      spec.headers !== undefined ||
      options.maxAge !== undefined ||
      options.staleIfError !== undefined;
    const isJson =
      spec.body !== undefined &&
      typeof spec.body !== 'string' &&
      !(spec.body instanceof Uint8Array) &&
      !(spec.body instanceof Readable);
    if (!needsOwn) return isJson ? { ...this.#baseHeaders, ...JSON_HEADERS } : this.#baseHeaders;
    const headers: Record<string, string> = { ...this.#baseHeaders, ...spec.headers };
    if (isJson) headers['content-type'] = 'application/json';
    if (options.token !== undefined && options.token !== '') headers['x-consul-token'] = options.token;
    const cacheControl: string[] = [];
    if (options.maxAge !== undefined) cacheControl.push(`max-age=${Math.floor(options.maxAge / 1000)}`);
    if (options.staleIfError !== undefined)
      cacheControl.push(`stale-if-error=${Math.floor(options.staleIfError / 1000)}`);
    if (cacheControl.length > 0) headers['cache-control'] = cacheControl.join(', ');
    return headers;
  }

  #body(body: unknown): string | Buffer | Readable | undefined {
    if (body === undefined) return undefined;
    if (typeof body === 'string') return body;
    // A stream (snapshot restore) goes as it is, chunked: it can be sent once, never replayed.
    if (body instanceof Readable) return body;
    // A Buffer (not a stream) so that undici always sends Content-Length: Consul checks size limits only from it.
    if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return JSON.stringify(body);
  }

  async #read<T>(
    spec: RequestSpec,
    response: Dispatcher.ResponseData,
    meta: QueryMeta,
    bound: ReturnType<typeof deadline>,
  ): Promise<ResponseOf<T>> {
    const { statusCode: status, headers, body } = response;
    const ok = spec.ok ?? [200];
    const fail = (code: ConsulError['code'], message: string, text: string, cause?: unknown): ConsulError =>
      new ConsulError(code, message, {
        statusCode: status,
        method: spec.method,
        path: spec.path,
        body: text,
        cause,
      });
    try {
      if (!ok.includes(status)) {
        const text = await body.text();
        if (status === 404 && spec.nullOn404) return { status, data: null as T, meta, headers };
        const detail = `${spec.method} ${spec.path}: ${status}${text ? ` ${text.trim().slice(0, 500)}` : ''}`;
        if (status === 401 || status === 403) throw fail('CONSUL_PERMISSION_DENIED', detail, text);
        // Some 1.8 routes (event fire, keyring) answer an ACL failure with 500 and the ACL error text.
        if (status === 500 && ACL_FAILURE.test(text)) throw fail('CONSUL_PERMISSION_DENIED', detail, text);
        if (status === 413) throw fail('CONSUL_TOO_LARGE', detail, text);
        throw fail('CONSUL_HTTP_STATUS', detail, text);
      }
      switch (spec.read ?? 'json') {
        case 'stream':
          return { status, data: body as T, meta, headers };
        case 'none':
          await body.dump();
          return { status, data: undefined as T, meta, headers };
        case 'bytes':
          return { status, data: new Uint8Array(await body.arrayBuffer()) as T, meta, headers };
        case 'text':
          return { status, data: (await body.text()) as T, meta, headers };
        case 'bool': {
          const text = (await body.text()).trim();
          if (text !== 'true' && text !== 'false') {
            throw fail(
              'CONSUL_BAD_RESPONSE',
              `${spec.method} ${spec.path}: expected true or false, got ${text.slice(0, 100)}`,
              text,
            );
          }
          return { status, data: (text === 'true') as T, meta, headers };
        }
        case 'json': {
          const text = await body.text();
          try {
            return { status, data: (spec.parse ? spec.parse(text) : JSON.parse(text)) as T, meta, headers };
          } catch (cause) {
            throw fail(
              'CONSUL_BAD_RESPONSE',
              `${spec.method} ${spec.path}: the answer is not JSON (${text.slice(0, 100)})`,
              text,
              cause,
            );
          }
        }
      }
    } catch (error) {
      if (isConsulError(error)) throw error;
      if (bound.signal?.aborted) throw this.#abortError(bound.error(error), spec);
      // The body broke off: truncated, reset, garbage.
      body.destroy();
      throw fail(
        'CONSUL_BAD_RESPONSE',
        `${spec.method} ${spec.path}: the answer could not be read (${describe(error)})`,
        '',
        error,
      );
    }
  }

  #abortError(error: { code: string; message: string; cause?: unknown }, spec: RequestSpec): ConsulError {
    const timedOut = error.code === 'TIMEOUT';
    return new ConsulError(
      timedOut ? 'CONSUL_TIMEOUT' : 'CONSUL_ABORTED',
      `${spec.method} ${spec.path}: ${error.message}`,
      {
        method: spec.method,
        path: spec.path,
        cause: timedOut ? error : error.cause,
      },
    );
  }
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
