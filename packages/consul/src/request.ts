import { Readable } from 'node:stream';
import {
  bodyText,
  classify,
  deadline,
  ERROR_READ_LIMIT,
  errorCode,
  extend,
  keepText,
  readCapped,
  requestWhole,
  safeParseError,
  tlsConnectOptions,
  type Deadline,
  type WholeResponse,
} from '@polykv/core';
import { Agent, type Dispatcher } from 'undici';
import { CallDeadlines } from './call-deadlines.js';
import { durationMs } from './codec.js';
import { normalizeAgent } from './connect.js';
import { ConsulError, isConsulError, type AgentFailure } from './errors.js';
import {
  checkConsulOptions,
  QUERY_OPTIONS,
  type ConsulClientOptions,
  type QueryMeta,
  type QueryOptions,
} from './options.js';
import { hasQuery, queryString, readMeta, type RequestSpec, type ResponseOf } from './wire.js';

const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_BLOCKING_WAIT = 5 * 60_000;
const JSON_HEADERS = { 'content-type': 'application/json' };
const NO_DEFAULTS: QueryOptions = Object.freeze({});

/**
 * The body of an ACL refusal, whatever the status: `ACL not found`, `Permission denied...`, and the
 * keyring's `Reading keyring denied by ACLs` / `Modifying keyring denied due to ACLs`.
 */
const ACL_FAILURE =
  /^\s*(?:rpc error(?: making call)?: )?(?:ACL not found|Permission denied)|denied (?:by|due to) ACLs/;

/** An HTTP status (or unreadable body) error of a call. */
function statusError(
  spec: RequestSpec,
  status: number,
  code: ConsulError['code'],
  message: string,
  text: string,
  cause?: unknown,
): ConsulError {
  return new ConsulError(code, message, {
    statusCode: status,
    method: spec.method,
    path: spec.path,
    body: text,
    cause,
  });
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
  /** The defaults hold something: per-call options need merging over them. */
  readonly #hasDefaults: boolean;
  /** Frozen per-call options (the Store's) merged over the defaults once, not per call. */
  readonly #merged = new WeakMap<QueryOptions, QueryOptions>();
  readonly #timeout: number;
  /** The deadlines of calls without a caller signal: one timer for all of them. */
  readonly #deadlines = new CallDeadlines();
  readonly #failover: boolean;
  readonly #baseHeaders: Record<string, string>;
  readonly #jsonHeaders: Record<string, string>;
  /** The client's secrets an error must never show (a server or proxy may echo the headers). */
  readonly #secrets: readonly string[];
  /** The headers of the last token seen (without and with a JSON content type), built once per token. */
  #tokenHeaders: { token: string; plain: Record<string, string>; json: Record<string, string> } | undefined;
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
    const defaults: QueryOptions = {
      ...options.defaults,
      ...(options.dc !== undefined ? { dc: options.dc } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    };
    this.#hasDefaults = Object.keys(defaults).length > 0;
    this.#defaults = this.#hasDefaults ? Object.freeze(defaults) : NO_DEFAULTS;
    const base: Record<string, string> = {};
    if (options.basicAuth) {
      const { username, password } = options.basicAuth;
      base.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    this.#baseHeaders = Object.freeze(base);
    this.#jsonHeaders = Object.freeze({ ...base, ...JSON_HEADERS });
    const secrets = [defaults.token ?? ''];
    if (options.basicAuth) {
      const { username, password } = options.basicAuth;
      secrets.push(
        Buffer.from(`${username}:${password}`).toString('base64'),
        `${username}:${password}`,
        password,
      );
    }
    this.#secrets = Object.freeze(secrets.filter((secret) => secret !== ''));
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      const connect = tlsConnectOptions(options.tls);
      this.#dispatcher = new Agent({ keepAliveTimeout: 30_000, ...(connect ? { connect } : {}) });
      this.#ownsDispatcher = true;
    }
  }

  /**
   * Sends one call; see {@link RequestSpec}. Rejects only with {@link ConsulError}.
   *
   * One deadline bounds the whole call (connecting, queueing, sending, the answer and its body). A
   * call with a caller `signal` combines it with a timer (`deadline()`); a call without one (the
   * common case) gets a {@link CallDeadline} under the client's shared timer instead: the same
   * `CONSUL_TIMEOUT`, without a timer or AbortSignal per call.
   */
  async request<T>(spec: RequestSpec): Promise<ResponseOf<T>> {
    if (this.#closed) throw new ConsulError('CONSUL_CLOSED', 'the Consul client is closed');
    // The caller's bag: unknown keys (a typo) and wrong types are refused before anything is sent.
    // Frozen bags are the library's own (the Store's), checked where they were made.
    if (spec.options !== undefined && !Object.isFrozen(spec.options)) checkCallOptions(spec);
    const options = this.#options(spec.options);
    const path =
      spec.query === undefined && !hasQuery(options) ? spec.path : spec.path + queryString(spec, options);
    const headers = this.#headers(spec, options);
    const body = this.#body(spec.body);
    const blocking = options.index !== undefined || options.hash !== undefined;
    let timeout = options.timeout ?? this.#timeout;
    if (blocking) {
      // A blocking query may take the whole wait plus Consul's jitter (wait/16): never cut it short.
      const wait = options.wait === undefined ? DEFAULT_BLOCKING_WAIT : durationMs(options.wait);
      timeout = Math.max(timeout, wait + wait / 16 + Math.max(1000, wait / 10));
    }
    const started = Date.now();
    const bound =
      options.signal === undefined && timeout > 0 && Number.isFinite(timeout)
        ? this.#deadlines.start(timeout, started)
        : deadline(options.signal, timeout);
    const idempotent = spec.idempotent ?? spec.method === 'GET';
    let failures: AgentFailure[] | undefined;
    try {
      for (let attempt = 0; attempt < this.agents.length; attempt++) {
        const slot = (this.#pinned + attempt) % this.agents.length;
        const agent = this.agents[slot]!;
        let response: Dispatcher.ResponseData | WholeResponse;
        try {
          const request = {
            origin: agent,
            path,
            method: spec.method,
            headers,
            body,
            // undici's own timers would fire before a long poll ends; our deadline governs instead.
            headersTimeout: 0,
            bodyTimeout: 0,
          };
          response =
            spec.read === 'stream'
              ? await this.#dispatcher.request({ ...request, signal: bound.signal ?? null })
              : await requestWhole(this.#dispatcher, request, bound.signal, (status) =>
                  isOk(spec, status) ? Infinity : ERROR_READ_LIMIT,
                );
        } catch (error) {
          if (bound.signal?.aborted) throw this.#abortError(bound.error(error), spec);
          (failures ??= []).push({ agent, error });
          const notSent = classify(error) === 'not-sent';
          if (this.#failover && (notSent || idempotent) && attempt + 1 < this.agents.length) continue;
          throw new ConsulError(
            'CONSUL_UNAVAILABLE',
            `${spec.method} ${spec.path}: no Consul agent answered (${failures.map((f) => `${f.agent}: ${describe(f.error)}`).join('; ')})`,
            { method: spec.method, path: spec.path, cause: error, causes: failures },
          );
        }
        this.#pinned = slot;
        const meta = readMeta(response.headers, Date.now() - started, agent);
        if (spec.read === 'stream')
          return await this.#stream<T>(spec, response as Dispatcher.ResponseData, meta, bound, options);
        try {
          return this.#decode<T>(spec, response as WholeResponse, meta, bound, options);
        } catch (error) {
          // A parser or shape check that threw on garbage: still a typed error.
          if (isConsulError(error)) throw error;
          throw this.#unreadable(spec, response.statusCode, bound, error);
        }
      }
      throw new ConsulError('CONSUL_UNAVAILABLE', `${spec.method} ${spec.path}: no agent to try`);
    } finally {
      bound.dispose();
    }
  }

  /**
   * What may be kept of response text (in an error, or a reason handed to the caller): at most
   * 4 KiB, without the call's token or the client's credentials.
   */
  keep(text: string, options?: QueryOptions, limit?: number): string {
    const token = this.#options(options).token;
    return keepText(
      text,
      token !== undefined && token !== '' && !this.#secrets.includes(token)
        ? [token, ...this.#secrets]
        : this.#secrets,
      limit,
    );
  }

  /** Frees every socket the client opened (not those of an injected dispatcher). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDispatcher) await this.#dispatcher.close();
    this.#deadlines.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The call's options over the client's defaults: no copy when either is empty, one per frozen bag. */
  #options(given: QueryOptions | undefined): QueryOptions {
    if (given === undefined) return this.#defaults;
    if (!this.#hasDefaults) return given;
    if (!Object.isFrozen(given)) return extend(this.#defaults, given);
    let merged = this.#merged.get(given);
    if (merged === undefined) {
      merged = Object.freeze(extend(this.#defaults, given));
      this.#merged.set(given, merged);
    }
    return merged;
  }

  #headers(spec: RequestSpec, options: QueryOptions): Record<string, string> {
    const isJson =
      spec.json === true ||
      (spec.body !== undefined &&
        typeof spec.body !== 'string' &&
        !(spec.body instanceof Uint8Array) &&
        !(spec.body instanceof Readable));
    const token = options.token !== undefined && options.token !== '' ? options.token : undefined;
    if (spec.headers === undefined && options.maxAge === undefined && options.staleIfError === undefined) {
      if (token === undefined) return isJson ? this.#jsonHeaders : this.#baseHeaders;
      // The common authenticated case: the same token on every call, headers built once for it.
      let cached = this.#tokenHeaders;
      if (cached?.token !== token) {
        cached = {
          token,
          plain: Object.freeze({ ...this.#baseHeaders, 'x-consul-token': token }),
          json: Object.freeze({ ...this.#jsonHeaders, 'x-consul-token': token }),
        };
        this.#tokenHeaders = cached;
      }
      return isJson ? cached.json : cached.plain;
    }
    const headers: Record<string, string> = { ...this.#baseHeaders, ...spec.headers };
    if (isJson) headers['content-type'] = 'application/json';
    if (token !== undefined) headers['x-consul-token'] = token;
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
    if (body instanceof Uint8Array)
      return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return JSON.stringify(body);
  }

  /** A status the spec does not accept, as an error (`text`: what was read of the body). */
  #failure(spec: RequestSpec, status: number, text: string, options: QueryOptions): ConsulError {
    // Response text in an error goes through `this.keep`: capped, without secrets (a proxy may
    // echo the request's headers).
    const shown = this.keep(text, options);
    const detail = `${spec.method} ${spec.path}: ${status}${shown ? ` ${shown.trim().slice(0, 500)}` : ''}`;
    if (status === 401 || status === 403)
      return statusError(spec, status, 'CONSUL_PERMISSION_DENIED', detail, shown);
    // Some 1.8 routes (event fire, keyring) answer an ACL failure with 500 and the ACL error text.
    if (status === 500 && ACL_FAILURE.test(text))
      return statusError(spec, status, 'CONSUL_PERMISSION_DENIED', detail, shown);
    if (status === 413) return statusError(spec, status, 'CONSUL_TOO_LARGE', detail, shown);
    return statusError(spec, status, 'CONSUL_HTTP_STATUS', detail, shown);
  }

  /** An answer that broke off after its headers (or the deadline or signal cut it). */
  #unreadable(spec: RequestSpec, status: number, bound: Deadline, error: unknown): ConsulError {
    if (bound.signal?.aborted) return this.#abortError(bound.error(error), spec);
    return statusError(
      spec,
      status,
      'CONSUL_BAD_RESPONSE',
      `${spec.method} ${spec.path}: the answer could not be read (${describe(error)})`,
      '',
      error,
    );
  }

  /** Every answer but a stream: read whole, then decoded as the spec's `read` says. */
  #decode<T>(
    spec: RequestSpec,
    response: WholeResponse,
    meta: QueryMeta,
    bound: Deadline,
    options: QueryOptions,
  ): ResponseOf<T> {
    const { statusCode: status, headers, body, bodyError } = response;
    if (bodyError !== undefined) throw this.#unreadable(spec, status, bound, bodyError);
    if (!isOk(spec, status)) {
      // Only so much of an error answer was read (ERROR_READ_LIMIT): a 10 MB error page is cut off.
      if (status === 404 && spec.nullOn404) return { status, data: null as T, meta, headers };
      throw this.#failure(spec, status, bodyText(body), options);
    }
    switch (spec.read ?? 'json') {
      case 'none':
        return { status, data: undefined as T, meta, headers };
      case 'bytes':
        // A copy: the body may be a view into a buffer undici read more into.
        return { status, data: new Uint8Array(body) as T, meta, headers };
      case 'text':
        return { status, data: bodyText(body) as T, meta, headers };
      case 'bool': {
        const text = bodyText(body).trim();
        if (text !== 'true' && text !== 'false') {
          const shown = this.keep(text, options);
          throw statusError(
            spec,
            status,
            'CONSUL_BAD_RESPONSE',
            `${spec.method} ${spec.path}: expected true or false, got ${shown.slice(0, 100)}`,
            shown,
          );
        }
        return { status, data: (text === 'true') as T, meta, headers };
      }
      default: {
        const text = bodyText(body);
        let data: unknown;
        try {
          data = spec.parse ? spec.parse(text) : JSON.parse(text);
        } catch (cause) {
          const shown = this.keep(text, options);
          throw statusError(
            spec,
            status,
            'CONSUL_BAD_RESPONSE',
            `${spec.method} ${spec.path}: the answer is not JSON (${shown.slice(0, 100)})`,
            shown,
            safeParseError(cause, (message) => this.keep(message, options, 500)),
          );
        }
        const problem = spec.check?.(data, status);
        if (problem !== undefined) {
          throw statusError(
            spec,
            status,
            'CONSUL_BAD_RESPONSE',
            `${spec.method} ${spec.path}: a malformed answer (${this.keep(problem, options, 500)})`,
            this.keep(text, options),
          );
        }
        return { status, data: data as T, meta, headers };
      }
    }
  }

  /** A streamed answer (a snapshot, a log stream): the body is the caller's to read and close. */
  async #stream<T>(
    spec: RequestSpec,
    response: Dispatcher.ResponseData,
    meta: QueryMeta,
    bound: Deadline,
    options: QueryOptions,
  ): Promise<ResponseOf<T>> {
    const { statusCode: status, headers, body } = response;
    if (isOk(spec, status)) return { status, data: body as T, meta, headers };
    let text: string;
    try {
      text = await readCapped(body);
    } catch (error) {
      body.destroy();
      throw this.#unreadable(spec, status, bound, error);
    }
    if (status === 404 && spec.nullOn404) return { status, data: null as T, meta, headers };
    throw this.#failure(spec, status, text, options);
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

/** Whether the spec accepts this status (200, or its `ok` list). */
function isOk(spec: RequestSpec, status: number): boolean {
  return spec.ok === undefined ? status === 200 : spec.ok.includes(status);
}

function checkCallOptions(spec: RequestSpec): void {
  let options: object = spec.options!;
  if (spec.extraOptions !== undefined) {
    const rest: Record<string, unknown> = { ...options };
    for (const name of spec.extraOptions) delete rest[name];
    options = rest;
  }
  checkConsulOptions(options, QUERY_OPTIONS, `${spec.method} ${spec.path.split('?')[0]}`);
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
