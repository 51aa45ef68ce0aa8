/**
 * The native client's errors. Match on `err.code` (stable), never on the message.
 *
 * - etcd's own JSON errors (`{ errorCode, message, cause, index }`) become an {@link EtcdError}
 *   with those four fields: `errorCode`, `etcdMessage`, `cause` (etcd's `cause`, usually the key)
 *   and `index`, plus `statusCode`, `method` and `host`.
 * - Transport failures become an {@link EtcdError} with code `ETCD_CONNECTION` (and `cause` the
 *   undici error); `uncertain` is true when the request may have reached the server.
 * - When every host failed, an {@link AllHostsFailedError} carries each host's cause.
 *
 * @module
 */

/** Stable error codes of the native client. */
export type EtcdErrorCode =
  | 'ETCD_KEY_NOT_FOUND'
  | 'ETCD_TEST_FAILED'
  | 'ETCD_NOT_A_FILE'
  | 'ETCD_NOT_A_DIRECTORY'
  | 'ETCD_NODE_EXISTS'
  | 'ETCD_ROOT_READ_ONLY'
  | 'ETCD_DIR_NOT_EMPTY'
  | 'ETCD_UNAUTHORIZED'
  | 'ETCD_INVALID_FIELD'
  | 'ETCD_RAFT'
  | 'ETCD_EVENT_INDEX_CLEARED'
  | 'ETCD_ERROR'
  | 'ETCD_HTTP_STATUS'
  | 'ETCD_BAD_RESPONSE'
  | 'ETCD_CONNECTION'
  | 'ETCD_TOO_MANY_REDIRECTS'
  | 'ETCD_UNAVAILABLE'
  | 'ETCD_TIMEOUT'
  | 'ETCD_ABORTED'
  | 'ETCD_CLOSED'
  | 'ETCD_INVALID_ARGUMENT';

/** etcd v2 error codes (`errorCode` in etcd's JSON errors). */
export const EtcdErrorCodes = Object.freeze({
  /** The key does not exist (HTTP 404). */
  KeyNotFound: 100,
  /** A `prevValue` or `prevIndex` condition did not hold (HTTP 412). */
  TestFailed: 101,
  /**
   * The key is a directory where a value is needed, e.g. a compare-and-swap, or a delete without
   * `dir` (HTTP 403).
   */
  NotFile: 102,
  /** A key on the path holds a value, not a directory: e.g. `a/b` when `a` has a value (HTTP 400). */
  NotDir: 104,
  /** The key exists already: a write with `prevExist=false` (create) found it (HTTP 412). */
  NodeExist: 105,
  /** The root `/` cannot be written or deleted (HTTP 400). */
  RootROnly: 107,
  /** A directory with children cannot be deleted without `recursive` (HTTP 403). */
  DirNotEmpty: 108,
  /** The request's credentials (none, wrong, or without the permission) may not do this (HTTP 401). */
  Unauthorized: 110,
  /** `prevValue` was given empty (HTTP 400). */
  PrevValueRequired: 201,
  /** `ttl` is not a number (HTTP 400). */
  TTLNaN: 202,
  /** `prevIndex` or `waitIndex` is not a number (HTTP 400). */
  IndexNaN: 203,
  /** A field has a value etcd does not accept, e.g. a boolean flag it cannot parse (HTTP 400). */
  InvalidField: 209,
  /** The request's form could not be read, e.g. a body over etcd's size limit (HTTP 400). */
  InvalidForm: 210,
  /**
   * etcd failed to carry out the request, e.g. the proposal timed out (HTTP 500); a write may
   * still be applied.
   */
  RaftInternal: 300,
  /** The cluster is electing a leader (HTTP 500); try again. */
  LeaderElect: 301,
  /** etcd cleared its watchers while recovering its store; watch again. */
  WatcherCleared: 400,
  /**
   * The `waitIndex` is older than etcd's history of the last 1,000 events (HTTP 400): read the key
   * again and wait from that read's `X-Etcd-Index + 1`.
   */
  EventIndexCleared: 401,
});

function codeOf(errorCode: number | undefined, statusCode: number | undefined): EtcdErrorCode {
  switch (errorCode) {
    case 100:
      return 'ETCD_KEY_NOT_FOUND';
    case 101:
      return 'ETCD_TEST_FAILED';
    case 102:
      return 'ETCD_NOT_A_FILE';
    case 104:
      return 'ETCD_NOT_A_DIRECTORY';
    case 105:
      return 'ETCD_NODE_EXISTS';
    case 107:
      return 'ETCD_ROOT_READ_ONLY';
    case 108:
      return 'ETCD_DIR_NOT_EMPTY';
    case 110:
      return 'ETCD_UNAUTHORIZED';
    case 401:
      return 'ETCD_EVENT_INDEX_CLEARED';
    default:
      if (errorCode !== undefined && errorCode >= 200 && errorCode < 300) return 'ETCD_INVALID_FIELD';
      if (errorCode !== undefined && errorCode >= 300 && errorCode < 400) return 'ETCD_RAFT';
      if (errorCode !== undefined) return 'ETCD_ERROR';
      if (statusCode === 401 || statusCode === 403) return 'ETCD_UNAUTHORIZED';
      return 'ETCD_HTTP_STATUS';
  }
}

const brand = Symbol.for('polykv.etcd.error');

/** What an {@link EtcdError} can carry. */
export interface EtcdErrorFields {
  /** The stable code; when absent, derived from `errorCode`, else from `statusCode`. */
  code?: EtcdErrorCode;
  /** The message; when absent, made from etcd's fields or the HTTP status and body. */
  message?: string;
  /** etcd's `errorCode`, from a JSON error answer (see {@link EtcdErrorCodes}). */
  errorCode?: number;
  /** etcd's `message`, from a JSON error answer. */
  etcdMessage?: string;
  /** etcd's `cause` field, or the underlying error of a transport failure. */
  cause?: unknown;
  /** etcd's `index` from a JSON error answer, else the answer's X-Etcd-Index. */
  index?: number;
  /** The HTTP status of the answer, when there was one. */
  statusCode?: number;
  /** The HTTP method of the call. */
  method?: string;
  /** The host (origin) that answered or failed. */
  host?: string;
  /** The request path (with query), without credentials. */
  path?: string;
  /** What is kept of a non-etcd error answer: capped, with the credentials already redacted. */
  body?: string;
  /** True when the request may have been applied although it failed. @defaultValue false */
  uncertain?: boolean;
  /** For `ETCD_INVALID_ARGUMENT`: the argument or option at fault. */
  argument?: string;
}

/** Every error of the native etcd client. */
export class EtcdError extends Error {
  /**
   * The stable code to match on (`ETCD_KEY_NOT_FOUND`, `ETCD_UNAVAILABLE`, ...): as given, or
   * derived from `errorCode`, else from the HTTP status.
   */
  readonly code: EtcdErrorCode;
  /** etcd's `errorCode` (100 key not found, 101 compare failed, ...), when etcd answered with one. */
  readonly errorCode: number | undefined;
  /** etcd's `message` ("Key not found"). */
  readonly etcdMessage: string | undefined;
  /** etcd's `index` (the store index when the error happened; X-Etcd-Index for other errors). */
  readonly index: number | undefined;
  /**
   * The HTTP status of the answer; `undefined` when there was none (a transport failure, a timeout,
   * an abort, every host failed).
   */
  readonly statusCode: number | undefined;
  /** The HTTP method of the call (`GET`, `PUT`, ...), when the error comes from a request. */
  readonly method: string | undefined;
  /** The host (origin) that answered or failed, e.g. `http://127.0.0.1:2379`. */
  readonly host: string | undefined;
  /** The request path (with query), without credentials. */
  readonly path: string | undefined;
  /**
   * The response body, for HTTP errors that were not etcd JSON: at most 4 KiB of it, with the
   * client's credentials replaced by `[redacted]` (a proxy may echo the request's headers).
   */
  readonly body: string | undefined;
  /**
   * True when the request may have been applied although it failed: the connection was lost (or
   * the server answered 5xx) after the request was sent. Such requests are never replayed for
   * non-idempotent calls.
   */
  readonly uncertain: boolean;
  /** For `ETCD_INVALID_ARGUMENT`: the argument or option at fault (`ttl`, `tls`, ...), when known. */
  readonly argument: string | undefined;

  /** An error from what is known of the failure; `code` and `message` are derived when absent. */
  constructor(fields: EtcdErrorFields) {
    const code = fields.code ?? codeOf(fields.errorCode, fields.statusCode);
    const message =
      fields.message ??
      (fields.errorCode !== undefined
        ? `etcd error ${fields.errorCode}: ${fields.etcdMessage ?? 'unknown'}${typeof fields.cause === 'string' ? ` (${fields.cause})` : ''}`
        : `etcd HTTP ${fields.statusCode ?? '?'}${fields.body ? `: ${fields.body.slice(0, 200)}` : ''}`);
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = code;
    this.errorCode = fields.errorCode;
    this.etcdMessage = fields.etcdMessage;
    this.index = fields.index;
    this.statusCode = fields.statusCode;
    this.method = fields.method;
    this.host = fields.host;
    this.path = fields.path;
    this.body = fields.body;
    this.uncertain = fields.uncertain ?? false;
    this.argument = fields.argument;
    Object.defineProperty(this, brand, { value: true });
  }

  /** The class's name (`EtcdError`, `AllHostsFailedError`), also for subclasses. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** True for any {@link EtcdError}, also from another copy of this package. */
export function isEtcdError(value: unknown): value is EtcdError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** One host's failure inside an {@link AllHostsFailedError}. */
export interface EtcdHostFailure {
  /** The host (origin) that failed, e.g. `http://127.0.0.1:2379`. */
  host: string;
  /** How it failed: an {@link EtcdError}, or the transport's own error (undici's). */
  error: unknown;
}

/** No host could serve the call. `errors` has each host's last cause. Code `ETCD_UNAVAILABLE`. */
export class AllHostsFailedError extends EtcdError {
  /** Each host's failure in the last round, in the order the hosts were tried. */
  readonly errors: readonly EtcdHostFailure[];
  /** Rounds over the host list before giving up (1 + retries). */
  readonly rounds: number;

  /**
   * Made by the host pool when every host failed in every round.
   * @param errors - each host's failure in the last round.
   * @param rounds - the rounds made over the host list (1 + retries).
   */
  constructor(errors: readonly EtcdHostFailure[], rounds: number, method?: string, path?: string) {
    const detail = errors
      .map(({ host, error }) => `${host}: ${error instanceof Error ? error.message : String(error)}`)
      .join('; ');
    super({
      code: 'ETCD_UNAVAILABLE',
      message: `all etcd hosts failed (${rounds} round${rounds === 1 ? '' : 's'}): ${detail}`,
      cause: errors.at(-1)?.error,
      ...(method ? { method } : {}),
      ...(path ? { path } : {}),
    });
    this.errors = errors;
    this.rounds = rounds;
  }
}
