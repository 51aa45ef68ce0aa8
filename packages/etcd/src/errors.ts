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
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootROnly: 107,
  DirNotEmpty: 108,
  Unauthorized: 110,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
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
  code?: EtcdErrorCode;
  message?: string;
  errorCode?: number;
  etcdMessage?: string;
  /** etcd's `cause` field, or the underlying error of a transport failure. */
  cause?: unknown;
  index?: number;
  statusCode?: number;
  method?: string;
  host?: string;
  path?: string;
  body?: string;
  uncertain?: boolean;
  /** For `ETCD_INVALID_ARGUMENT`: the argument or option at fault. */
  argument?: string;
}

/** Every error of the native etcd client. */
export class EtcdError extends Error {
  readonly code: EtcdErrorCode;
  /** etcd's `errorCode` (100 key not found, 101 compare failed, ...), when etcd answered with one. */
  readonly errorCode: number | undefined;
  /** etcd's `message` ("Key not found"). */
  readonly etcdMessage: string | undefined;
  /** etcd's `index` (the store index when the error happened; X-Etcd-Index for other errors). */
  readonly index: number | undefined;
  readonly statusCode: number | undefined;
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
  host: string;
  error: unknown;
}

/** No host could serve the call. `errors` has each host's last cause. Code `ETCD_UNAVAILABLE`. */
export class AllHostsFailedError extends EtcdError {
  readonly errors: readonly EtcdHostFailure[];
  /** Rounds over the host list before giving up (1 + retries). */
  readonly rounds: number;

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
