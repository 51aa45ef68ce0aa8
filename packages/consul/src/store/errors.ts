import {
  AbortError,
  BackendError,
  ClosedError,
  InvalidArgumentError,
  PermissionDeniedError,
  TimeoutError,
  UnavailableError,
  ValueTooLargeError,
  isPolykvError,
} from '@polykv/core';
import type { TxnOpError } from '../api/txn.js';
import { KV_MAX_VALUE_SIZE } from '../codec.js';
import { isConsulError, type ConsulError } from '../errors.js';

// 500s of a cluster in transition: an election, or a node whose serfHealth check the leader has not
// registered yet (a fresh cluster refuses sessions on it for a moment: TTL writes and locks).
const UNAVAILABLE_BODY =
  /no cluster leader|rpc error|leadership lost|raft|not leader|timed out|EOF|connection|missing check 'serfHealth'/i;

/** A native error as the Store's error (the native one as `cause`); polykv errors pass as they are. */
export function toStoreError(error: unknown, key: string): Error {
  if (isPolykvError(error)) return error;
  if (!isConsulError(error)) return new BackendError(`consul: ${String(error)}`, { cause: error, key });
  const options = { cause: error, key };
  switch (error.code) {
    case 'CONSUL_PERMISSION_DENIED':
      return new PermissionDeniedError(`consul: ${error.message}`, options);
    case 'CONSUL_TOO_LARGE':
      return new ValueTooLargeError(`consul: ${error.message}`, { ...options, limit: KV_MAX_VALUE_SIZE });
    case 'CONSUL_UNAVAILABLE':
      return new UnavailableError(`consul: ${error.message}`, {
        ...options,
        hosts: error.causes.map((failure) => ({ host: failure.agent, error: failure.error })),
      });
    case 'CONSUL_TIMEOUT':
      return new TimeoutError(`consul: ${error.message}`, options);
    case 'CONSUL_ABORTED':
      return new AbortError(`consul: ${error.message}`, options);
    case 'CONSUL_INVALID_ARGUMENT':
      return new InvalidArgumentError(error.argument ?? 'argument', `consul: ${error.message}`, options);
    case 'CONSUL_CLOSED':
      return new ClosedError(`consul: ${error.message}`, options);
    default:
      // During an election the servers answer 500 "No cluster leader" or "rpc error ...".
      if (unavailableStatus(error)) return new UnavailableError(`consul: ${error.message}`, options);
      return new BackendError(`consul: ${error.message}`, options);
  }
}

function unavailableStatus(error: ConsulError): boolean {
  return (
    error.statusCode !== undefined &&
    error.statusCode >= 500 &&
    (error.statusCode !== 500 || UNAVAILABLE_BODY.test(error.body ?? ''))
  );
}

/** A transaction that failed for a reason the caller's condition does not explain. */
export function txnFailure(key: string, errors: TxnOpError[]): Error {
  return new BackendError(`consul: transaction failed: ${errors.map((error) => error.What).join('; ')}`, {
    key,
  });
}
