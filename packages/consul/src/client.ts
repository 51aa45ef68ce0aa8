import { Acl } from './api/acl.js';
import { Agent } from './api/agent.js';
import { Catalog } from './api/catalog.js';
import { Config } from './api/config.js';
import { Connect } from './api/connect.js';
import { Coordinate } from './api/coordinate.js';
import { DiscoveryChain } from './api/discovery-chain.js';
import { Event } from './api/event.js';
import { Health } from './api/health.js';
import { Internal } from './api/internal.js';
import { Kv, type KvPair } from './api/kv.js';
import { Operator } from './api/operator.js';
import { Query } from './api/query.js';
import { Session } from './api/session.js';
import { Snapshot } from './api/snapshot.js';
import { Status } from './api/status.js';
import { Txn } from './api/txn.js';
import { ConsulLock, type ConsulLockOptions } from './lock.js';
import type { SplitDispatcher } from '@polykv/core';
import { consulDispatcher } from './dispatchers.js';
import {
  checkClientOptions,
  type ConsulClientOptions,
  type ConsulResult,
  type SharedWatchOptions,
} from './options.js';
import { Transport } from './request.js';
import type { RequestSpec, ResponseOf } from './wire.js';
import { ConsulSemaphore, type ConsulSemaphoreOptions } from './semaphore.js';
import { ConsulWatch, type ConsulWatchOptions } from './watch/consul-watch.js';
import { SharedKvReads } from './watch/shared-polls.js';
import type { WatchMethod } from './watch/source.js';

/** A single key's read: its pair or `null`. */
function firstPair({ data, meta }: ConsulResult<KvPair[]>): ConsulResult<KvPair | null> {
  return { data: data[0] ?? null, meta };
}

/** Options of {@link ConsulClient.watchKv}: the watch loop's options plus `recursive`. */
export interface KvWatchOptions extends ConsulWatchOptions {
  /**
   * Watch the key and everything under the folder `key/` (a key ending in `/`: every key starting
   * with it). The watch then delivers the pairs as a sorted array.
   * @defaultValue false
   */
  recursive?: boolean;
}

/**
 * A client for the whole Consul HTTP API. Each endpoint group is a property (`client.kv`,
 * `client.catalog`, ...) whose methods map one-to-one onto Consul's routes; every method ends with
 * an options bag (`dc`, `token`, `signal`, `timeout`, and for reads `consistent`/`stale`/`cached`,
 * `index`/`wait`, `filter`, ...).
 *
 * ```ts
 * const consul = new ConsulClient({ address: '127.0.0.1:8500', token });
 * const { data, meta } = await consul.kv.get('app/config');
 * await consul.close();
 * ```
 */
export class ConsulClient {
  /** `/v1/acl`: bootstrap, login, and the tokens, policies, roles, auth methods and binding rules. */
  readonly acl: Acl;
  /** `/v1/agent`: the local agent, its members, services, checks and Connect endpoints. */
  readonly agent: Agent;
  /** `/v1/catalog`: the cluster-wide register of nodes, services and checks. */
  readonly catalog: Catalog;
  /** `/v1/config`: config entries (service and proxy defaults, routers, splitters, resolvers, gateways). */
  readonly config: Config;
  /** `/v1/connect`: the Connect CA and intentions. */
  readonly connect: Connect;
  /** `/v1/coordinate`: the network coordinates of nodes and servers. */
  readonly coordinate: Coordinate;
  /** `/v1/discovery-chain`: the compiled routing of a service. */
  readonly discoveryChain: DiscoveryChain;
  /** `/v1/event`: user events, fired and listed. */
  readonly event: Event;
  /** `/v1/health`: checks of nodes and services, and the healthy instances of a service. */
  readonly health: Health;
  /** `/v1/internal`: Consul 1.8.7's undocumented routes for its UI; they change between versions. */
  readonly internal: Internal;
  /** `/v1/kv`: the key/value store. */
  readonly kv: Kv;
  /** `/v1/operator`: raft peers, autopilot and the gossip keyring. */
  readonly operator: Operator;
  /** `/v1/query`: prepared queries. */
  readonly query: Query;
  /** `/v1/session`: sessions, the basis of locks. */
  readonly session: Session;
  /** `/v1/snapshot`: saving and restoring the servers' state. */
  readonly snapshot: Snapshot;
  /** `/v1/status`: the raft leader and peers. */
  readonly status: Status;
  /** `/v1/txn`: several KV and catalog operations applied atomically. */
  readonly txn: Txn;

  readonly #transport: Transport;
  /** The pools the client made itself (none with a caller's `dispatcher`). */
  readonly #dispatcher: SplitDispatcher | undefined;
  readonly #shared: SharedWatchOptions | false;
  #kvReads: SharedKvReads | undefined;

  /**
   * Checks the options (`CONSUL_INVALID_ARGUMENT` names a wrong one) and sets the client up; nothing
   * is sent until the first call.
   */
  constructor(options: ConsulClientOptions = {}) {
    checkClientOptions(options);
    this.#dispatcher = options.dispatcher ? undefined : consulDispatcher(options);
    const transport = new Transport(
      this.#dispatcher ? { ...options, dispatcher: this.#dispatcher } : options,
    );
    this.#transport = transport;
    const shared = options.sharedWatches ?? true;
    this.#shared = shared === true ? {} : shared;
    this.acl = new Acl(transport);
    this.agent = new Agent(transport);
    this.catalog = new Catalog(transport);
    this.config = new Config(transport);
    this.connect = new Connect(transport);
    this.coordinate = new Coordinate(transport);
    this.discoveryChain = new DiscoveryChain(transport);
    this.event = new Event(transport);
    this.health = new Health(transport);
    this.internal = new Internal(transport);
    this.kv = new Kv(transport);
    this.operator = new Operator(transport);
    this.query = new Query(transport);
    this.session = new Session(transport);
    this.snapshot = new Snapshot(transport);
    this.status = new Status(transport);
    this.txn = new Txn(transport);
  }

  /** The agents this client talks to, as origins (`http://127.0.0.1:8500`). */
  get agents(): readonly string[] {
    return this.#transport.agents;
  }

  /**
   * Any call the typed methods do not cover, through the same request path (token, timeouts,
   * errors, metadata). `path` must already be escaped.
   */
  request<T = unknown>(spec: RequestSpec): Promise<ResponseOf<T>> {
    return this.#transport.request<T>(spec);
  }

  /**
   * Watches any read method with blocking queries: `client.watch((o) => client.kv.get('k', o))`.
   * See {@link ConsulWatch}.
   */
  watch<T>(method: WatchMethod<T>, options?: ConsulWatchOptions): ConsulWatch<T> {
    return new ConsulWatch(method, options);
  }

  /**
   * Watches a KV key (or, `recursive`, a folder) with blocking reads that are shared: the watchers
   * of keys under one folder share one long poll of that folder (see {@link SharedKvReads}), so
   * thousands of watchers use a handful of sockets. Emits `change` with the pair (`null` when the
   * key does not exist), or with the sorted pairs when `recursive`.
   *
   * ```ts
   * const watch = client.watchKv('app/config/db', { wait: '60s' });
   * watch.on('change', (pair) => console.log(kvText(pair)));
   * watch.on('error', (err) => console.warn(err.code));
   * ```
   * @see https://developer.hashicorp.com/consul/api-docs/features/blocking
   */
  watchKv(key: string, options?: KvWatchOptions & { recursive?: false }): ConsulWatch<KvPair | null>;
  watchKv(key: string, options: KvWatchOptions & { recursive: true }): ConsulWatch<KvPair[]>;
  watchKv(key: string, options: KvWatchOptions = {}): ConsulWatch<KvPair | null> | ConsulWatch<KvPair[]> {
    const { recursive = false, ...watchOptions } = options;
    const reads = this.kvReads;
    // `reads.read` takes the watch's StopSignal as is; a `then` rather than an async wrapper, so
    // that an idle watch holds no suspended frame.
    if (recursive)
      return new ConsulWatch<KvPair[]>((o) => reads.read(key, { ...o, recursive: true }), watchOptions, true);
    return new ConsulWatch<KvPair | null>((o) => reads.read(key, o).then(firstPair), watchOptions, true);
  }

  /**
   * The client's shared blocking KV reads, which {@link ConsulClient.watchKv} and the Store's
   * watches go through. With `sharedWatches: false` every read is a private blocking query.
   */
  get kvReads(): SharedKvReads {
    this.#kvReads ??= new SharedKvReads(this.kv, this.#shared === false ? { maxPolls: 0 } : this.#shared);
    return this.#kvReads;
  }

  /** A distributed lock on `key` (session + `?acquire`, the Go api's algorithm). See {@link ConsulLock}. */
  lock(key: string, options?: ConsulLockOptions): ConsulLock {
    return new ConsulLock(this, key, options);
  }

  /** A distributed semaphore of `limit` holders under `prefix`. See {@link ConsulSemaphore}. */
  semaphore(prefix: string, limit: number, options?: ConsulSemaphoreOptions): ConsulSemaphore {
    return new ConsulSemaphore(this, prefix, limit, options);
  }

  /** Stops the shared polls and frees every socket. Later calls fail with `CONSUL_CLOSED`. */
  async close(): Promise<void> {
    this.#kvReads?.close();
    await this.#transport.close();
    await this.#dispatcher?.close();
  }
}
