import {
  AbortError,
  BackendError,
  ClosedError,
  CompareFailedError,
  InvalidArgumentError,
  KeyExistsError,
  KeyNotFoundError,
  KeyTypeError,
  PermissionDeniedError,
  TimeoutError,
  UnavailableError,
  ValueTooLargeError,
  isPolykvError,
  type PolykvError,
} from '@polykv/core';
import { AllHostsFailedError, EtcdError, isEtcdError } from '../errors.js';

/** With prevValue/prevIndex, a path under a value (104) is a missing key, as on memory://. */
export function missingUnderValue(error: unknown, conditional: boolean): unknown {
  if (conditional && isEtcdError(error) && error.code === 'ETCD_NOT_A_DIRECTORY')
    return new EtcdError({ code: 'ETCD_KEY_NOT_FOUND', message: error.message, cause: error });
  return error;
}

/** etcd error → the Store's error, with the native one as `cause`. */
export function toStoreError(error: unknown, key: string): PolykvError {
  if (isPolykvError(error)) return error;
  if (!isEtcdError(error))
    return new BackendError(`etcd call failed for ${JSON.stringify(key)}`, { cause: error, key });
  const e: EtcdError = error;
  const options = { cause: e };
  switch (e.code) {
    case 'ETCD_KEY_NOT_FOUND':
      return new KeyNotFoundError(key, options);
    case 'ETCD_TEST_FAILED':
      return new CompareFailedError(key, {
        ...options,
        message: `compare failed: ${key} (${e.etcdMessage ?? ''}: ${typeof e.cause === 'string' ? e.cause : ''})`,
      });
    case 'ETCD_NOT_A_FILE':
    case 'ETCD_DIR_NOT_EMPTY':
      return new KeyTypeError('IS_A_DIRECTORY', key, options);
    case 'ETCD_NOT_A_DIRECTORY':
      return new KeyTypeError('NOT_A_DIRECTORY', key, options);
    case 'ETCD_NODE_EXISTS':
      return new KeyExistsError(key, options);
    case 'ETCD_UNAUTHORIZED':
      return new PermissionDeniedError(`etcd refused the credentials for ${JSON.stringify(key)}`, {
        ...options,
        key,
      });
    case 'ETCD_TIMEOUT':
      return new TimeoutError(e.message, { ...options, key });
    case 'ETCD_ABORTED':
      return new AbortError(undefined, { cause: e.cause ?? e, key });
    case 'ETCD_CLOSED':
      return new ClosedError(undefined, { ...options, key });
    case 'ETCD_INVALID_ARGUMENT':
      return new InvalidArgumentError(e.argument ?? 'argument', e.message, { ...options, key });
    case 'ETCD_INVALID_FIELD':
      // etcd reports a request body over its limit as errorCode 210 "http: POST too large".
      if (/too large/i.test(`${e.etcdMessage ?? ''} ${e.message}`)) {
        return new ValueTooLargeError(`etcd refused the value of ${JSON.stringify(key)}: ${e.message}`, {
          ...options,
          key,
        });
      }
      return new InvalidArgumentError('options', e.message, { ...options, key });
    case 'ETCD_UNAVAILABLE':
      return new UnavailableError(e.message, {
        ...options,
        key,
        hosts:
          e instanceof AllHostsFailedError
            ? e.errors.map(({ host, error: cause }) => ({ host, error: cause }))
            : [],
      });
    case 'ETCD_RAFT':
    case 'ETCD_CONNECTION':
    case 'ETCD_TOO_MANY_REDIRECTS':
      return new UnavailableError(e.message, {
        ...options,
        key,
        ...(e.host ? { hosts: [{ host: e.host, error: e }] } : {}),
      });
    default:
      if (e.statusCode === 413) return new ValueTooLargeError(e.message, { ...options, key });
      if (e.statusCode !== undefined && e.statusCode >= 500)
        return new UnavailableError(e.message, {
          ...options,
          key,
          ...(e.host ? { hosts: [{ host: e.host, error: e }] } : {}),
        });
      return new BackendError(e.message, { ...options, key });
  }
}
