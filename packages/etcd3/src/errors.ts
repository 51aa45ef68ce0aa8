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
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
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
  code: Etcd3ErrorCode;
  message: string;
  cause?: unknown;
  /** The gRPC status of etcd's answer. */
  grpcStatus?: number;
  /** etcd's message (`etcdserver: requested lease not found`). */
  etcdMessage?: string;
  /** The RPC, e.g. `KV/Range`. */
  method?: string;
  host?: string;
  uncertain?: boolean;
  compactRevision?: number;
}

/** Every error of the native etcd v3 client. */
export class Etcd3Error extends Error {
  readonly code: Etcd3ErrorCode;
  readonly grpcStatus: number | undefined;
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
  host: string;
  error: unknown;
}

/** No host could serve the call. `errors` has each host's last cause. Code `ETCD3_UNAVAILABLE`. */
export class Etcd3AllHostsFailedError extends Etcd3Error {
  readonly errors: readonly Etcd3HostFailure[];
  /** Rounds over the host list before giving up (1 + retries). */
  readonly rounds: number;

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
