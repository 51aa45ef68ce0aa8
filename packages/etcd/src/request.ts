import {
  bodyText,
  deadline,
  ERROR_READ_LIMIT,
  keepText,
  requestWhole,
  safeParseError,
  type HostPool,
} from '@polykv/core';
import type { Dispatcher } from 'undici';
import { EtcdError, isEtcdError } from './errors.js';
import type { ResolvedEtcdOptions } from './options.js';

/** What a request needs. `path` is escaped already and carries its query string. */
export interface EtcdRequest {
  /** The HTTP method. */
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** `/v2/keys/a/b?recursive=true`: escaped by the endpoint (see `keyPath`). */
  path: string;
  /** A form body (`application/x-www-form-urlencoded`) or JSON (`json: true`). */
  body?: string;
  /** The body is JSON (the members and auth APIs). */
  json?: boolean;
  /**
   * Safe to send again to another host after it may have reached one. Never derived from the
   * method: etcd uses PUT for CAS and POST for in-order keys, neither safe to replay.
   */
  idempotent: boolean;
  /** A long poll (`wait=true`): no default timeout, no body timeout. */
  wait?: boolean;
  /** HTTP statuses that resolve rather than throw (besides 2xx). */
  okStatuses?: readonly number[];
  /** Send to this origin only (no failover), e.g. to check a new host during machine refresh. */
  host?: string;
  /**
   * Resolve the parsed JSON body itself, with the meta fields (`etcdIndex`, `raftIndex`,
   * `raftTerm`, `clusterId`, `host`) set on it, instead of an {@link EtcdResponse}: the keys API's
   * result shape, made without a second object or await. An empty body is `ETCD_BAD_RESPONSE`.
   */
  merge?: boolean;
  /**
   * Checks the shape of a successful JSON answer: returns what is wrong with it, or `undefined`. A
   * wrong shape is `ETCD_BAD_RESPONSE` (with the status, so it is final: never sent to another host).
   */
  check?: ((body: unknown) => string | undefined) | undefined;
  /** Aborts the call: it rejects with `ETCD_ABORTED`. */
  signal?: AbortSignal | undefined;
  /**
   * Milliseconds for the whole call, failover included (then `ETCD_TIMEOUT`). Absent or `0`: the
   * client's `timeout`, except for a wait, which then has none.
   */
  timeout?: number | undefined;
  /** Extra rounds over the hosts when every host failed retryably; absent: the client's `maxRetries`. */
  maxRetries?: number | undefined;
}

/** A decoded response with etcd's meta headers. */
export interface EtcdResponse<T = unknown> {
  /** The HTTP status: a 2xx, or one of the request's `okStatuses`. */
  statusCode: number;
  /** The parsed JSON body; `undefined` for an empty body (a wait that timed out on the server). */
  body: T;
  /** X-Etcd-Index: the store's index when the response was made (for a wait: when it was registered). */
  etcdIndex: number | undefined;
  /**
   * X-Raft-Index: the raft index of the member that answered (not the key space's etcd index);
   * `undefined` without the header.
   */
  raftIndex: number | undefined;
  /** X-Raft-Term: the raft term, which grows with each leader election; `undefined` without the header. */
  raftTerm: number | undefined;
  /** X-Etcd-Cluster-Id. */
  clusterId: string | undefined;
  /** The origin that answered. */
  host: string;
}

/** The client's one request function, as the endpoint groups receive it. */
export type RequestFn = <T = unknown>(request: EtcdRequest) => Promise<EtcdResponse<T>>;

const MAX_REDIRECTS = 10;

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' || value === undefined ? value : value[0];
}

function intHeader(headers: Record<string, string | string[] | undefined>, name: string): number | undefined {
  const value = header(headers, name);
  return value === undefined ? undefined : Number(value);
}

/**
 * THE request function: every call of the client goes through it. It owns the headers (auth,
 * content type), the timeouts (whole call: `timeout`; per attempt: `attemptTimeout` as undici's
 * headers/body timeouts, so the hot path needs no timer or signal of its own), 307 redirects,
 * draining and decoding the body, etcd's meta headers, and etcd JSON errors → {@link EtcdError}.
 * Failover is the host pool's.
 */
export function createRequest(
  dispatcher: Dispatcher,
  pool: HostPool,
  options: ResolvedEtcdOptions,
  isClosed: () => boolean,
): RequestFn {
  // Built once: undici takes a plain object and no per-request header rebuilding is needed.
  const auth = options.authHeader ? { authorization: options.authHeader } : {};
  const getHeaders = Object.freeze({ ...auth });
  const formHeaders = Object.freeze({ ...auth, 'content-type': 'application/x-www-form-urlencoded' });
  const jsonHeaders = Object.freeze({ ...auth, 'content-type': 'application/json' });
  /** What an error keeps of a response: capped, without the credentials (a proxy may echo them). */
  const keep = (text: string, limit?: number): string => keepText(text, options.secrets, limit);

  async function attempt<T>(
    origin: string,
    path: string,
    request: EtcdRequest,
    signal: AbortSignal | undefined,
    redirects: number,
  ): Promise<EtcdResponse<T>> {
    const isSuccess = (status: number): boolean =>
      (status >= 200 && status < 300) || (request.okStatuses?.includes(status) ?? false);
    // Read whole, on every path, so the socket goes back to the pool; an error answer only up to a
    // limit (then the connection closes): a 10 MB error page is not held in memory.
    const response = await requestWhole(
      dispatcher,
      {
        origin,
        path,
        method: request.method,
        headers: request.body === undefined ? getHeaders : request.json ? jsonHeaders : formHeaders,
        body: request.body ?? null,
        headersTimeout: options.attemptTimeout,
        // A long poll may be silent for minutes; only the caller's timeout bounds it.
        bodyTimeout: request.wait ? 0 : options.attemptTimeout,
      },
      signal,
      (status) => (isSuccess(status) ? Infinity : ERROR_READ_LIMIT),
    );
    // A body that broke off fails the attempt as the request would have (the host pool classifies it).
    if (response.bodyError !== undefined) throw response.bodyError;
    const { statusCode, headers } = response;
    const success = isSuccess(statusCode);
    const text = bodyText(response.body);
    if (statusCode === 307 || statusCode === 308 || statusCode === 301 || statusCode === 302) {
      const location = header(headers, 'location');
      if (location === undefined)
        throw new EtcdError({ statusCode, method: request.method, host: origin, path, body: keep(text) });
      if (redirects >= MAX_REDIRECTS) {
        throw new EtcdError({
          code: 'ETCD_TOO_MANY_REDIRECTS',
          message: `more than ${MAX_REDIRECTS} redirects (last to ${keep(location, 500)})`,
          method: request.method,
          host: origin,
          path,
        });
      }
      const target = new URL(location, `${origin}${path}`);
      return attempt(target.origin, `${target.pathname}${target.search}`, request, signal, redirects + 1);
    }
    const etcdIndex = intHeader(headers, 'x-etcd-index');
    if (success) {
      let body: unknown = undefined;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch (cause) {
          // /version and /health answer JSON; a few cluster endpoints answer text.
          if (path.startsWith('/v2/keys')) {
            throw new EtcdError({
              code: 'ETCD_BAD_RESPONSE',
              message: `etcd at ${origin} sent a body that is not JSON`,
              cause: safeParseError(cause, (message) => keep(message, 500)),
              statusCode: undefined,
              method: request.method,
              host: origin,
              path,
              body: keep(text),
            });
          }
          body = text;
        }
      }
      if (body !== undefined && request.check !== undefined) {
        const problem = request.check(body);
        if (problem !== undefined) {
          // A whole, parsed answer of the wrong shape: final (the host answered), and for a write
          // the write may have been applied, so the error says it is uncertain.
          throw new EtcdError({
            code: 'ETCD_BAD_RESPONSE',
            message: `etcd at ${origin} sent a malformed answer to ${request.method} ${path.split('?')[0]}: ${keep(problem, 500)}`,
            statusCode,
            method: request.method,
            host: origin,
            path,
            body: keep(text),
            uncertain: request.method !== 'GET',
          });
        }
      }
      if (request.merge) {
        if (typeof body !== 'object' || body === null) {
          throw new EtcdError({
            code: 'ETCD_BAD_RESPONSE',
            message: `etcd at ${origin} sent no JSON object`,
            statusCode: undefined,
            method: request.method,
            host: origin,
            path,
            body: keep(text),
          });
        }
        const result = body as Record<string, unknown>;
        result.etcdIndex = etcdIndex;
        result.raftIndex = intHeader(headers, 'x-raft-index');
        result.raftTerm = intHeader(headers, 'x-raft-term');
        result.clusterId = header(headers, 'x-etcd-cluster-id');
        result.host = origin;
        return result as unknown as EtcdResponse<T>;
      }
      return {
        statusCode,
        body: body as T,
        etcdIndex,
        raftIndex: intHeader(headers, 'x-raft-index'),
        raftTerm: intHeader(headers, 'x-raft-term'),
        clusterId: header(headers, 'x-etcd-cluster-id'),
        host: origin,
      };
    }
    let parsed: { errorCode?: number; message?: string; cause?: string; index?: number } | undefined;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as typeof parsed);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed.errorCode === 'number') {
      throw new EtcdError({
        errorCode: parsed.errorCode,
        ...(parsed.message !== undefined ? { etcdMessage: keep(String(parsed.message), 500) } : {}),
        ...(parsed.cause !== undefined ? { cause: keep(String(parsed.cause), 1000) } : {}),
        ...((parsed.index ?? etcdIndex) !== undefined ? { index: parsed.index ?? etcdIndex } : {}),
        statusCode,
        method: request.method,
        host: origin,
        path,
      });
    }
    throw new EtcdError({
      statusCode,
      method: request.method,
      host: origin,
      path,
      body: keep(text),
      ...(etcdIndex !== undefined ? { index: etcdIndex } : {}),
    });
  }

  return async function request<T>(request: EtcdRequest): Promise<EtcdResponse<T>> {
    if (isClosed()) throw new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client is closed' });
    const timeout =
      request.timeout !== undefined && request.timeout > 0
        ? request.timeout
        : request.wait
          ? undefined
          : options.timeout;
    // Only build a signal when the caller gave one or a timeout applies: the common case costs one timer.
    const bound = deadline(request.signal, timeout);
    const signal = bound.signal;
    try {
      if (request.host !== undefined) return await attempt<T>(request.host, request.path, request, signal, 0);
      // The first attempt inline, on the pinned host: no closure, options object or failure list
      // unless it fails, and then the pool carries on by its rules from there.
      const hosts = pool.hosts;
      const start = pool.pinned;
      try {
        return await attempt<T>(hosts[start]!, request.path, request, signal, 0);
      } catch (error) {
        if (signal?.aborted) throw error;
        return await pool.recover(
          error,
          hosts,
          start,
          (origin) => attempt<T>(origin, request.path, request, signal, 0),
          {
            idempotent: request.idempotent,
            signal,
            maxRetries: request.maxRetries ?? options.maxRetries,
            method: request.method,
            path: request.path,
          },
        );
      }
    } catch (error) {
      if (signal?.aborted) {
        const typed = bound.error(error);
        throw new EtcdError({
          code: typed.code === 'TIMEOUT' ? 'ETCD_TIMEOUT' : 'ETCD_ABORTED',
          message:
            typed.code === 'TIMEOUT'
              ? `etcd ${request.method} ${request.path.split('?')[0]} timed out after ${timeout} ms`
              : `etcd ${request.method} ${request.path.split('?')[0]} was aborted`,
          cause: typed.code === 'TIMEOUT' ? error : (request.signal?.reason ?? error),
          method: request.method,
          path: request.path,
          uncertain: request.method !== 'GET',
        });
      }
      if (isClosed() && !isEtcdError(error))
        throw new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client was closed', cause: error });
      throw error;
    } finally {
      bound.dispose();
    }
  };
}
