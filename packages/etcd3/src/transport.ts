import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { follow } from '@polykv/core';
import { Etcd3Error, statusError } from './errors.js';
import type { ResolvedEtcd3Options } from './options.js';

/**
 * gRPC over HTTP/2, on `node:http2`: one HTTP/2 connection per host, every call and stream
 * multiplexed on it. A gRPC message on the wire is a 5-byte prefix (a compression flag, always 0
 * here, and the length) and the protobuf bytes; the call's outcome is the `grpc-status` and
 * `grpc-message` trailers (or headers, for an answer without a body).
 *
 * @module
 */

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Error codes of a request that never reached etcd, beyond those of core's `classify`. */
export const HTTP2_NOT_SENT = new Set([
  'ETCD3_CONNECT_TIMEOUT',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  // "The pending stream has been canceled": the connection failed before the stream was sent.
  'ERR_HTTP2_STREAM_CANCEL',
]);

/** Headers of one call. */
export type CallHeaders = Readonly<Record<string, string>>;

/** Handlers of a long-lived stream (see {@link Transport.stream}). */
export interface StreamHandlers {
  /** One decoded-length gRPC message (the protobuf bytes). */
  message(message: Buffer): void;
  /** The stream is over: `undefined` for a clean end (status 0), else the error. Called once. */
  close(error: Etcd3Error | undefined): void;
}

/** A bidirectional gRPC stream. */
export interface GrpcStream {
  write(frame: Buffer): void;
  /** Resets the stream (the server sees a cancel). */
  cancel(): void;
}

interface Connection {
  session: ClientHttp2Session;
  /** Calls and streams in flight: the connection keeps the process alive only while there are some. */
  active: number;
  pinger: NodeJS.Timeout | undefined;
}

/** Splits a byte stream into gRPC messages. */
export class FrameReader {
  #pending: Buffer | undefined;

  /** Feeds a chunk; calls `onMessage` for each complete message. */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (buf.length >= 5) {
      if (buf[0] !== 0) throw new Error('compressed gRPC message (not requested)');
      const size = buf.readUInt32BE(1);
      if (buf.length < 5 + size) break;
      onMessage(buf.subarray(5, 5 + size));
      buf = buf.subarray(5 + size);
    }
    if (buf.length > 0) this.#pending = buf;
  }

  get partial(): boolean {
    return this.#pending !== undefined;
  }
}

function connectionError(error: unknown, method: string, host: string): Etcd3Error {
  const detail = error instanceof Error ? error.message : String(error);
  return new Etcd3Error({
    code: 'ETCD3_CONNECTION',
    message: `etcd ${method} on ${host}: ${detail}`,
    cause: error,
    method,
    host,
  });
}

function decodeMessage(text: string | undefined): string {
  if (!text) return '';
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The call's outcome from headers or trailers, or `undefined` when they carry no `grpc-status`. */
function statusOf(
  headers: http2.IncomingHttpHeaders,
  method: string,
  host: string,
): Etcd3Error | 'ok' | undefined {
  const status = headers['grpc-status'];
  if (status === undefined) return undefined;
  const code = Number(status);
  if (code === 0) return 'ok';
  return statusError(code, decodeMessage(headers['grpc-message'] as string | undefined), method, host);
}

/** The HTTP/2 connections of one client. */
export class Transport {
  readonly #connections = new Map<string, Connection>();
  readonly #options: ResolvedEtcd3Options;
  #closed = false;

  constructor(options: ResolvedEtcd3Options) {
    this.#options = options;
  }

  #connect(origin: string): Connection {
    const existing = this.#connections.get(origin);
    if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
    const tls = this.#options.tls;
    const session = http2.connect(origin, {
      ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls?.key !== undefined ? { key: tls.key } : {}),
      ...(tls?.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      ...(tls?.servername !== undefined ? { servername: tls.servername } : {}),
      rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      // Node's default (10 MB) counts the request bodies queued on the session: a put of a value
      // over it was closed locally without a word, never reaching etcd. With room for 64 MB, etcd
      // itself answers one over its limit (--max-request-bytes) with RESOURCE_EXHAUSTED.
      maxSessionMemory: 64,
    });
    const connection: Connection = { session, active: 0, pinger: undefined };
    const forget = (): void => {
      clearInterval(connection.pinger);
      if (this.#connections.get(origin) === connection) this.#connections.delete(origin);
    };
    const connectTimer = setTimeout(() => {
      const error = Object.assign(
        new Error(`no HTTP/2 connection within ${this.#options.connectTimeout} ms`),
        {
          code: 'ETCD3_CONNECT_TIMEOUT',
        },
      );
      session.destroy(error);
    }, this.#options.connectTimeout);
    connectTimer.unref();
    session.once('connect', () => clearTimeout(connectTimer));
    session.once('close', () => {
      clearTimeout(connectTimer);
      forget();
    });
    // A GOAWAY (etcd stopping, too many pings): finish what runs, open a new connection for the rest.
    session.once('goaway', forget);
    // Streams get the error too; this listener keeps an 'error' without streams from throwing.
    session.on('error', forget);
    session.unref();
    this.#connections.set(origin, connection);
    return connection;
  }

  #hold(connection: Connection): void {
    if (connection.active++ === 0) connection.session.ref();
  }

  #release(connection: Connection): void {
    if (--connection.active === 0 && !connection.session.destroyed) connection.session.unref();
  }

  /** Pings the connection while it carries long-lived streams, and drops it when a ping goes unanswered. */
  #keepPinging(connection: Connection): void {
    const interval = this.#options.pingIntervalMs;
    if (interval === 0 || connection.pinger !== undefined) return;
    connection.pinger = setInterval(() => {
      const { session } = connection;
      if (session.destroyed) return;
      const timer = setTimeout(() => {
        session.destroy(
          Object.assign(new Error('the connection did not answer a ping'), { code: 'ETCD3_PING_TIMEOUT' }),
        );
      }, this.#options.attemptTimeout || 10_000);
      timer.unref();
      try {
        session.ping(() => clearTimeout(timer));
      } catch {
        clearTimeout(timer);
      }
    }, interval);
    connection.pinger.unref();
  }

  /**
   * One unary call: sends `frame` and resolves the response message (the protobuf bytes). Rejects
   * with an {@link Etcd3Error}: etcd's status, or `ETCD3_CONNECTION` (with Node's error as `cause`).
   */
  unary(
    origin: string,
    path: string,
    method: string,
    headers: CallHeaders,
    frame: Buffer,
    signal: AbortSignal | undefined,
    attemptTimeout: number,
  ): Promise<Buffer> {
    if (this.#closed) return Promise.reject(closedError(method));
    return new Promise<Buffer>((resolve, reject) => {
      let connection: Connection;
      let request: ClientHttp2Stream;
      try {
        connection = this.#connect(origin);
        request = connection.session.request({ ':method': 'POST', ':path': path, ...headers });
      } catch (error) {
        reject(connectionError(error, method, origin));
        return;
      }
      this.#hold(connection);
      const chunks: Buffer[] = [];
      let outcome: Etcd3Error | 'ok' | undefined;
      let failure: Etcd3Error | undefined;
      let timer: NodeJS.Timeout | undefined;
      /** Bytes of the request still queued when the answer ended (etcd did not read them all). */
      let unsent = 0;
      const onAbort = (): void => {
        failure ??= new Etcd3Error({
          code: 'ETCD3_ABORTED',
          message: `etcd ${method} was aborted`,
          method,
          host: origin,
        });
        cancel(request);
      };
      if (attemptTimeout > 0) {
        timer = setTimeout(() => {
          failure ??= connectionError(
            Object.assign(new Error(`no answer within ${attemptTimeout} ms`), {
              code: 'ETCD3_ATTEMPT_TIMEOUT',
            }),
            method,
            origin,
          );
          cancel(request);
        }, attemptTimeout);
      }
      // One listener on the caller's signal however many calls share it (Node warns past ten).
      let unfollow: (() => void) | undefined;
      if (signal?.aborted) onAbort();
      else if (signal) unfollow = follow(signal, { abort: onAbort });
      request.on('response', (responseHeaders) => {
        outcome = statusOf(responseHeaders, method, origin);
        const status = responseHeaders[':status'];
        if (outcome === undefined && status !== 200)
          failure ??= new Etcd3Error({
            code: 'ETCD3_BAD_RESPONSE',
            message: `etcd ${method} on ${origin}: HTTP status ${status} (not a gRPC server?)`,
            method,
            host: origin,
          });
      });
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        // The answer is complete, but Node emits 'close' only once the request body left: when etcd
        // answered before reading all of it (a message over its limit), end the stream now.
        if (request.writableLength > 0) {
          unsent = request.writableLength;
          request.destroy();
        }
      });
      request.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
        outcome = statusOf(trailers, method, origin) ?? outcome;
      });
      request.on('error', (error) => {
        failure ??= connectionError(error, method, origin);
      });
      request.once('close', () => {
        clearTimeout(timer);
        unfollow?.();
        this.#release(connection);
        if (failure) return reject(failure);
        if (outcome instanceof Etcd3Error) return reject(outcome);
        if (outcome !== 'ok' && unsent > 0 && request.rstCode === NGHTTP2_NO_ERROR) {
          // Closed without an answer before the request was sent in full: etcd never had it.
          return reject(
            new Etcd3Error({
              code: 'ETCD3_RESOURCE_EXHAUSTED',
              message: `etcd ${method} on ${origin}: the stream closed before the ${frame.length}-byte request was sent (too large to send)`,
              method,
              host: origin,
            }),
          );
        }
        if (outcome !== 'ok') {
          const code = request.rstCode;
          const error = Object.assign(
            new Error(`stream closed without a status (HTTP/2 code ${code ?? '?'})`),
            {
              code: code === NGHTTP2_REFUSED_STREAM ? 'ERR_HTTP2_GOAWAY_SESSION' : 'ETCD3_STREAM_RESET',
            },
          );
          return reject(connectionError(error, method, origin));
        }
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (body.length === 0) return resolve(body);
        if (body.length < 5 || body.length < 5 + body.readUInt32BE(1))
          return reject(
            new Etcd3Error({
              code: 'ETCD3_BAD_RESPONSE',
              message: `etcd ${method}: truncated message`,
              method,
              host: origin,
            }),
          );
        resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
      });
      request.end(frame);
    });
  }

  /**
   * Opens a bidirectional stream (Watch, LeaseKeepAlive). The connection is pinged while the
   * stream is open. Messages and the end arrive through `handlers`.
   */
  stream(
    origin: string,
    path: string,
    method: string,
    headers: CallHeaders,
    handlers: StreamHandlers,
  ): GrpcStream {
    if (this.#closed) throw closedError(method);
    let connection: Connection;
    let request: ClientHttp2Stream;
    try {
      connection = this.#connect(origin);
      request = connection.session.request({ ':method': 'POST', ':path': path, ...headers });
    } catch (error) {
      throw connectionError(error, method, origin);
    }
    this.#hold(connection);
    this.#keepPinging(connection);
    const reader = new FrameReader();
    let outcome: Etcd3Error | 'ok' | undefined;
    let failure: Etcd3Error | undefined;
    request.on('response', (responseHeaders) => {
      outcome = statusOf(responseHeaders, method, origin);
    });
    request.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (message) => handlers.message(message));
      } catch (error) {
        failure ??= new Etcd3Error({
          code: 'ETCD3_BAD_RESPONSE',
          message: `etcd ${method}: ${String(error)}`,
          method,
          host: origin,
          cause: error,
        });
        request.close(NGHTTP2_CANCEL);
      }
    });
    request.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
      outcome = statusOf(trailers, method, origin) ?? outcome;
    });
    request.on('error', (error) => {
      failure ??= connectionError(error, method, origin);
    });
    request.once('close', () => {
      this.#release(connection);
      if (failure) return handlers.close(failure);
      if (outcome instanceof Etcd3Error) return handlers.close(outcome);
      if (outcome === 'ok') return handlers.close(undefined);
      handlers.close(
        connectionError(new Error(`stream reset (HTTP/2 code ${request.rstCode ?? '?'})`), method, origin),
      );
    });
    return {
      write: (frame) => {
        if (!request.closed && !request.destroyed) request.write(frame);
      },
      cancel: () => {
        failure ??= new Etcd3Error({
          code: 'ETCD3_ABORTED',
          message: `etcd ${method} stream was canceled`,
          method,
          host: origin,
        });
        cancel(request);
      },
    };
  }

  /** Closes every connection; calls in flight fail. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#connections.values()) {
      clearInterval(connection.pinger);
      connection.session.destroy();
    }
    this.#connections.clear();
  }
}

/**
 * Ends a stream now: RST_STREAM (CANCEL), and torn down even when the other side closed it already
 * with part of the request still queued (Node emits 'close' only once the queue is empty, so such
 * a stream would otherwise never settle).
 */
function cancel(request: ClientHttp2Stream): void {
  request.close(NGHTTP2_CANCEL);
  request.destroy();
}

function closedError(method: string): Etcd3Error {
  return new Etcd3Error({ code: 'ETCD3_CLOSED', message: `etcd ${method}: the client is closed`, method });
}
