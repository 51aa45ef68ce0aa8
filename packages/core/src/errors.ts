/**
 * The Store error vocabulary. Every error a Store method rejects with is a {@link PolykvError}
 * with a stable `code`; match on `err.code`, never on the message or on `instanceof` across
 * package copies. Backends keep the native error (etcd's JSON error, Consul's HTTP status) as
 * `cause`.
 *
 * @module
 */

/** Every stable error code a Store can reject with. */
export type PolykvErrorCode =
  | 'NOT_FOUND'
  | 'COMPARE_FAILED'
  | 'ALREADY_EXISTS'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'LOCK_LOST'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'UNAVAILABLE'
  | 'INVALID_ARGUMENT'
  | 'VALUE_TOO_LARGE'
  | 'PERMISSION_DENIED'
  | 'NOT_SUPPORTED'
  | 'CLOSED'
  | 'BACKEND_ERROR'
  | 'UNREPRESENTABLE'
  | 'HELD';

const brand = Symbol.for('polykv.error');

/** Base class of every polykv error. `code` is stable across releases. */
export class PolykvError extends Error {
  /** What went wrong, stable across releases: match on it, not on the message or the class. */
  readonly code: PolykvErrorCode;
  /** The key the failed call was about, when there is one (without the store's prefix). */
  readonly key: string | undefined;

  /** An error with `code`; `options.cause` is the native error behind it, `options.key` the key. */
  constructor(code: PolykvErrorCode, message: string, options?: { cause?: unknown; key?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options?.key;
    Object.defineProperty(this, brand, { value: true });
  }

  /** The class's name (`KeyNotFoundError`...), so that stack traces and `console.log` show it. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** True for any polykv error, also one thrown by another copy of this package. */
export function isPolykvError(value: unknown): value is PolykvError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** A conditional operation (CAS, compare-and-delete, update) found no key. Code `NOT_FOUND`. */
export class KeyNotFoundError extends PolykvError {
  /** `options.message` replaces the default `key not found: <key>`. */
  constructor(key: string, options?: { cause?: unknown; message?: string }) {
    super('NOT_FOUND', options?.message ?? `key not found: ${key}`, { ...options, key });
  }
}

/** A compare-and-swap or compare-and-delete found a different value or index. Code `COMPARE_FAILED`. */
export class CompareFailedError extends PolykvError {
  /** `options.message` replaces the default `compare failed: <key> was modified`. */
  constructor(key: string, options?: { cause?: unknown; message?: string }) {
    super('COMPARE_FAILED', options?.message ?? `compare failed: ${key} was modified`, { ...options, key });
  }
}

/** A create (`prevExist: false`) found the key already there. Code `ALREADY_EXISTS`. */
export class KeyExistsError extends PolykvError {
  /** `options.message` replaces the default `key already exists: <key>`. */
  constructor(key: string, options?: { cause?: unknown; message?: string }) {
    super('ALREADY_EXISTS', options?.message ?? `key already exists: ${key}`, { ...options, key });
  }
}

/**
 * The path has the wrong node type for the call: code `NOT_A_DIRECTORY` (a value stands where a
 * directory is needed, e.g. setting `a/b` when `a` holds a value) or `IS_A_DIRECTORY` (a value
 * operation on a directory, e.g. setting `a` when `a/` has children).
 */
export class KeyTypeError extends PolykvError {
  /** `options.message` replaces the default `not a directory: <key>` or `is a directory: <key>`. */
  constructor(
    code: 'NOT_A_DIRECTORY' | 'IS_A_DIRECTORY',
    key: string,
    options?: { cause?: unknown; message?: string },
  ) {
    const what = code === 'NOT_A_DIRECTORY' ? 'not a directory' : 'is a directory';
    super(code, options?.message ?? `${what}: ${key}`, { ...options, key });
  }
}

/** A held lock was lost (session invalidated, TTL refresh failed or came too late). Code `LOCK_LOST`. */
export class LockLostError extends PolykvError {
  /** `key` is the lock's key; `options.message` replaces the default `lock lost: <key>`. */
  constructor(key: string, options?: { cause?: unknown; message?: string }) {
    super('LOCK_LOST', options?.message ?? `lock lost: ${key}`, { ...options, key });
  }
}

/** The call's `timeout` (or the store's default) ran out. Code `TIMEOUT`. */
export class TimeoutError extends PolykvError {
  /** The timeout that ran out, in ms; `undefined` when not carried (some backend and lock-wait timeouts). */
  readonly timeoutMs: number | undefined;
  /** A `TIMEOUT` error; `options.timeoutMs` is the timeout that ran out. */
  constructor(message: string, options?: { cause?: unknown; key?: string; timeoutMs?: number }) {
    super('TIMEOUT', message, options);
    this.timeoutMs = options?.timeoutMs;
  }
}

/** The caller's `signal` was aborted. `cause` is `signal.reason`. Code `ABORTED`. */
export class AbortError extends PolykvError {
  /** An `ABORTED` error; pass the signal's `reason` as `options.cause`. */
  constructor(message = 'the operation was aborted', options?: { cause?: unknown; key?: string }) {
    super('ABORTED', message, options);
  }
}

/** One host's failure inside an {@link UnavailableError}. */
export interface HostFailure {
  /** The host as the client knows it, e.g. `http://127.0.0.1:2379`. Never carries credentials. */
  host: string;
  /** Why that host failed: the client's own error (an etcd or Consul error, a socket error). */
  error: unknown;
}

/**
 * No server could serve the call: connection refused or reset, 5xx, no leader. When several hosts
 * were tried, `hosts` has each host's cause. Code `UNAVAILABLE`.
 */
export class UnavailableError extends PolykvError {
  /** Each host tried and its failure, in the order tried; empty when the failure was not per host. */
  readonly hosts: readonly HostFailure[];
  /** An `UNAVAILABLE` error; `options.hosts` lists the hosts tried, each with its cause. */
  constructor(message: string, options?: { cause?: unknown; key?: string; hosts?: readonly HostFailure[] }) {
    super('UNAVAILABLE', message, options);
    this.hosts = options?.hosts ?? [];
  }
}

/**
 * A bad key, value, TTL, URL or option. `argument` names what was wrong; the message names the bad
 * part and never echoes a password or token. Code `INVALID_ARGUMENT`.
 */
export class InvalidArgumentError extends PolykvError {
  /** The argument or option at fault, by name: `'key'`, `'ttl'`, `'url'`, `'prefix'`, `'options'`... */
  readonly argument: string;
  /** An `INVALID_ARGUMENT` error about `argument` (its name, as the caller wrote it). */
  constructor(argument: string, message: string, options?: { cause?: unknown; key?: string }) {
    super('INVALID_ARGUMENT', message, options);
    this.argument = argument;
  }
}

/** The value is larger than the backend accepts (Consul: 512 KiB). Nothing was written. Code `VALUE_TOO_LARGE`. */
export class ValueTooLargeError extends PolykvError {
  /** The value's size in bytes, when polykv measured it before sending (not when the server refused it). */
  readonly size: number | undefined;
  /** The backend's limit in bytes, when known (Consul: 524288); `undefined` otherwise. */
  readonly limit: number | undefined;
  /** A `VALUE_TOO_LARGE` error; `options.size` and `options.limit` in bytes, when known. */
  constructor(message: string, options?: { cause?: unknown; key?: string; size?: number; limit?: number }) {
    super('VALUE_TOO_LARGE', message, options);
    this.size = options?.size;
    this.limit = options?.limit;
  }
}

/** The server refused the credentials or token (HTTP 401/403). Code `PERMISSION_DENIED`. */
export class PermissionDeniedError extends PolykvError {
  /** A `PERMISSION_DENIED` error; `options.cause` is the server's refusal. */
  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super('PERMISSION_DENIED', message, options);
  }
}

/** The backend cannot do this (see the README's support matrix). Code `NOT_SUPPORTED`. */
export class NotSupportedError extends PolykvError {
  /** A `NOT_SUPPORTED` error; the message names what the backend cannot do. */
  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super('NOT_SUPPORTED', message, options);
  }
}

/** The store (or watcher, or lock) was closed before or during the call. Code `CLOSED`. */
export class ClosedError extends PolykvError {
  /** A `CLOSED` error; the message defaults to `the store is closed`. */
  constructor(message = 'the store is closed', options?: { cause?: unknown; key?: string }) {
    super('CLOSED', message, options);
  }
}

/**
 * The backend answered with something that has no portable meaning: an unexpected status, a
 * malformed body, an unknown error code. `cause` holds the native error. Code `BACKEND_ERROR`.
 */
export class BackendError extends PolykvError {
  /** A `BACKEND_ERROR`; `options.cause` is the native error or answer. */
  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super('BACKEND_ERROR', message, options);
  }
}

/** What part of the data an {@link UnrepresentableError} is about. */
export type UnrepresentableWhat = 'value' | 'key' | 'flags' | 'ttl' | 'dir';

/**
 * Data that cannot be held or read faithfully, refused rather than changed: bytes that are not
 * UTF-8 read with a text codec (never replaced by U+FFFD) or written to etcd v2 without its base64
 * opt-in, flags for a backend without flags, a TTL the target cannot keep at all, a key the
 * target's model cannot hold. `what` says which part. Nothing was written. Code `UNREPRESENTABLE`.
 */
export class UnrepresentableError extends PolykvError {
  /** Which part was refused: the value, the key, its flags, its TTL, or a directory. */
  readonly what: UnrepresentableWhat;
  /** An `UNREPRESENTABLE` error; `options.what` says which part of the data it is about. */
  constructor(message: string, options: { what: UnrepresentableWhat; key?: string; cause?: unknown }) {
    super('UNREPRESENTABLE', message, options);
    this.what = options.what;
  }
}

/** Who holds a key: the Consul session, as `/v1/session/info` reports it. */
export interface KeyHolder {
  /** The session's ID. */
  session: string;
  /** The session's name (`''` when it has none or is gone). */
  sessionName: string;
  /** The node the session belongs to (`''` when unknown). */
  node: string;
}

/**
 * A TTL write (or a lock on a user-named key) found the key held by a session polykv did not
 * create: polykv never takes over, releases, renews or destroys such a session. The message says
 * who holds it. Nothing was written. Code `HELD`.
 */
export class KeyHeldError extends PolykvError {
  /** The ID of the Consul session that holds the key. */
  readonly session: string;
  /** That session's name (`''` when it has none or is gone). */
  readonly sessionName: string;
  /** The node that session belongs to (`''` when unknown). */
  readonly node: string;
  /** A `HELD` error about `key`; `holder` says who holds it, and the default message names it. */
  constructor(key: string, holder: KeyHolder, options?: { cause?: unknown; message?: string }) {
    const name = holder.sessionName === '' ? '' : ` "${holder.sessionName}"`;
    const node = holder.node === '' ? '' : ` on node ${holder.node}`;
    super(
      'HELD',
      options?.message ??
        `${key} is held by session${name} (${holder.session})${node}, which polykv did not create; ` +
          'a TTL write would take the key from it',
      { ...options, key },
    );
    this.session = holder.session;
    this.sessionName = holder.sessionName;
    this.node = holder.node;
  }
}
