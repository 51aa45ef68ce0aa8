import {
  TLS_OPTIONS,
  optionProblem,
  type OptionTable,
  type OptionTableOf,
  type TlsOptions,
} from '@polykv/core';
import type { Dispatcher } from 'undici';
import { EtcdError } from './errors.js';

/** Options every public method of the native client ends with. */
export interface EtcdCallOptions {
  /** Aborts the call: it rejects with an `ETCD_ABORTED` error whose `cause` is `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Milliseconds for the whole call, failover and retries included; then `ETCD_TIMEOUT`. For a
   * long poll (`wait`), it bounds the whole wait; the client's default never applies to waits.
   */
  timeout?: number;
  /**
   * Extra rounds over the host list (with capped, jittered backoff) when every host failed with a
   * retryable error, e.g. during a leader election.
   * @defaultValue the client's `maxRetries`
   */
  maxRetries?: number;
}

/** TLS settings (etcds:// or https:// hosts): core's `TlsOptions`. */
export type EtcdTlsOptions = TlsOptions;

/** Options of the machine refresh; see {@link EtcdClientOptions.refresh}. */
export interface EtcdRefreshOptions {
  /** @defaultValue 30000 */
  intervalMs?: number;
}

/** Options of {@link EtcdClient}. Resolved once, in the constructor. */
export interface EtcdClientOptions {
  /**
   * `'h1:2379'`, `'http://h1:2379'`, a list of either, or a discovery URL (`https://discovery.etcd.io/<token>`,
   * or any etcd key URL holding a discovery registry: see `EtcdClient.fromDiscovery`).
   * @defaultValue `'127.0.0.1:2379'`
   */
  hosts?: string | string[];
  /** The undici dispatcher to send requests with; the client then owns no sockets. */
  dispatcher?: Dispatcher;
  /**
   * TLS settings (CA, client certificate and key, verification) for `https://` hosts. When given, a
   * host written without a scheme is `https://`; an explicit `http://` stays plain HTTP.
   */
  tls?: EtcdTlsOptions;
  /** Basic auth for etcd's v2 auth. */
  auth?: {
    /** The etcd user, sent as HTTP basic auth with every request. */
    username: string;
    /** That user's password. What an error keeps of a response has it (and the header) redacted. */
    password: string;
  };
  /**
   * Default milliseconds for a whole call (failover included). Never applies to `wait` calls.
   * Without it, each attempt is still bounded by `attemptTimeout` and the retries by `maxRetries`
   * (no timer is armed per call: the hot path stays as cheap as a raw undici request).
   * @defaultValue none
   */
  timeout?: number;
  /**
   * Milliseconds one attempt on one host may take before the client treats the host as hung
   * (for a wait: until the server has registered the watch and sent headers).
   * @defaultValue 10000
   */
  attemptTimeout?: number;
  /** @defaultValue 3000 */
  connectTimeout?: number;
  /**
   * Extra rounds over every host when all failed with a retryable error (leader election,
   * restarts). Backoff is exponential with full jitter, capped at `maxBackoffMs`.
   * @defaultValue 3
   */
  maxRetries?: number;
  /** @defaultValue 100 */
  backoffMs?: number;
  /** @defaultValue 2000 */
  maxBackoffMs?: number;
  /**
   * Try hosts in the order given instead of shuffling them once. Useful in tests.
   * @defaultValue false
   */
  deterministicOrder?: boolean;
  /** Source of randomness for the shuffle and the jitter. @defaultValue Math.random */
  random?: () => number;
  /**
   * Periodically replace the host list with the cluster's members (`/v2/members`, falling back to
   * `/v2/machines`), keeping the seed hosts, adding a host only once it answers. Off by default
   * (an unroutable advertised URL must never replace a reachable seed silently).
   * @defaultValue false
   */
  refresh?: boolean | EtcdRefreshOptions;
  /**
   * Values are any JSON value: `set` stringifies, reads parse (text that is not JSON stays text).
   * @defaultValue false
   */
  json?: boolean;
  /**
   * Sockets per host for ordinary requests (reads, writes: a burst queues instead of opening
   * hundreds of sockets that then idle). Long polls (`wait=true`) have their own sockets, outside
   * this cap, so that watches never starve reads. Ignored with an injected `dispatcher`.
   * @defaultValue 64
   */
  connections?: number;
  /**
   * Watches (`watcher()`, the Store's `watch`) share long polls: waits on keys below one directory
   * share one recursive poll of that directory (at most `maxPolls` polls; past that, private
   * polls). `false`: every watch has its own poll. See the README's Watches section.
   * @defaultValue true
   */
  sharedWatches?: boolean | EtcdSharedWatchOptions;
}

/** Options of shared watch polls; see {@link EtcdClientOptions.sharedWatches}. */
export interface EtcdSharedWatchOptions {
  /** Shared polls (sockets) at most; further waits poll on their own. @defaultValue 8 */
  maxPolls?: number;
  /** Milliseconds a poll without watchers goes on before it stops. @defaultValue 1500 */
  lingerMs?: number;
  /**
   * Watchers starting together (in the same tick) on at least this many keys of one directory
   * read their baseline with one quorum read of the directory; `0` turns it off. @defaultValue 8
   */
  batchReads?: number;
}

/** The resolved, frozen form of {@link EtcdClientOptions}. */
export interface ResolvedEtcdOptions {
  /**
   * The seed hosts as given, normalized to origins (`http://h1:2379`), without duplicates. The
   * list the client tries now is `EtcdClient.hosts`.
   */
  readonly hosts: readonly string[];
  /** Default milliseconds for a whole call; `0`: none. Never applies to waits. */
  readonly timeout: number;
  /** Milliseconds one attempt on one host may take (for a wait: until etcd sent the headers). */
  readonly attemptTimeout: number;
  /** Milliseconds to open a connection to a host (unused with an injected `dispatcher`). */
  readonly connectTimeout: number;
  /** Extra rounds over the hosts when every host failed retryably; a call's own `maxRetries` wins. */
  readonly maxRetries: number;
  /**
   * Milliseconds of the first backoff between rounds over the hosts, and between a watch's failed
   * polls; it doubles up to `maxBackoffMs`, with full jitter.
   */
  readonly backoffMs: number;
  /** The cap of that backoff, in milliseconds. */
  readonly maxBackoffMs: number;
  /** Hosts are tried in the order given instead of shuffled once. */
  readonly deterministicOrder: boolean;
  /** Source of randomness for the shuffle and the jitter. */
  readonly random: () => number;
  /** Milliseconds between machine refreshes; `undefined`: the refresh is off. */
  readonly refreshMs: number | undefined;
  /** Values are JSON: stringified on write, parsed on read. */
  readonly json: boolean;
  /**
   * The `Authorization` header sent with every request (`Basic ...`, from `auth`); `undefined`
   * without `auth`. It holds the credentials: never log it.
   */
  readonly authHeader: string | undefined;
  /** What an error must never show of a response (the credentials, as sent and as echoed). */
  readonly secrets: readonly string[];
  /**
   * Sockets per host for ordinary requests; long polls have their own, outside this cap. Unused
   * with an injected `dispatcher`.
   */
  readonly connections: number;
  /** `undefined`: sharing is off. */
  readonly sharedWatches: Readonly<EtcdSharedWatchOptions> | undefined;
}

export const DEFAULTS = Object.freeze({
  host: '127.0.0.1:2379',
  timeout: 0,
  attemptTimeout: 10_000,
  connectTimeout: 3000,
  maxRetries: 3,
  backoffMs: 100,
  maxBackoffMs: 2000,
  refreshMs: 30_000,
  connections: 64,
});

/** `h1:2379` → `http://h1:2379`; keeps `https://`; drops a trailing slash. */
export function normalizeHost(host: string, tls = false): string {
  if (typeof host !== 'string') {
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: `an etcd host must be a string, got ${typeof host}`,
    });
  }
  let text = host.trim();
  if (!/^https?:\/\//i.test(text)) text = `${tls ? 'https' : 'http'}://${text}`;
  while (text.endsWith('/')) text = text.slice(0, -1);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: `etcd host ${JSON.stringify(host.replace(/^([a-z]+:\/\/)?[^@/]*@/i, '$1***@'))} is not a host or URL`,
      cause,
    });
  }
  if (url.username || url.password)
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: 'put credentials in the auth option, not in a host',
    });
  if (url.pathname !== '/' || url.search !== '') {
    // A path is a discovery URL (etcdjs takes one as its host): silently dropping it would point
    // the client at the discovery service itself.
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: `etcd host ${url.origin}${url.pathname} has a path: for a discovery URL use EtcdClient.discover(url)`,
    });
  }
  return `${url.protocol}//${url.host}`;
}

export function resolveOptions(options: EtcdClientOptions, hosts: readonly string[]): ResolvedEtcdOptions {
  const refresh = options.refresh;
  return Object.freeze({
    hosts: Object.freeze([...hosts]),
    timeout: options.timeout ?? DEFAULTS.timeout,
    attemptTimeout: options.attemptTimeout ?? DEFAULTS.attemptTimeout,
    connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
    maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
    backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULTS.maxBackoffMs,
    deterministicOrder: options.deterministicOrder ?? false,
    random: options.random ?? Math.random,
    refreshMs: refresh
      ? typeof refresh === 'object'
        ? (refresh.intervalMs ?? DEFAULTS.refreshMs)
        : DEFAULTS.refreshMs
      : undefined,
    json: options.json ?? false,
    connections: options.connections ?? DEFAULTS.connections,
    sharedWatches:
      options.sharedWatches === false
        ? undefined
        : Object.freeze(
            options.sharedWatches === true || options.sharedWatches === undefined
              ? {}
              : { ...options.sharedWatches },
          ),
    authHeader: options.auth
      ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
      : undefined,
    secrets: Object.freeze(
      options.auth
        ? [
            Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64'),
            `${options.auth.username}:${options.auth.password}`,
            options.auth.password,
          ].filter((secret) => secret !== '')
        : [],
    ),
  });
}

/** The options of every call (see {@link EtcdCallOptions}). */
export const CALL_OPTIONS = {
  signal: 'signal',
  timeout: 'number',
  maxRetries: 'number',
} satisfies OptionTableOf<EtcdCallOptions>;

/** Calls that may name the member to ask (`stats`, `cluster`). */
export const HOST_CALL_OPTIONS = { ...CALL_OPTIONS, host: 'string' } satisfies OptionTable;

const AUTH_OPTIONS = { username: 'string', password: 'string' } satisfies OptionTableOf<
  NonNullable<EtcdClientOptions['auth']>
>;

const CLIENT_OPTIONS = {
  hosts: ['string', 'array'],
  dispatcher: 'object',
  tls: 'object',
  auth: 'object',
  timeout: 'number',
  attemptTimeout: 'number',
  connectTimeout: 'number',
  maxRetries: 'number',
  backoffMs: 'number',
  maxBackoffMs: 'number',
  deterministicOrder: 'boolean',
  random: 'function',
  refresh: ['boolean', 'object'],
  json: 'boolean',
  connections: 'number',
  sharedWatches: ['boolean', 'object'],
} satisfies OptionTableOf<EtcdClientOptions>;

/** The keys of {@link EtcdClientOptions}, with their types (the etcd Store's options include them). */
export const ETCD_CLIENT_OPTIONS = CLIENT_OPTIONS;

const NESTED: Record<string, OptionTable> = {
  tls: TLS_OPTIONS,
  auth: AUTH_OPTIONS,
  refresh: { intervalMs: 'number' } satisfies OptionTableOf<EtcdRefreshOptions>,
  sharedWatches: {
    maxPolls: 'number',
    lingerMs: 'number',
    batchReads: 'number',
  } satisfies OptionTableOf<EtcdSharedWatchOptions>,
};

/** Throws `ETCD_INVALID_ARGUMENT` naming the option when `options` does not fit `table`. */
export function checkEtcdOptions(options: unknown, table: OptionTable, what: string, prefix = ''): void {
  const problem = optionProblem(options, table, what, prefix);
  if (problem) {
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: problem.message,
      argument: problem.option,
    });
  }
}

/** A call's options bag, checked against `table` (default: {@link CALL_OPTIONS}). */
export function callOptions<T>(options: T, what: string, table: OptionTable = CALL_OPTIONS): T {
  checkEtcdOptions(options, table, what);
  return options;
}

/** Checks the client's options, nested ones included (`tls`, `auth`, `refresh`, `sharedWatches`). */
export function checkClientOptions(options: EtcdClientOptions, what = 'new EtcdClient'): void {
  checkEtcdOptions(options, ETCD_CLIENT_OPTIONS, what);
  for (const [name, table] of Object.entries(NESTED)) {
    const value = (options as Record<string, unknown>)[name];
    if (typeof value === 'object' && value !== null) checkEtcdOptions(value, table, what, `${name}.`);
  }
  if (
    options.auth &&
    (typeof options.auth.username !== 'string' || typeof options.auth.password !== 'string')
  )
    throw new EtcdError({
      code: 'ETCD_INVALID_ARGUMENT',
      message: `${what}: auth needs a username and a password (strings)`,
      argument: 'auth',
    });
}
