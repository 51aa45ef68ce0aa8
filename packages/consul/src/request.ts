import { Readable } from 'node:stream';
import {
  classify,
  deadline,
  errorCode,
  keepText,
  MAX_TIMER_MS,
  readCapped,
  safeParseError,
  TimeoutError,
  type Deadline,
} from '@polykv/core';
import { Agent, type Dispatcher } from 'undici';
import { ConsulError, isConsulError, type AgentFailure } from './errors.js';
import {
  checkConsulOptions,
  QUERY_OPTIONS,
  type ConsulClientOptions,
  type ConsulTlsOptions,
  type QueryMeta,
  type QueryOptions,
} from './options.js';

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
   * Checks the shape of the parsed JSON answer: returns what is wrong with it, or `undefined`. A
   * wrong shape is `CONSUL_BAD_RESPONSE`: nothing the agent did not confirm passes as a success.
   */
  check?: (data: unknown, status: number) => string | undefined;
  /**
   * Safe to send again to another agent even if the first may have applied it. Reads are; most
   * writes are not (session create, event fire, CAS). Only used with the client's `failover`.
   * @defaultValue true for GET, false otherwise
   */
  idempotent?: boolean;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** The body is JSON text already: sent as it is, with `content-type: application/json`. */
  json?: boolean;
  /**
   * Options of the endpoint's own that `options` may carry (the endpoint reads them itself, e.g.
   * `tag`): any other key than these and {@link QUERY_OPTIONS} is `CONSUL_INVALID_ARGUMENT`.
   */
  extraOptions?: readonly string[];
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
const NO_DEFAULTS: QueryOptions = Object.freeze({});

/**
 * The deadline of one call without a caller signal: what `deadline()` gives, without a timer, an
 * AbortController or an AbortSignal of its own. It is handed to undici as the request's `signal`
 * (undici accepts any EventEmitter-like object with `aborted`, `reason`, `once` and
 * `removeListener`), and the client's {@link CallDeadlines} fires it when its time is up.
 */
class CallDeadline implements Deadline {
  aborted = false;
  reason: unknown = undefined;
  /** The call settled: nothing to fire. */
  settled = false;
  next: CallDeadline | undefined = undefined;
  #listener: (() => void) | undefined = undefined;
  #more: (() => void)[] | undefined = undefined;

  constructor(
    readonly due: number,
    readonly timeoutMs: number,
    private readonly owner: CallDeadlines,
  ) {}

  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }

  on(_event: 'abort', listener: () => void): this {
    return this.once(_event, listener);
  }

  once(_event: 'abort', listener: () => void): this {
    if (this.#listener === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
    return this;
  }

  removeListener(_event: 'abort', listener: () => void): this {
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#more) {
      const at = this.#more.indexOf(listener);
      if (at !== -1) this.#more.splice(at, 1);
    }
    return this;
  }

  error(cause?: unknown): TimeoutError {
    return new TimeoutError(`timed out after ${this.timeoutMs} ms`, { timeoutMs: this.timeoutMs, cause });
  }

  dispose(): void {
    this.settled = true;
    this.owner.settled(this);
  }

  fire(): void {
    if (this.settled || this.aborted) return;
    this.aborted = true;
    this.reason = new TimeoutError(`timed out after ${this.timeoutMs} ms`, { timeoutMs: this.timeoutMs });
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    first?.();
    if (more) for (const listener of more) listener();
  }
}

/**
 * The deadlines of a client's calls without a caller signal, under one timer. Calls with the same
 * timeout fall due in the order they started, so each timeout has a FIFO queue; the timer is armed
 * for the earliest head and re-armed when it fires, i.e. about once per timeout period under load
 * instead of a setTimeout/clearTimeout (and an AbortController) per call. The timer is unref'd: a
 * call in flight holds a socket (connecting, writing or reading), which keeps the process alive.
 */
class CallDeadlines {
  readonly #queues = new Map<number, { head: CallDeadline | undefined; tail: CallDeadline | undefined }>();
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;

  start(timeoutMs: number, now: number): CallDeadline {
    const call = new CallDeadline(now + Math.max(1, Math.ceil(timeoutMs)), timeoutMs, this);
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      queue = { head: call, tail: call };
      this.#queues.set(timeoutMs, queue);
    } else if (queue.tail === undefined) {
      queue.head = queue.tail = call;
    } else {
      queue.tail.next = call;
      queue.tail = call;
    }
    if (call.due < this.#armedAt) this.#arm(call.due, now);
    return call;
  }

  /** Drops settled calls from the head of their queue, so a queue holds only calls in flight. */
  settled(call: CallDeadline): void {
    const queue = this.#queues.get(call.timeoutMs);
    if (queue?.head !== call) return;
    let head: CallDeadline | undefined = call;
    while (head?.settled) head = head.next;
    queue.head = head;
    if (head === undefined) {
      queue.tail = undefined;
      // Distinct timeouts (blocking queries derive theirs from `wait`) must not pile up.
      if (this.#queues.size > 8) this.#queues.delete(call.timeoutMs);
    }
  }

  /** Stops the timer once no call is in flight (after the client closed). */
  close(): void {
    for (const queue of this.#queues.values()) if (queue.head !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #arm(at: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    // Past setTimeout's limit the sweep runs early, finds nothing due and re-arms.
    this.#timer = setTimeout(() => this.#sweep(), Math.min(MAX_TIMER_MS, Math.max(1, at - now)));
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = Date.now();
    let earliest = Infinity;
    for (const queue of this.#queues.values()) {
      let head = queue.head;
      while (head !== undefined && (head.settled || head.due <= now)) {
        // Unlink first: firing settles the call (and calls `settled`) synchronously or later.
        const next = head.next;
        head.next = undefined;
        queue.head = next;
        if (next === undefined) queue.tail = undefined;
        head.fire();
        head = next;
      }
      if (head !== undefined && head.due < earliest) earliest = head.due;
    }
    if (earliest !== Infinity) this.#arm(earliest, now);
  }
}

/** Escapes each segment of a key or ID path, keeping the `/` between segments. */
export function escapePath(value: string): string {
  // Most keys hold only characters encodeURIComponent keeps: nothing to split, escape or join.
  if (PLAIN_PATH.test(value)) return value;
  return value.split('/').map(encodeURIComponent).join('/');
}

/** Characters `encodeURIComponent` leaves as they are, plus the `/` between segments. */
const PLAIN_PATH = /^[\w\-.!~*'()/]*$/;

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
  return typeof value === 'string' || value === undefined ? value : value[0];
}

function readMeta(
  headers: Record<string, string | string[] | undefined>,
  requestTime: number,
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
    requestTime,
    agent,
  };
}

/**
 * The body of an ACL refusal, whatever the status: `ACL not found`, `Permission denied...`, and the
 * keyring's `Reading keyring denied by ACLs` / `Modifying keyring denied due to ACLs`.
 */
const ACL_FAILURE =
  /^\s*(?:rpc error(?: making call)?: )?(?:ACL not found|Permission denied)|denied (?:by|due to) ACLs/;

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

/** undici `connect` options from the client's TLS options (the transport and the split pools). */
export function tlsConnectOptions(tls: ConsulTlsOptions | undefined): Agent.Options['connect'] {
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

/** Whether the merged options send anything in the query string (most calls send nothing). */
function hasQuery(options: QueryOptions): boolean {
  return (
    options.dc !== undefined ||
    options.ns !== undefined ||
    options.partition !== undefined ||
    options.consistent !== undefined ||
    options.stale !== undefined ||
    options.cached !== undefined ||
    options.index !== undefined ||
    options.wait !== undefined ||
    options.hash !== undefined ||
    options.filter !== undefined ||
    options.near !== undefined ||
    options.nodeMeta !== undefined
  );
}

/** Appends `name=value` (`name` alone for `true`; nothing for `false`/`undefined`/`null`). */
function param(query: string, name: string, value: QueryValue): string {
  if (value === undefined || value === null || value === false) return query;
  if (Array.isArray(value)) {
    for (const item of value as readonly string[]) query = param(query, name, item);
    return query;
  }
  query += `${query === '' ? '?' : '&'}${encodeURIComponent(name)}`;
  if (value !== true) query += `=${encodeURIComponent(String(value))}`;
  return query;
}

function queryString(spec: RequestSpec, options: QueryOptions): string {
  let query = '';
  if (spec.query) for (const name in spec.query) query = param(query, name, spec.query[name]);
  if (options.consistent && options.stale) {
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', 'consistent and stale cannot be combined', {
      method: spec.method,
      path: spec.path,
    });
  }
  query = param(query, 'dc', options.dc);
  query = param(query, 'ns', options.ns);
  query = param(query, 'partition', options.partition);
  query = param(query, 'consistent', options.consistent);
  query = param(query, 'stale', options.stale);
  query = param(query, 'cached', options.cached);
  // An endpoint may send the index itself, as exact uint64 digits (event list indexes exceed 2^53).
  if (spec.query?.index === undefined || spec.query.index === null)
    query = param(query, 'index', options.index);
  if (options.wait !== undefined) query = param(query, 'wait', formatDuration(options.wait));
  query = param(query, 'hash', options.hash);
  query = param(query, 'filter', options.filter);
  query = param(query, 'near', options.near);
  if (options.nodeMeta)
    for (const name in options.nodeMeta)
      query = param(query, 'node-meta', `${name}:${options.nodeMeta[name]}`);
  return query;
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
        let response: Dispatcher.ResponseData;
        try {
          response = await this.#dispatcher.request({
            origin: agent,
            path,
            method: spec.method,
            headers,
            body,
            signal: bound.signal ?? null,
            // undici's own timers would fire before a long poll ends; our deadline governs instead.
            headersTimeout: 0,
            bodyTimeout: 0,
          });
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
        return await this.#read<T>(spec, response, meta, bound, options);
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
    if (!Object.isFrozen(given)) return { ...this.#defaults, ...given };
    let merged = this.#merged.get(given);
    if (merged === undefined) {
      merged = Object.freeze({ ...this.#defaults, ...given });
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

  async #read<T>(
    spec: RequestSpec,
    response: Dispatcher.ResponseData,
    meta: QueryMeta,
    bound: Deadline,
    options: QueryOptions,
  ): Promise<ResponseOf<T>> {
    const { statusCode: status, headers, body } = response;
    // Response text in an error: capped, without secrets (a proxy may echo the request's headers).
    const keep = (text: string, limit?: number): string => this.keep(text, options, limit);
    try {
      if (spec.ok === undefined ? status !== 200 : !spec.ok.includes(status)) {
        // Only so much of an error answer is read: a 10 MB error page is cut off, not kept.
        const text = await readCapped(body);
        if (status === 404 && spec.nullOn404) return { status, data: null as T, meta, headers };
        const shown = keep(text);
        const detail = `${spec.method} ${spec.path}: ${status}${shown ? ` ${shown.trim().slice(0, 500)}` : ''}`;
        if (status === 401 || status === 403)
          throw statusError(spec, status, 'CONSUL_PERMISSION_DENIED', detail, shown);
        // Some 1.8 routes (event fire, keyring) answer an ACL failure with 500 and the ACL error text.
        if (status === 500 && ACL_FAILURE.test(text))
          throw statusError(spec, status, 'CONSUL_PERMISSION_DENIED', detail, shown);
        if (status === 413) throw statusError(spec, status, 'CONSUL_TOO_LARGE', detail, shown);
        throw statusError(spec, status, 'CONSUL_HTTP_STATUS', detail, shown);
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
          const text = (await readCapped(body)).trim();
          if (text !== 'true' && text !== 'false') {
            const shown = keep(text);
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
        case 'json': {
          const text = await body.text();
          let data: unknown;
          try {
            data = spec.parse ? spec.parse(text) : JSON.parse(text);
          } catch (cause) {
            const shown = keep(text);
            throw statusError(
              spec,
              status,
              'CONSUL_BAD_RESPONSE',
              `${spec.method} ${spec.path}: the answer is not JSON (${shown.slice(0, 100)})`,
              shown,
              safeParseError(cause, (message) => keep(message, 500)),
            );
          }
          const problem = spec.check?.(data, status);
          if (problem !== undefined) {
            throw statusError(
              spec,
              status,
              'CONSUL_BAD_RESPONSE',
              `${spec.method} ${spec.path}: a malformed answer (${keep(problem, 500)})`,
              keep(text),
            );
          }
          return { status, data: data as T, meta, headers };
        }
      }
    } catch (error) {
      if (isConsulError(error)) throw error;
      if (bound.signal?.aborted) throw this.#abortError(bound.error(error), spec);
      // The body broke off: truncated, reset, garbage.
      body.destroy();
      throw statusError(
        spec,
        status,
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
