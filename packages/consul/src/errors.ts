/** Stable codes of {@link ConsulError}. Match on `err.code`. */
export type ConsulErrorCode =
  /** The agent answered with a status the endpoint does not accept (see `statusCode`, `body`). */
  | 'CONSUL_HTTP_STATUS'
  /** 401/403: the token is missing, unknown (`ACL not found`) or lacks the permission. */
  | 'CONSUL_PERMISSION_DENIED'
  /** 413, or the client's own 512 KiB check: the value or transaction is too large. */
  | 'CONSUL_TOO_LARGE'
  /** No agent could be reached (connection refused/reset); `causes` has each agent's error. */
  | 'CONSUL_UNAVAILABLE'
  /** The agent's answer could not be read (truncated, not JSON, wrong shape). */
  | 'CONSUL_BAD_RESPONSE'
  /** The call's timeout ran out. */
  | 'CONSUL_TIMEOUT'
  /** The caller's signal was aborted. */
  | 'CONSUL_ABORTED'
  /** The client refused the arguments before sending anything. */
  | 'CONSUL_INVALID_ARGUMENT'
  /** The client was closed. */
  | 'CONSUL_CLOSED';

const brand = Symbol.for('polykv.consul.error');

/** One agent's failure inside a `CONSUL_UNAVAILABLE` error. */
export interface AgentFailure {
  /** The agent tried, as an origin (`http://127.0.0.1:8500`). */
  agent: string;
  /** What sending to it threw (a connection error from undici: `ECONNREFUSED`, a reset, ...). */
  error: unknown;
}

/**
 * Every error the Consul client rejects with. HTTP errors carry `statusCode`, `method`, `path`
 * (never the token: it travels only in the `X-Consul-Token` header) and the agent's plain-text
 * `body`.
 */
export class ConsulError extends Error {
  /** What went wrong, stable across versions: match on this, not on the message. */
  readonly code: ConsulErrorCode;
  /**
   * The HTTP status of the answer at fault; `undefined` when there is none (no agent reached, a
   * timeout, an abort, a refused argument).
   */
  readonly statusCode: number | undefined;
  /** The HTTP method of the call (`GET`, `PUT`, ...), when the error concerns one. */
  readonly method: string | undefined;
  /** The request path without the query string. */
  readonly path: string | undefined;
  /**
   * The response body (Consul's errors are plain text): at most 4 KiB of it, with the call's token
   * and the client's basic-auth credentials replaced by `[redacted]`.
   */
  readonly body: string | undefined;
  /** For `CONSUL_UNAVAILABLE`: what each agent tried said. */
  readonly causes: readonly AgentFailure[];
  /** For `CONSUL_INVALID_ARGUMENT`: the argument or option at fault (`token`, `tls`, ...), when known. */
  readonly argument: string | undefined;

  /**
   * Made by the client; callers build one only to imitate the client (tests, wrappers).
   * @param details The call's particulars, each copied to the field of its name (`cause` to `Error.cause`).
   */
  constructor(
    code: ConsulErrorCode,
    message: string,
    details: {
      statusCode?: number;
      method?: string;
      path?: string;
      body?: string;
      cause?: unknown;
      causes?: readonly AgentFailure[];
      argument?: string;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.statusCode = details.statusCode;
    this.method = details.method;
    this.path = details.path;
    this.body = details.body;
    this.causes = details.causes ?? [];
    this.argument = details.argument;
    Object.defineProperty(this, brand, { value: true });
  }

  /** Always `'ConsulError'` (also at the head of the stack trace). */
  override get name(): string {
    return 'ConsulError';
  }
}

/** True for a {@link ConsulError}, also from another copy of this package. */
export function isConsulError(value: unknown): value is ConsulError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
