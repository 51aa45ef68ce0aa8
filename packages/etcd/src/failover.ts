import { HostPool, classify as classifyConnection, type FailureKind, type RunOptions } from '@polykv/core';
import { AllHostsFailedError, EtcdError, isEtcdError } from './errors.js';

/**
 * The v2 client's failover: core's {@link HostPool} (the rules live there) with what etcd v2's
 * errors mean for it.
 */
export function createHostPool(
  hosts: readonly string[],
  options: { deterministicOrder: boolean; random: () => number; backoffMs: number; maxBackoffMs: number },
): HostPool {
  if (hosts.length === 0)
    throw new EtcdError({ code: 'ETCD_INVALID_ARGUMENT', message: 'no etcd host given' });
  return new HostPool(hosts, {
    deterministicOrder: options.deterministicOrder,
    random: options.random,
    backoffMs: options.backoffMs,
    maxBackoffMs: options.maxBackoffMs,
    classify,
    uncertain,
    exhausted: (failures, rounds, call) => new AllHostsFailedError(failures, rounds, call.method, call.path),
  });
}

/**
 * `answer`: etcd answered with a final error (4xx). `not-sent`: the request never left (core's
 * connection classification, or a redirect loop: no member took it). `sent`: it may have reached
 * the server (a 5xx, a broken or hung connection, a malformed answer).
 */
export function classify(error: unknown): FailureKind {
  if (isEtcdError(error)) {
    if (error.statusCode !== undefined) return error.statusCode >= 500 ? 'sent' : 'answer';
    if (error.code === 'ETCD_BAD_RESPONSE') return 'sent';
    return error.code === 'ETCD_TOO_MANY_REDIRECTS' ? 'not-sent' : 'sent';
  }
  return classifyConnection(error);
}

function uncertain(error: unknown, host: string, { method, path }: RunOptions): EtcdError {
  if (isEtcdError(error) && error.statusCode !== undefined) {
    // A 5xx answer to a write: etcd may still commit the proposal (e.g. "request timed out").
    return new EtcdError({
      code: error.code,
      message: `${error.message} (the request may have been applied; it was not replayed)`,
      ...(error.errorCode !== undefined ? { errorCode: error.errorCode } : {}),
      ...(error.etcdMessage !== undefined ? { etcdMessage: error.etcdMessage } : {}),
      ...(error.index !== undefined ? { index: error.index } : {}),
      statusCode: error.statusCode,
      cause: error,
      method,
      host,
      path,
      uncertain: true,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EtcdError({
    code: 'ETCD_CONNECTION',
    message: `connection to ${host} failed after the ${method} request was sent: ${message} (it may have been applied; it was not replayed)`,
    cause: error,
    method,
    host,
    path,
    uncertain: true,
  });
}
