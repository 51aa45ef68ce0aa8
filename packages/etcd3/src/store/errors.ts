import {
  AbortError,
  BackendError,
  ClosedError,
  PermissionDeniedError,
  TimeoutError,
  UnavailableError,
  ValueTooLargeError,
  isPolykvError,
  type Deadline,
} from '@polykv/core';
import { isEtcd3Error, type Etcd3AllHostsFailedError } from '../errors.js';

/**
 * A native error as the Store's error (the native one stays the `cause`). `bound` is the call's
 * deadline: its signal firing decides between `TIMEOUT` and `ABORTED` whatever the client made of it.
 */
export function toStoreError(error: unknown, key: string | undefined, bound?: Deadline): Error {
  if (isPolykvError(error)) return error;
  if (bound?.signal?.aborted) return bound.error(error);
  const at = key === undefined ? {} : { key };
  if (!isEtcd3Error(error)) return new BackendError(`etcd3: ${String(error)}`, { cause: error, ...at });
  const message = `etcd3: ${error.message}`;
  switch (error.code) {
    case 'ETCD3_PERMISSION_DENIED':
    case 'ETCD3_AUTH_FAILED':
    case 'ETCD3_INVALID_TOKEN':
      return new PermissionDeniedError(message, { cause: error, ...at });
    case 'ETCD3_UNAVAILABLE': {
      const hosts = (error as Partial<Etcd3AllHostsFailedError>).errors;
      return new UnavailableError(message, { cause: error, ...at, ...(hosts ? { hosts } : {}) });
    }
    case 'ETCD3_CONNECTION':
    case 'ETCD3_DEADLINE_EXCEEDED':
    case 'ETCD3_BAD_RESPONSE':
      return new UnavailableError(message, { cause: error, ...at });
    case 'ETCD3_TIMEOUT':
      return new TimeoutError(message, { cause: error, ...at });
    case 'ETCD3_ABORTED':
      return new AbortError(message, { cause: error.cause ?? error, ...at });
    case 'ETCD3_CLOSED':
      return new ClosedError(message, { cause: error, ...at });
    case 'ETCD3_INVALID_ARGUMENT':
      if (/request is too large/.test(error.etcdMessage ?? ''))
        return new ValueTooLargeError(`${message} (etcd's --max-request-bytes, 1.5 MiB by default)`, {
          cause: error,
          ...at,
        });
      return new BackendError(message, { cause: error, ...at });
    default:
      return new BackendError(message, { cause: error, ...at });
  }
}
