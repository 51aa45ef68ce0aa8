import {
  AbortError,
  BackendError,
  ClosedError,
  CompareFailedError,
  InvalidArgumentError,
  isPolykvError,
  KeyExistsError,
  KeyHeldError,
  KeyNotFoundError,
  KeyTypeError,
  LockLostError,
  NotSupportedError,
  PermissionDeniedError,
  PolykvError,
  TimeoutError,
  UnavailableError,
  UnrepresentableError,
  ValueTooLargeError,
  type PolykvErrorCode,
  type UnrepresentableWhat,
} from '../errors.js';

/**
 * Errors as plain data, to cross from a worker thread (see `blocking-worker.ts`): a structured clone
 * of an `Error` keeps its message but not its class or fields, and the caller matches on `code` and
 * reads `hosts`, `argument`, `what`, ... So a polykv error is sent as its code, message, key and
 * fields, and made again as the same class on the calling thread; its `cause` comes back as a plain
 * `Error` with the cause's message (and `code` when it had one).
 */
export interface TransferredError {
  /** The polykv error's code; `BACKEND_ERROR` for any other error. */
  code: PolykvErrorCode;
  /** The error's message; for an error that is not polykv's, `<name>: <message>`. */
  message: string;
  /** The key the error is about, when it has one. */
  key?: string;
  /** The subclass's own fields (`hosts`, `argument`, `timeoutMs`, `what`, `size`, ...). */
  fields: Record<string, unknown>;
  /**
   * The error's `cause` (for an error that is not polykv's, that error itself) as its name, message
   * and string `code`; it comes back as a plain `Error`.
   */
  cause?: TransferredCause;
}

interface TransferredCause {
  name: string;
  message: string;
  code?: string;
}

const FIELDS = ['argument', 'timeoutMs', 'what', 'size', 'limit', 'session', 'sessionName', 'node'];

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** A field that holds text, or `fallback`. */
function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function causeOf(value: unknown): TransferredCause | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Error)) return { name: 'Error', message: describe(value) };
  const code = (value as { code?: unknown }).code;
  return { name: value.name, message: value.message, ...(typeof code === 'string' ? { code } : {}) };
}

function reviveCause(cause: TransferredCause | undefined): Error | undefined {
  if (!cause) return undefined;
  const error = new Error(cause.message);
  Object.defineProperty(error, 'name', { value: cause.name });
  if (cause.code !== undefined) Object.assign(error, { code: cause.code });
  return error;
}

/** Any error as data: a polykv error as itself, anything else as a `BACKEND_ERROR` naming it. */
export function transferError(error: unknown): TransferredError {
  if (!isPolykvError(error)) {
    const cause = causeOf(error)!;
    return { code: 'BACKEND_ERROR', message: `${cause.name}: ${cause.message}`, fields: {}, cause };
  }
  const fields: Record<string, unknown> = {};
  const record = error as unknown as Record<string, unknown>;
  for (const name of FIELDS) if (record[name] !== undefined) fields[name] = record[name];
  if (error instanceof UnavailableError || Array.isArray(record.hosts)) {
    fields.hosts = (record.hosts as { host: string; error: unknown }[]).map(({ host, error: failure }) => ({
      host,
      error: causeOf(failure),
    }));
  }
  const cause = causeOf(error.cause);
  return {
    code: error.code,
    message: error.message,
    ...(error.key !== undefined ? { key: error.key } : {}),
    fields,
    ...(cause ? { cause } : {}),
  };
}

/** The error {@link transferError} describes, as the same class with the same fields. */
export function reviveError(data: TransferredError): PolykvError {
  const { code, message, key, fields } = data;
  const options = { ...(key !== undefined ? { key } : {}), cause: reviveCause(data.cause) };
  const keyed = { cause: options.cause, message };
  switch (code) {
    case 'NOT_FOUND':
      return key === undefined ? new PolykvError(code, message, options) : new KeyNotFoundError(key, keyed);
    case 'COMPARE_FAILED':
      return key === undefined ? new PolykvError(code, message, options) : new CompareFailedError(key, keyed);
    case 'ALREADY_EXISTS':
      return key === undefined ? new PolykvError(code, message, options) : new KeyExistsError(key, keyed);
    case 'NOT_A_DIRECTORY':
    case 'IS_A_DIRECTORY':
      return key === undefined ? new PolykvError(code, message, options) : new KeyTypeError(code, key, keyed);
    case 'LOCK_LOST':
      return key === undefined ? new PolykvError(code, message, options) : new LockLostError(key, keyed);
    case 'HELD':
      return key === undefined
        ? new PolykvError(code, message, options)
        : new KeyHeldError(
            key,
            {
              session: text(fields.session, ''),
              sessionName: text(fields.sessionName, ''),
              node: text(fields.node, ''),
            },
            keyed,
          );
    case 'TIMEOUT':
      return new TimeoutError(message, {
        ...options,
        ...(typeof fields.timeoutMs === 'number' ? { timeoutMs: fields.timeoutMs } : {}),
      });
    case 'ABORTED':
      return new AbortError(message, options);
    case 'UNAVAILABLE': {
      const hosts = ((fields.hosts as { host: string; error?: TransferredCause }[] | undefined) ?? []).map(
        ({ host, error }) => ({ host, error: reviveCause(error) }),
      );
      return new UnavailableError(message, { ...options, hosts });
    }
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(text(fields.argument, 'argument'), message, options);
    case 'VALUE_TOO_LARGE':
      return new ValueTooLargeError(message, {
        ...options,
        ...(typeof fields.size === 'number' ? { size: fields.size } : {}),
        ...(typeof fields.limit === 'number' ? { limit: fields.limit } : {}),
      });
    case 'PERMISSION_DENIED':
      return new PermissionDeniedError(message, options);
    case 'NOT_SUPPORTED':
      return new NotSupportedError(message, options);
    case 'CLOSED':
      return new ClosedError(message, options);
    case 'UNREPRESENTABLE':
      return new UnrepresentableError(message, { ...options, what: fields.what as UnrepresentableWhat });
    case 'BACKEND_ERROR':
      return new BackendError(message, options);
    default:
      return new PolykvError(code, message, options);
  }
}
