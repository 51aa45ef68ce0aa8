import {
  TLS_OPTIONS,
  optionProblem,
  type OptionTable,
  type OptionTableOf,
  type TlsOptions,
} from '@polykv/core';
import type { Dispatcher } from 'undici';
import { ConsulError } from './errors.js';

/** Options every Consul call accepts. */
export interface ConsulCallOptions {
  /** Aborts the call (`CONSUL_ABORTED`). */
  signal?: AbortSignal;
  /**
   * Milliseconds before the call fails with `CONSUL_TIMEOUT`. Blocking queries get `wait` plus a
   * margin on top, so a timeout never cuts a long poll short.
   * @defaultValue the client's `timeout` (10 000)
   */
  timeout?: number;
  /** Datacenter (`?dc=`). @defaultValue the client's `dc`, else the agent's own */
  dc?: string;
  /** ACL token, sent as the `X-Consul-Token` header, never in the URL. @defaultValue the client's `token` */
  token?: string;
  /** Namespace (`?ns=`, Consul Enterprise). */
  ns?: string;
  /** Admin partition (`?partition=`, Consul Enterprise). */
  partition?: string;
}

/** Options of read calls. */
export interface QueryOptions extends ConsulCallOptions {
  /** `?consistent`: read from the leader with a quorum check. */
  consistent?: boolean;
  /** `?stale`: any server may answer. */
  stale?: boolean;
  /** `?cached`: use the agent's cache where the endpoint supports it. */
  cached?: boolean;
  /** With `cached`: the oldest cached answer accepted, in ms (`Cache-Control: max-age`). */
  maxAge?: number;
  /** With `cached`: serve a stale cache entry this long (ms) when the servers fail (`stale-if-error`). */
  staleIfError?: number;
  /** Blocking query: wait until the endpoint's index passes this one (`?index=`). */
  index?: number;
  /** Blocking query: the longest wait, in ms or a Consul duration (`'30s'`). @defaultValue Consul's 5 min */
  wait?: number | string;
  /** Hash-based blocking on agent endpoints (`?hash=`). */
  hash?: string;
  /** A filter expression (`?filter=`). */
  filter?: string;
  /** Sort by round-trip time from this node (`?near=`; `_agent` for the agent's node). */
  near?: string;
  /** Only nodes with this metadata (`?node-meta=key:value`, repeated). */
  nodeMeta?: Record<string, string>;
}

/** Options of write calls. */
export type WriteOptions = ConsulCallOptions;

/** TLS settings for `https` agents (core's `TlsOptions`). */
export type ConsulTlsOptions = TlsOptions;

/** Options of {@link ConsulClient}. */
export interface ConsulClientOptions {
  /**
   * Agent address(es): `'127.0.0.1:8500'`, `'https://consul:8501'`, or a list. With several, the
   * client uses the first that answers and sticks to it; see `failover`.
   * @defaultValue `'127.0.0.1:8500'`
   */
  address?: string | string[];
  /** Use https for addresses given without a scheme. @defaultValue false */
  secure?: boolean;
  /**
   * CA, client certificate and verification settings for `https` agents (certificates are verified
   * unless turned off here). Ignored with a `dispatcher`, which brings its own.
   */
  tls?: ConsulTlsOptions;
  /**
   * HTTP basic auth, for agents behind a proxy that wants it: sent as an `Authorization: Basic`
   * header on every request.
   */
  basicAuth?: {
    /** The user name the proxy expects. */
    username: string;
    /** The password; error bodies that echo it (or the encoded pair) show `[redacted]` instead. */
    password: string;
  };
  /** Default ACL token. */
  token?: string;
  /** Default datacenter. */
  dc?: string;
  /**
   * Move on to the next address when an agent cannot be reached. Off by default because Consul
   * writes are not all safe to replay: only requests that never reached an agent, or that are
   * idempotent, move on (see the README).
   * @defaultValue false
   */
  failover?: boolean;
  /** Default timeout of a call, in ms. @defaultValue 10000 */
  timeout?: number;
  /** Defaults merged under every call's options (e.g. `{ stale: true }`). */
  defaults?: QueryOptions;
  /**
   * The undici dispatcher to send every request through (a MockAgent, a proxy). Without it, the client
   * owns two keep-alive pools: one for blocking queries (uncapped: a long poll holds its socket) and
   * one for everything else, capped at `connections` sockets per agent.
   * @defaultValue keep-alive Agents owned by the client
   */
  dispatcher?: Dispatcher;
  /**
   * The most sockets per agent for requests that are not blocking queries; more requests queue.
   * Consul 1.8 refuses connections past `http_max_conns_per_client` (200 per client IP). Ignored
   * with a `dispatcher`.
   * @defaultValue 64
   */
  connections?: number;
  /**
   * Share blocking KV reads (`client.watchKv`, the Store's watches): one poll per folder answers
   * every watcher under it (see the README). `false` gives each watch its own blocking query.
   * @defaultValue true
   */
  sharedWatches?: boolean | SharedWatchOptions;
}

/** Metadata of a read, from the response headers. */
export interface QueryMeta {
  /** `X-Consul-Index`: pass it as `index` to block until something changes. */
  index: number | undefined;
  /** `X-Consul-KnownLeader`. */
  knownLeader: boolean | undefined;
  /** `X-Consul-LastContact`, in ms. */
  lastContact: number | undefined;
  /** `X-Consul-Effective-Consistency` (catalog and health endpoints). */
  effectiveConsistency: string | undefined;
  /** With `cached`: whether the agent's cache answered (`X-Cache: HIT`). */
  cacheHit: boolean | undefined;
  /** With `cached`: the age of the cached answer in seconds (`Age`). */
  cacheAge: number | undefined;
  /** `X-Consul-ContentHash`, for hash-based blocking. */
  contentHash: string | undefined;
  /** How long the request took, in ms. */
  requestTime: number;
  /** The agent that answered. */
  agent: string;
}

/** What a read endpoint resolves: the data and the response's metadata. */
export interface ConsulResult<T> {
  /** The decoded answer; `null` for an absent object where the method's type allows it (`kv.get`'s 404). */
  data: T;
  /** The response's metadata: the index to block on, leader and cache facts, the agent that answered. */
  meta: QueryMeta;
}

/** Options of the client's shared KV watches (`ConsulClientOptions.sharedWatches`). */
export interface SharedWatchOptions {
  /**
   * The most folders polled at once; past it, a watch runs its own blocking query.
   * @defaultValue 8
   */
  maxPolls?: number;
  /**
   * A folder is polled once this many reads under it are in flight at the same time; fewer read on
   * their own. One watcher's blocking query on its key answers with that key alone, where a poll
   * lists the whole folder on every change: sharing pays off only from a few watchers on.
   * @defaultValue 4
   */
  minCallers?: number;
  /** How long a poll nobody waits on is kept (ms) before it stops. @defaultValue 1500 */
  linger?: number;
  /**
   * Rate limit of a poll (ms): two blocking queries of one poll start at least
   * `min(minInterval, listed keys / 10)` ms apart. Each answer lists the whole folder, so a hot large
   * folder is limited (1,000 keys: one listing per 100 ms at most) and a small one barely.
   * @defaultValue 100
   */
  minInterval?: number;
  /** How long each blocking query of a poll waits (ms). @defaultValue 60 000 */
  wait?: number;
  /** Deletions remembered per poll (older ones answer a caller at once). @defaultValue 1000 */
  deletionLog?: number;
}

const CALL_OPTIONS = {
  signal: 'signal',
  timeout: 'number',
  dc: 'string',
  token: 'string',
  ns: 'string',
  partition: 'string',
} satisfies OptionTableOf<ConsulCallOptions>;

/** Every option the request function reads (see {@link QueryOptions}), with its type. */
export const QUERY_OPTIONS = {
  ...CALL_OPTIONS,
  consistent: 'boolean',
  stale: 'boolean',
  cached: 'boolean',
  maxAge: 'number',
  staleIfError: 'number',
  index: 'number',
  wait: ['number', 'string'],
  hash: 'string',
  filter: 'string',
  near: 'string',
  nodeMeta: 'object',
} satisfies OptionTableOf<QueryOptions>;

const CLIENT_OPTIONS = {
  address: ['string', 'array'],
  secure: 'boolean',
  tls: 'object',
  basicAuth: 'object',
  token: 'string',
  dc: 'string',
  failover: 'boolean',
  timeout: 'number',
  defaults: 'object',
  dispatcher: 'object',
  connections: 'number',
  sharedWatches: ['boolean', 'object'],
} satisfies OptionTableOf<ConsulClientOptions>;

const NESTED: Record<string, OptionTable> = {
  tls: TLS_OPTIONS,
  basicAuth: { username: 'string', password: 'string' } satisfies OptionTableOf<
    NonNullable<ConsulClientOptions['basicAuth']>
  >,
  defaults: QUERY_OPTIONS,
  sharedWatches: {
    maxPolls: 'number',
    minCallers: 'number',
    linger: 'number',
    minInterval: 'number',
    wait: 'number',
    deletionLog: 'number',
  } satisfies OptionTableOf<SharedWatchOptions>,
};

/** Throws `CONSUL_INVALID_ARGUMENT` naming the option when `options` does not fit `table`. */
export function checkConsulOptions(options: unknown, table: OptionTable, what: string, prefix = ''): void {
  const problem = optionProblem(options, table, what, prefix);
  if (problem)
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', problem.message, { argument: problem.option });
}

/** Checks the client's options, nested ones included (`tls`, `basicAuth`, `defaults`, `sharedWatches`). */
export function checkClientOptions(options: ConsulClientOptions): void {
  const what = 'new ConsulClient';
  checkConsulOptions(options, CLIENT_OPTIONS, what);
  for (const [name, table] of Object.entries(NESTED)) {
    const value = (options as Record<string, unknown>)[name];
    if (typeof value === 'object' && value !== null) checkConsulOptions(value, table, what, `${name}.`);
  }
  const auth = options.basicAuth;
  if (auth && (typeof auth.username !== 'string' || typeof auth.password !== 'string'))
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', `${what}: basicAuth needs a username and a password`, {
      argument: 'basicAuth',
    });
}
