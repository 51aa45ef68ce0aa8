/**
 * The native v3 client's errors. Match on `err.code` (stable), never on the message.
 *
 * - etcd's answers are gRPC statuses with a message (`etcdserver: requested lease not found`):
 *   an {@link Etcd3Error} with `grpcStatus`, `etcdMessage` and a code from the table below;
 * - transport failures are `ETCD3_CONNECTION` (`cause`: Node's error); `uncertain` is true when the
 *   request may have reached etcd;
 * - when every host failed, an {@link Etcd3AllHostsFailedError} carries each host's cause.
 *
 * @module
 */

/** Stable error codes of the native v3 client. */
export type Etcd3ErrorCode =
  /** A watch or read asked for a revision that was compacted away; see `compactRevision`. */
  | 'ETCD3_COMPACTED'
  /** A read asked for a revision the store has not reached. */
  | 'ETCD3_FUTURE_REVISION'
  | 'ETCD3_LEASE_NOT_FOUND'
  /** Wrong user name or password. */
  | 'ETCD3_AUTH_FAILED'
  /** The auth token is not (or no longer) valid; the client re-authenticates by itself once. */
  | 'ETCD3_INVALID_TOKEN'
  | 'ETCD3_PERMISSION_DENIED'
  /** The etcd backend is full (alarm NOSPACE); only reads and deletes work. */
  | 'ETCD3_NO_SPACE'
  /** Other gRPC statuses, by name. */
  | 'ETCD3_INVALID_ARGUMENT'
  | 'ETCD3_NOT_FOUND'
  | 'ETCD3_ALREADY_EXISTS'
  | 'ETCD3_FAILED_PRECONDITION'
  | 'ETCD3_OUT_OF_RANGE'
  | 'ETCD3_RESOURCE_EXHAUSTED'
  | 'ETCD3_DEADLINE_EXCEEDED'
  | 'ETCD3_GRPC_STATUS'
  /** The server stopped a watcher for another reason than compaction (see `etcdMessage`). */
  | 'ETCD3_WATCH_CANCELED'
  /** A response that does not parse. */
  | 'ETCD3_BAD_RESPONSE'
  | 'ETCD3_CONNECTION'
  /** etcd is unavailable: no leader, an election, every host down. */
  | 'ETCD3_UNAVAILABLE'
  | 'ETCD3_TIMEOUT'
  | 'ETCD3_ABORTED'
  | 'ETCD3_CLOSED';

/** gRPC status codes. */
export const GrpcStatus = Object.freeze({
  /** Success; no error carries it. */
  OK: 0,
  /** The call was canceled, usually by the client. */
  CANCELLED: 1,
  /** An error with no better status. */
  UNKNOWN: 2,
  /**
   * The request is wrong whatever the cluster's state: an empty key, a value with `ignoreValue`, too
   * many operations in a transaction, a request over `--max-request-bytes`, a wrong password.
   */
  INVALID_ARGUMENT: 3,
  /** The call's deadline passed; it may still have been applied. */
  DEADLINE_EXCEEDED: 4,
  /** What the call names does not exist: a lease, a member. */
  NOT_FOUND: 5,
  /** What the call creates exists already (etcd reports most such cases as `FAILED_PRECONDITION`). */
  ALREADY_EXISTS: 6,
  /** The user's roles do not allow the operation on that key or range. */
  PERMISSION_DENIED: 7,
  /** Out of a resource: the backend's space quota (alarm NOSPACE), or too many requests in flight. */
  RESOURCE_EXHAUSTED: 8,
  /**
   * The cluster's state does not allow it: a user or role that exists already or does not exist, a
   * lease that exists already, auth not enabled, a member that is not the leader.
   */
  FAILED_PRECONDITION: 9,
  /** The operation was aborted, typically by a conflicting one. */
  ABORTED: 10,
  /** Past what etcd keeps or allows: a compacted or future revision, a lease TTL too large. */
  OUT_OF_RANGE: 11,
  /** The server does not implement the RPC (e.g. an etcd older than the call needs). */
  UNIMPLEMENTED: 12,
  /** The server or its gRPC layer failed internally. */
  INTERNAL: 13,
  /**
   * Cannot be served now: no leader, an election, a stopped member, a proposal that timed out (it may
   * still be applied). Idempotent calls move on to another host.
   */
  UNAVAILABLE: 14,
  /** etcd detected corrupt data (alarm CORRUPT). */
  DATA_LOSS: 15,
  /** The auth token is invalid or expired (`ETCD3_INVALID_TOKEN`); the client authenticates again once. */
  UNAUTHENTICATED: 16,
});

/** etcd's status messages that have a code of their own (etcd's `rpctypes`). */
const BY_MESSAGE: readonly [RegExp, Etcd3ErrorCode][] = [
  [/required revision has been compacted/, 'ETCD3_COMPACTED'],
  [/required revision is a future revision/, 'ETCD3_FUTURE_REVISION'],
  [/requested lease not found/, 'ETCD3_LEASE_NOT_FOUND'],
  [/authentication failed/, 'ETCD3_AUTH_FAILED'],
  [/invalid auth token/, 'ETCD3_INVALID_TOKEN'],
  [/permission denied/, 'ETCD3_PERMISSION_DENIED'],
  // Auth is on and the call carried no token: no credentials were given to the client.
  [/user name is empty/, 'ETCD3_PERMISSION_DENIED'],
  [/database space exceeded/, 'ETCD3_NO_SPACE'],
];

const BY_STATUS: Record<number, Etcd3ErrorCode> = {
  [GrpcStatus.INVALID_ARGUMENT]: 'ETCD3_INVALID_ARGUMENT',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'ETCD3_DEADLINE_EXCEEDED',
  [GrpcStatus.NOT_FOUND]: 'ETCD3_NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ETCD3_ALREADY_EXISTS',
  [GrpcStatus.PERMISSION_DENIED]: 'ETCD3_PERMISSION_DENIED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'ETCD3_RESOURCE_EXHAUSTED',
  [GrpcStatus.FAILED_PRECONDITION]: 'ETCD3_FAILED_PRECONDITION',
  [GrpcStatus.OUT_OF_RANGE]: 'ETCD3_OUT_OF_RANGE',
  [GrpcStatus.UNAVAILABLE]: 'ETCD3_UNAVAILABLE',
  [GrpcStatus.UNAUTHENTICATED]: 'ETCD3_INVALID_TOKEN',
};

/** The stable code of a gRPC status answer. */
export function codeOfStatus(status: number, message: string): Etcd3ErrorCode {
  for (const [pattern, code] of BY_MESSAGE) if (pattern.test(message)) return code;
  return BY_STATUS[status] ?? 'ETCD3_GRPC_STATUS';
}

const brand = Symbol.for('polykv.etcd3.error');

/** What an {@link Etcd3Error} can carry. */
export interface Etcd3ErrorFields {
  /** The stable code (see {@link Etcd3ErrorCode}). */
  code: Etcd3ErrorCode;
  /** The error's message, for people. */
  message: string;
  /** The underlying error (Node's, or an attempt's), set as the standard `Error.cause`. */
  cause?: unknown;
  /** The gRPC status of etcd's answer. */
  grpcStatus?: number;
  /** etcd's message (`etcdserver: requested lease not found`). */
  etcdMessage?: string;
  /** The RPC, e.g. `KV/Range`. */
  method?: string;
  /** The host that answered or failed, e.g. `http://127.0.0.1:2379`. */
  host?: string;
  /** True when the request may have been applied although the call failed. @defaultValue false */
  uncertain?: boolean;
  /** For `ETCD3_COMPACTED` from a watch: the oldest revision etcd still has. */
  compactRevision?: number;
}

/** Every error of the native etcd v3 client. */
export class Etcd3Error extends Error {
  /** The stable code to match on (see {@link Etcd3ErrorCode}). */
  readonly code: Etcd3ErrorCode;
  /**
   * The gRPC status of etcd's answer (see {@link GrpcStatus}); `undefined` when no status came: a
   * connection failure, a timeout, an abort.
   */
  readonly grpcStatus: number | undefined;
  /** etcd's own message (`etcdserver: requested lease not found`); `undefined` when etcd did not answer. */
  readonly etcdMessage: string | undefined;
  /** The RPC (`KV/Range`, `Watch/Watch`, ...). */
  readonly method: string | undefined;
  /** The host that answered or failed, e.g. `http://127.0.0.1:2379`. */
  readonly host: string | undefined;
  /**
   * True when the request may have been applied although the call failed: the connection broke, or
   * etcd answered "unavailable", after the request was sent. Such calls are not replayed unless
   * they are idempotent.
   */
  readonly uncertain: boolean;
  /** For `ETCD3_COMPACTED` from a watch: the oldest revision etcd still has. */
  readonly compactRevision: number | undefined;

  /** Builds the error from its fields; `cause` becomes the standard `Error.cause`. */
  constructor(fields: Etcd3ErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.grpcStatus = fields.grpcStatus;
    this.etcdMessage = fields.etcdMessage;
    this.method = fields.method;
    this.host = fields.host;
    this.uncertain = fields.uncertain ?? false;
    this.compactRevision = fields.compactRevision;
    Object.defineProperty(this, brand, { value: true });
  }

  /** The class's name: `'Etcd3Error'` or `'Etcd3AllHostsFailedError'`. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** True for any {@link Etcd3Error}, also from another copy of this package. */
export function isEtcd3Error(value: unknown): value is Etcd3Error {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** etcd's answer as an error: the gRPC status and message of a call. */
export function statusError(status: number, message: string, method: string, host: string): Etcd3Error {
  return new Etcd3Error({
    code: codeOfStatus(status, message),
    message: `etcd ${method} on ${host}: ${message || `gRPC status ${status}`}`,
    grpcStatus: status,
    etcdMessage: message,
    method,
    host,
  });
}

/** One host's failure inside an {@link Etcd3AllHostsFailedError}. */
export interface Etcd3HostFailure {
  /** The host, e.g. `http://127.0.0.1:2379`. */
  host: string;
  /** What failed there, usually an {@link Etcd3Error}. */
  error: unknown;
}

/** No host could serve the call. `errors` has each host's last cause. Code `ETCD3_UNAVAILABLE`. */
export class Etcd3AllHostsFailedError extends Etcd3Error {
  /** Each host's failure in the last round, in the order the hosts were tried. */
  readonly errors: readonly Etcd3HostFailure[];
  /** Rounds over the host list before giving up (1 + retries). */
  readonly rounds: number;

  /**
   * Made by the client when failover ran out of hosts and retries.
   * @param errors each host's failure in the last round.
   * @param rounds rounds made over the host list (1 + retries).
   * @param method the RPC, e.g. `KV/Range`.
   */
  constructor(errors: readonly Etcd3HostFailure[], rounds: number, method: string) {
    const detail = errors
      .map(({ host, error }) => `${host}: ${error instanceof Error ? error.message : String(error)}`)
      .join('; ');
    super({
      code: 'ETCD3_UNAVAILABLE',
      message: `all etcd hosts failed ${method} (${rounds} round${rounds === 1 ? '' : 's'}): ${detail}`,
      cause: errors.at(-1)?.error,
      method,
    });
    this.errors = errors;
    this.rounds = rounds;
  }
}
