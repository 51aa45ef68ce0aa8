import { abortSignal, extend, type AnySignal } from '@polykv/core';
import type { EtcdEmptyWait, EtcdResult, EtcdWaitOptions, KeysApi } from '../api/keys.js';
import { EtcdError, isEtcdError } from '../errors.js';

/** `EtcdWaitOptions`, whose signal may be a `StopSignal` where the source says it takes one. */
export type WaitOptions = Omit<EtcdWaitOptions, 'signal'> & { signal?: AnySignal | undefined };

/** Options of {@link WaitSource.read}. */
export interface WatchReadOptions {
  /** Read the whole subtree, not only the key (one level of a directory). @defaultValue false */
  recursive?: boolean;
  /** A `StopSignal` only through a source with `stopSignals`, or `client.keys` (made real here). */
  signal?: AnySignal | undefined;
}

/** What a watch long-polls through: `client.keys` itself, or the client's shared polls. */
export interface WaitSource {
  /**
   * Exactly the semantics of `KeysApi.wait`. The signal must be an `AbortSignal` unless
   * `stopSignals` is set.
   */
  wait<V = string>(key: string, options?: WaitOptions): Promise<EtcdResult<V> | EtcdEmptyWait>;
  /** `wait` (and `read`) also take a `StopSignal` (cheaper per watcher than an `AbortSignal`). */
  readonly stopSignals?: true;
  /**
   * A watch's quorum read (baseline, re-read after a 401): the semantics of
   * `KeysApi.get(key, { recursive, quorum: true, signal })`, batched with its neighbours (see
   * `SharedReads`). Absent on `client.keys`: use {@link watchRead}.
   */
  read?<V = string>(key: string, options?: WatchReadOptions): Promise<EtcdResult<V>>;
}

/**
 * A watch's quorum read of `key`, through `waits.read` when it has one (coalesced), else
 * `keys.get`. One attempt per host (`maxRetries: 0`): the watch loop's backoff is the only retry,
 * so a failure reaches the watcher (`disconnected`) at the first failed attempt.
 */
export function watchRead<V = string>(
  waits: WaitSource,
  keys: KeysApi,
  key: string,
  options: WatchReadOptions,
): Promise<EtcdResult<V>> {
  if (waits.read)
    return waits.read<V>(
      key,
      waits.stopSignals || options.signal === undefined
        ? options
        : extend(options, { signal: abortSignal(options.signal) }),
    );
  return keys.get<V>(key, {
    recursive: options.recursive ?? false,
    quorum: true,
    maxRetries: 0,
    ...(options.signal ? { signal: abortSignal(options.signal) } : {}),
  });
}

/** Errors that no retry of a watch can fix: a bad request or refused credentials. */
export function isTerminalWatchError(error: unknown): boolean {
  return (
    isEtcdError(error) &&
    ((error.statusCode !== undefined && error.statusCode < 500) ||
      error.code === 'ETCD_INVALID_ARGUMENT' ||
      error.code === 'ETCD_CLOSED')
  );
}

/** `/a//b/` → `a/b`: the form keys are compared in (etcd's node keys are `/a/b`). */
export function normalizeKey(key: string): string {
  // Most keys need at most their slashes at either end cut (etcd's node keys start with one):
  // a slice, not an array and a new string (once per watcher armed and per event,
  // bench/heap-s6.mjs --allocations).
  let start = 0;
  let end = key.length;
  while (start < end && key.charCodeAt(start) === 47) start++;
  while (end > start && key.charCodeAt(end - 1) === 47) end--;
  const trimmed = start === 0 && end === key.length ? key : key.slice(start, end);
  if (!trimmed.includes('//')) return trimmed;
  return trimmed
    .split('/')
    .filter((segment) => segment !== '')
    .join('/');
}

/**
 * The rejection of a watch read whose signal aborted: `path` is the key as the caller gave it, or
 * the request path the read would have had (the message names it without its query).
 */
export function abortedError(path: string, signal: AnySignal): EtcdError {
  return new EtcdError({
    code: 'ETCD_ABORTED',
    message: `etcd GET ${path.split('?')[0]} was aborted`,
    cause: signal.reason,
    method: 'GET',
    path,
  });
}
