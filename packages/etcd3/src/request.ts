import { HostPool, classify as classifyConnection, deadline, type FailureKind } from '@polykv/core';
import { Etcd3AllHostsFailedError, Etcd3Error, GrpcStatus, isEtcd3Error } from './errors.js';
import type { ResolvedEtcd3Options } from './options.js';
import { Reader, Writer } from './proto/wire.js';
import { HTTP2_NOT_SENT, type CallHeaders, type Transport } from './transport.js';

/** One RPC: its name, its HTTP/2 path and how to read its response. */
export interface Rpc<T> {
  /** `KV/Range`: names the call in errors. */
  readonly name: string;
  /** `/etcdserverpb.KV/Range`. */
  readonly path: string;
  /** Decodes the response message from `reader` up to `end`. */
  readonly read: (reader: Reader, end: number) => T;
}

/** Makes an {@link Rpc} of etcd's `etcdserverpb` package. */
export function rpc<T>(service: string, method: string, read: (reader: Reader, end: number) => T): Rpc<T> {
  return Object.freeze({ name: `${service}/${method}`, path: `/etcdserverpb.${service}/${method}`, read });
}

/** What a call needs besides its RPC and message. */
export interface CallSpec {
  /**
   * Safe to send again to another host after it may have reached one (reads, lease keep-alives,
   * revokes). Never true for a put or a transaction: a replay could apply it twice.
   */
  idempotent: boolean;
  /** Aborts the call: it rejects with `ETCD3_ABORTED`, whose `cause` is `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds for the whole call, failover included; absent or 0: the client's `timeout`. */
  timeout?: number | undefined;
  /** Extra rounds over the host list; absent: the client's `maxRetries`. */
  maxRetries?: number | undefined;
  /** Send without the auth token (authentication itself). */
  anonymous?: boolean;
  /** Send to this host only, without failover (a question about one member). */
  host?: string;
}

/** THE request function's type: every RPC of the client goes through it. */
export type CallFn = <T>(rpc: Rpc<T>, message: Writer, spec: CallSpec) => Promise<T>;

/** Where a call's stream goes and with which headers (see {@link Requester.streamTarget}). */
export interface StreamTarget {
  host: string;
  headers: CallHeaders;
}

const BASE_HEADERS: CallHeaders = Object.freeze({ 'content-type': 'application/grpc', te: 'trailers' });
const AUTHENTICATE = rpc('Auth', 'Authenticate', (r, end) => {
  let token = '';
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 18) token = r.string();
    else r.skip(tag & 7);
  }
  return token;
});

/**
 * `answer`: etcd answered (a final error). `not-sent`: the request never left. `sent`: it may
 * have reached etcd: a broken connection, a hung attempt, or an "unavailable" status (no leader,
 * an election, a proposal that timed out but may still be applied).
 */
export function classify(error: unknown): FailureKind {
  if (!isEtcd3Error(error)) return 'sent';
  if (error.code === 'ETCD3_CONNECTION') {
    // Node wraps a failed connect in the stream's error ("The pending stream has been canceled",
    // cause: ECONNREFUSED or a certificate error): look down the cause chain.
    if (classifyConnection(error.cause) === 'not-sent') return 'not-sent';
    let cause: unknown = error.cause;
    for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
      const code = (cause as { code?: unknown }).code;
      if (typeof code === 'string' && HTTP2_NOT_SENT.has(code)) return 'not-sent';
      cause = cause.cause;
    }
    return 'sent';
  }
  if (error.code === 'ETCD3_BAD_RESPONSE') return 'sent';
  if (error.grpcStatus === GrpcStatus.UNAVAILABLE || error.grpcStatus === GrpcStatus.DEADLINE_EXCEEDED)
    return 'sent';
  return 'answer';
}

/**
 * THE request function of the client, with the state it needs: the host pool, the auth token and
 * the transport. It owns encoding the frame, the headers (the token), timeouts (the whole call:
 * `timeout`; each attempt: `attemptTimeout`), failover (through core's `HostPool`), re-authenticating
 * once when etcd says the token expired, decoding the answer, and turning every failure into an
 * {@link Etcd3Error}.
 */
export class Requester {
  readonly pool: HostPool;
  readonly #transport: Transport;
  readonly #options: ResolvedEtcd3Options;
  readonly #isClosed: () => boolean;
  #token: string | undefined;
  #headers: CallHeaders = BASE_HEADERS;
  #authenticating: Promise<string> | undefined;

  constructor(transport: Transport, options: ResolvedEtcd3Options, isClosed: () => boolean) {
    this.#transport = transport;
    this.#options = options;
    this.#isClosed = isClosed;
    this.pool = new HostPool(options.hosts, {
      deterministicOrder: options.deterministicOrder,
      random: options.random,
      backoffMs: options.backoffMs,
      maxBackoffMs: options.maxBackoffMs,
      classify,
      uncertain: (error, host, call) => {
        const cause = error instanceof Error ? error.message : String(error);
        return new Etcd3Error({
          code: isEtcd3Error(error) && error.code !== 'ETCD3_BAD_RESPONSE' ? error.code : 'ETCD3_CONNECTION',
          message: `${cause} (the request may have been applied; it was not replayed)`,
          cause: error,
          method: call.method,
          host,
          uncertain: true,
          ...(isEtcd3Error(error) && error.grpcStatus !== undefined ? { grpcStatus: error.grpcStatus } : {}),
        });
      },
      exhausted: (failures, rounds, call) => new Etcd3AllHostsFailedError(failures, rounds, call.method),
    });
  }

  /** The request function (bound): `call(rpc, message, spec)`. */
  readonly call: CallFn = async <T>(target: Rpc<T>, message: Writer, spec: CallSpec): Promise<T> => {
    if (this.#isClosed()) throw closed(target.name);
    const frame = message.frame();
    const timeout = spec.timeout !== undefined && spec.timeout > 0 ? spec.timeout : this.#options.timeout;
    const bound = deadline(spec.signal, timeout);
    const signal = bound.signal;
    const attempt = async (host: string): Promise<T> => {
      const headers =
        spec.anonymous || !this.#options.auth
          ? BASE_HEADERS
          : this.#token !== undefined
            ? this.#headers
            : await this.#authHeaders(signal);
      try {
        return await this.#once(target, host, headers, frame, signal);
      } catch (error) {
        if (spec.anonymous || !this.#options.auth || !tokenRefused(error, headers)) throw error;
        // etcd rejected the token before doing anything: authenticate again and resend, once.
        this.#dropToken(headers);
        return this.#once(target, host, await this.#authHeaders(signal), frame, signal);
      }
    };
    try {
      signal?.throwIfAborted();
      if (spec.host !== undefined) return await attempt(spec.host);
      const hosts = this.pool.hosts;
      const start = this.pool.pinned;
      try {
        return await attempt(hosts[start]!);
      } catch (error) {
        if (signal?.aborted) throw error;
        return await this.pool.recover(error, hosts, start, attempt, {
          idempotent: spec.idempotent,
          signal,
          maxRetries: spec.maxRetries ?? this.#options.maxRetries,
          method: target.name,
          path: target.path,
        });
      }
    } catch (error) {
      if (signal?.aborted) {
        const typed = bound.error(error);
        const timedOut = typed.code === 'TIMEOUT';
        throw new Etcd3Error({
          code: timedOut ? 'ETCD3_TIMEOUT' : 'ETCD3_ABORTED',
          message: timedOut
            ? `etcd ${target.name} timed out after ${timeout} ms`
            : `etcd ${target.name} was aborted`,
          cause: timedOut ? error : (spec.signal?.reason ?? error),
          method: target.name,
          uncertain: !spec.idempotent,
        });
      }
      if (this.#isClosed() && !(isEtcd3Error(error) && error.code === 'ETCD3_CLOSED'))
        throw closed(target.name, error);
      throw error;
    } finally {
      bound.dispose();
    }
  };

  async #once<T>(
    target: Rpc<T>,
    host: string,
    headers: CallHeaders,
    frame: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const body = await this.#transport.unary(
      host,
      target.path,
      target.name,
      headers,
      frame,
      signal,
      this.#options.attemptTimeout,
    );
    try {
      return target.read(new Reader(body), body.length);
    } catch (cause) {
      throw new Etcd3Error({
        code: 'ETCD3_BAD_RESPONSE',
        message: `etcd ${target.name} on ${host}: the answer does not parse`,
        cause,
        method: target.name,
        host,
      });
    }
  }

  /** The headers of a call: with the token when the client has credentials. */
  async #authHeaders(signal: AbortSignal | undefined): Promise<CallHeaders> {
    if (!this.#options.auth) return BASE_HEADERS;
    if (this.#token !== undefined) return this.#headers;
    this.#authenticating ??= this.#authenticate().finally(() => (this.#authenticating = undefined));
    await (signal ? abortable(this.#authenticating, signal) : this.#authenticating);
    return this.#headers;
  }

  async #authenticate(): Promise<string> {
    const { username, password } = this.#options.auth!;
    let token: string;
    try {
      token = await this.call(AUTHENTICATE, new Writer().bytes(1, username).bytes(2, password), {
        idempotent: true,
        anonymous: true,
      });
    } catch (error) {
      if (!(isEtcd3Error(error) && /authentication is not enabled/.test(error.etcdMessage ?? '')))
        throw error;
      // Auth is off (or was turned off): calls go without a token until etcd asks for one.
      token = '';
    }
    this.#token = token;
    this.#headers = token === '' ? BASE_HEADERS : Object.freeze({ ...BASE_HEADERS, token });
    return token;
  }

  /** Forgets the token the failed call carried (unless a newer one came meanwhile). */
  #dropToken(sent: CallHeaders): void {
    if (sent === this.#headers) {
      this.#token = undefined;
      this.#headers = BASE_HEADERS;
    }
  }

  /**
   * Where a stream should go: the pinned host, with the headers (the token) for it. Streams are not
   * retried by the request function; their owner reopens them (see `WatchStreams`).
   */
  /**
   * The headers a stream opened now would carry, when they are known without a request (no
   * credentials, or a token in hand); `undefined` while the client must authenticate first.
   */
  get knownHeaders(): CallHeaders | undefined {
    if (!this.#options.auth) return BASE_HEADERS;
    return this.#token !== undefined ? this.#headers : undefined;
  }

  async streamTarget(signal: AbortSignal | undefined, host = this.pool.current): Promise<StreamTarget> {
    if (this.#isClosed()) throw closed('stream');
    return { host, headers: await this.#authHeaders(signal) };
  }

  /**
   * Whether a stream's refusal (`error`, for a stream opened with `headers`) is one a fresh token
   * fixes; if so, the token is forgotten, and the next {@link streamTarget} authenticates again.
   */
  refreshAfter(error: unknown, headers: CallHeaders): boolean {
    if (!this.#options.auth || !tokenRefused(error, headers)) return false;
    this.#dropToken(headers);
    return true;
  }
}

/**
 * True when etcd refused the call for its token (expired: "invalid auth token"; made before an auth
 * change: "revision of auth store is old"), or for the lack of one while the client has
 * credentials (auth was turned on after the client saw it off).
 */
function tokenRefused(error: unknown, sent: CallHeaders): boolean {
  if (!isEtcd3Error(error)) return false;
  if (error.code === 'ETCD3_INVALID_TOKEN') return true;
  // A token made before users or roles changed: a new one carries the auth store's new revision.
  if (/revision of auth store is old/.test(error.etcdMessage ?? '')) return true;
  return sent.token === undefined && /user name is empty/.test(error.etcdMessage ?? '');
}

function closed(method: string, cause?: unknown): Etcd3Error {
  return new Etcd3Error({
    code: 'ETCD3_CLOSED',
    message: `etcd ${method}: the client is closed`,
    method,
    cause,
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
