import type { OptionTable } from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import type { Dispatcher } from 'undici';
import { AuthApi } from './api/auth.js';
import { ClusterApi } from './api/cluster.js';
import { KeysApi } from './api/keys.js';
import { MembersApi, type EtcdMember } from './api/members.js';
import { StatsApi } from './api/stats.js';
import { EtcdError } from './errors.js';
import type { HostPool } from '@polykv/core';
import {
  CALL_OPTIONS,
  checkEtcdOptions,
  normalizeHost,
  type EtcdCallOptions,
  type EtcdClientOptions,
  type ResolvedEtcdOptions,
} from './options.js';
import { openConnection } from './connection.js';
import type { EtcdRequest, EtcdResponse, RequestFn } from './request.js';
import { discoverHosts } from './discovery.js';
import { SyncRunner } from './sync.js';
import type { EtcdDelOptions, EtcdGetOptions, EtcdResult, EtcdSetOptions } from './api/keys.js';
import { EtcdWatcher, type EtcdWatcherOptions } from './watch/watcher.js';
import { SharedWaits } from './watch/shared-polls.js';
import type { WaitSource } from './watch/wait-source.js';

const RAW_OPTIONS = { ...CALL_OPTIONS, idempotent: 'boolean', json: 'boolean' } satisfies OptionTable;

/** Events of {@link EtcdClient}. */
export interface EtcdClientEvents {
  /** The machine refresh changed the host list. */
  hostsChanged: [hosts: readonly string[]];
  /**
   * A host answered with another `X-Etcd-Cluster-Id` than the cluster seen before: the hosts
   * point at a different (or re-created) cluster. The client goes on; the application decides.
   */
  clusterIdChanged: [
    change: {
      /** The cluster id seen before (hex, from `X-Etcd-Cluster-Id`). */
      previous: string;
      /** The cluster id just seen. */
      current: string;
      /** The host (origin) whose answer carried `current`. */
      host: string;
    },
  ];
  /** A machine refresh failed; the next one is delayed (backoff). */
  refreshError: [error: unknown];
}

/**
 * The native etcd v2 client: `keys`, `members`, `stats`, `auth`, `cluster`, watchers, host
 * failover (see `HostPool` and the README's failover and replay rules), optional machine refresh.
 *
 * ```ts
 * const etcd = new EtcdClient({ hosts: ['h1:2379', 'h2:2379'] });
 * await etcd.keys.set('config/port', '5432');
 * const { node } = await etcd.keys.get('config/port');
 * await etcd.close();
 * ```
 */
export class EtcdClient extends EventEmitter<EtcdClientEvents> {
  /** The options as the constructor resolved them: defaults applied, hosts normalized, frozen. */
  readonly options: ResolvedEtcdOptions;
  /** `/v2/keys`: reads, writes, compare-and-swap, directories, in-order keys and long-poll waits. */
  readonly keys: KeysApi;
  /** `/v2/members`: list, add and remove members, change their peer URLs, find the leader. */
  readonly members: MembersApi;
  /** `/v2/stats`: one member's own statistics, its store counters, and the leader's view. */
  readonly stats: StatsApi;
  /** `/v2/auth`: turn auth on or off, manage users and roles. */
  readonly auth: AuthApi;
  /** `/version`, `/health` and `/v2/machines`. */
  readonly cluster: ClusterApi;
  /** THE request function, for endpoints the API groups do not cover (see {@link EtcdClient.raw}). */
  readonly request: RequestFn;

  readonly #pool: HostPool;
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: boolean;
  readonly #watchers = new Set<{ stop(): Promise<void> }>();
  /** A stopped watcher leaves `#watchers` (one function for all of them). */
  readonly #forget = (watcher: { stop(): Promise<void> }): void => void this.#watchers.delete(watcher);
  #closed = false;
  #refreshTimer: NodeJS.Timeout | undefined;
  #refreshFailures = 0;
  #clusterId: string | undefined;
  readonly #given: EtcdClientOptions;
  #sync: SyncRunner | undefined;
  #shared: SharedWaits | undefined;

  /**
   * Checks and resolves the options once; sends nothing until the first call. A bad option throws
   * `ETCD_INVALID_ARGUMENT`.
   * @param options - the options, or only the hosts (`'h1:2379'` or a list).
   */
  constructor(options: EtcdClientOptions | string | string[] = {}) {
    super();
    const opts: EtcdClientOptions =
      typeof options === 'string' || Array.isArray(options) ? { hosts: options } : options;
    const connection = openConnection(opts, () => this.#closed);
    this.#given = connection.given;
    this.options = connection.options;
    this.#pool = connection.pool;
    this.#dispatcher = connection.dispatcher;
    this.#ownDispatcher = connection.ownDispatcher;
    this.request = connection.request;
    this.keys = new KeysApi(this.request, this.options.json);
    this.members = new MembersApi(this.request);
    this.stats = new StatsApi(this.request);
    this.auth = new AuthApi(this.request);
    this.cluster = new ClusterApi(this.request);
    if (this.options.refreshMs !== undefined) this.#scheduleRefresh(this.options.refreshMs);
  }

  /** The hosts, in the order the next call will try them from the pinned one. */
  get hosts(): readonly string[] {
    return this.#pool.hosts;
  }

  /** The host the next call goes to first (the last one that answered). */
  get currentHost(): string {
    return this.#pool.current;
  }

  /** True once `close()` was called: every call then fails with `ETCD_CLOSED`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * What watches long-poll through: the client's shared polls (made on first use), or `keys`
   * itself with `sharedWatches: false`. Its `wait` has the semantics of `keys.wait`.
   */
  get waits(): WaitSource {
    const shared = this.options.sharedWatches;
    if (shared === undefined) return this.keys;
    this.#shared ??= new SharedWaits(this.keys, { ...shared, ...this.options });
    return this.#shared;
  }

  /**
   * A raw request (node-etcd's `raw`): `path` relative to the host, e.g. `v2/stats/leader`. `body`
   * is sent as a form (`{ value: 'x' }`) or as is (a string). Not replayed on another host unless
   * `idempotent` is given.
   */
  async raw<T = unknown>(
    method: EtcdRequest['method'],
    path: string,
    body?: string | Record<string, string | number | boolean>,
    options: EtcdCallOptions & { idempotent?: boolean; json?: boolean } = {},
  ): Promise<EtcdResponse<T>> {
    checkEtcdOptions(options, RAW_OPTIONS, 'raw');
    const text =
      body === undefined || typeof body === 'string'
        ? body
        : Object.entries(body)
            .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
            .join('&');
    return this.request<T>({
      method,
      path: path.startsWith('/') ? path : `/${path}`,
      ...(text !== undefined ? { body: text } : {}),
      idempotent: options.idempotent ?? method === 'GET',
      ...(options.json ? { json: true } : {}),
      signal: options.signal,
      timeout: options.timeout,
      maxRetries: options.maxRetries,
    });
  }

  /** The client URLs of every member (etcdjs/node-etcd `machines`). `GET /v2/machines` */
  machines(options: EtcdCallOptions = {}): Promise<string[]> {
    return this.cluster.machines(options);
  }

  /** The leader member (etcdjs/node-etcd `leader`). `GET /v2/members/leader` */
  leader(options: EtcdCallOptions = {}): Promise<EtcdMember> {
    return this.members.leader(options);
  }

  /** `GET /version` */
  version(options: EtcdCallOptions = {}): Promise<{
    /** The etcd version of the member that answered, e.g. `3.4.13`. */
    etcdserver: string;
    /**
     * The cluster version: the lowest `major.minor` among the members, as `3.4.0`; `not_decided`
     * until the leader has settled it.
     */
    etcdcluster: string;
  }> {
    return this.cluster.version(options);
  }

  /** `GET /health` */
  health(options: EtcdCallOptions = {}): Promise<boolean> {
    return this.cluster.health(options);
  }

  /**
   * A watcher on `key` (node-etcd's `watcher`): events `change`, the etcd action name (`set`,
   * `delete`, `expire`, ...), `reconnect`, `resync`, `error`, `stop`; also an async iterator.
   */
  watcher<V = string>(key: string, options: EtcdWatcherOptions = {}): EtcdWatcher<V> {
    if (this.#closed) throw new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client is closed' });
    const watcher = new EtcdWatcher<V>(this.keys, key, options, this.options, this.waits, this.#forget);
    this.#watchers.add(watcher);
    return watcher;
  }

  /**
   * Refreshes the host list once: members' client URLs from `/v2/members` (or `/v2/machines` when
   * that fails, e.g. behind a proxy), each new host checked (it must answer `/v2/members` with the
   * same cluster id) before use; the seed hosts always stay. Resolves the new host list.
   */
  async refreshHosts(options: EtcdCallOptions = {}): Promise<readonly string[]> {
    checkEtcdOptions(options, CALL_OPTIONS, 'refreshHosts');
    let urls: string[];
    let clusterId: string | undefined;
    let answeredBy = this.#pool.current;
    try {
      const response = await this.request<{ members: EtcdMember[] }>({
        method: 'GET',
        path: '/v2/members',
        idempotent: true,
        signal: options.signal,
        timeout: options.timeout ?? 5000,
        maxRetries: 0,
      });
      urls = (response.body.members ?? []).flatMap((member) => member.clientURLs ?? []);
      clusterId = response.clusterId;
      answeredBy = response.host;
    } catch (membersError) {
      if (options.signal?.aborted) throw membersError;
      urls = await this.cluster.machines({
        signal: options.signal,
        timeout: options.timeout ?? 5000,
        maxRetries: 0,
      });
    }
    this.#noteClusterId(clusterId, answeredBy);
    const current = new Set(this.#pool.hosts);
    const candidates = [...new Set(urls.map((url) => normalizeHost(url)))];
    const checked = await Promise.all(
      candidates.map(async (host) => {
        if (current.has(host)) return host;
        try {
          const response = await this.request({
            method: 'GET',
            path: '/v2/members',
            idempotent: true,
            host,
            timeout: 2000,
            signal: options.signal,
          });
          if (clusterId !== undefined && response.clusterId !== undefined && response.clusterId !== clusterId)
            return undefined;
          return host;
        } catch {
          // An unroutable advertised URL (etcdjs#4) must not replace a working host.
          return undefined;
        }
      }),
    );
    const next = [
      ...new Set([...this.#pool.seeds, ...checked.filter((host): host is string => host !== undefined)]),
    ];
    const before = this.#pool.hosts;
    if (next.length !== before.length || next.some((host) => !before.includes(host))) {
      this.#pool.setHosts(next);
      this.emit('hostsChanged', this.#pool.hosts);
    }
    return this.#pool.hosts;
  }

  #noteClusterId(clusterId: string | undefined, host: string): void {
    if (clusterId === undefined) return;
    if (this.#clusterId !== undefined && this.#clusterId !== clusterId)
      this.emit('clusterIdChanged', { previous: this.#clusterId, current: clusterId, host });
    this.#clusterId = clusterId;
  }

  #scheduleRefresh(delayMs: number): void {
    if (this.#closed) return;
    this.#refreshTimer = setTimeout(() => {
      this.refreshHosts().then(
        () => {
          this.#refreshFailures = 0;
          this.#scheduleRefresh(this.options.refreshMs!);
        },
        (error: unknown) => {
          if (this.#closed) return;
          this.#refreshFailures++;
          this.emit('refreshError', error);
          const interval = this.options.refreshMs!;
          this.#scheduleRefresh(Math.min(interval * 2 ** this.#refreshFailures, Math.max(interval, 300_000)));
        },
      );
    }, delayMs);
    // The refresh alone must not keep a process alive.
    this.#refreshTimer.unref();
  }

  /**
   * A client for the cluster behind a discovery URL (etcdjs accepts one as its host): see
   * {@link discoverHosts}. The other options apply to the new client.
   */
  static async discover(url: string, options: Omit<EtcdClientOptions, 'hosts'> = {}): Promise<EtcdClient> {
    const hosts = await discoverHosts(url, options);
    return new EtcdClient({ ...options, hosts });
  }

  #runSync(method: 'get' | 'set' | 'del' | 'mkdir' | 'rmdir', args: unknown[]): EtcdResult {
    if (this.#closed) throw new EtcdError({ code: 'ETCD_CLOSED', message: 'the etcd client is closed' });
    this.#sync ??= new SyncRunner(this.#given, this.options.timeout || 30_000);
    return this.#sync.call({ method, args }) as EtcdResult;
  }

  /**
   * Blocking reads and writes for start-up configuration (node-etcd's `getSync` and friends),
   * without a native addon: a worker thread runs the call while this thread waits in
   * `Atomics.wait`. They block the event loop; use them before serving anything. Options are those
   * of the async calls, minus `signal` (a blocked thread cannot see an abort); `timeout` applies.
   */
  getSync(key: string, options: Omit<EtcdGetOptions, 'signal'> = {}): EtcdResult {
    return this.#runSync('get', [key, options]);
  }

  /** See {@link EtcdClient.getSync}. */
  setSync(key: string, value: string, options: Omit<EtcdSetOptions, 'signal'> = {}): EtcdResult {
    return this.#runSync('set', [key, value, options]);
  }

  /** See {@link EtcdClient.getSync}. */
  delSync(key: string, options: Omit<EtcdDelOptions, 'signal'> = {}): EtcdResult {
    return this.#runSync('del', [key, options]);
  }

  /** See {@link EtcdClient.getSync}. */
  mkdirSync(key: string, options: Omit<EtcdSetOptions, 'signal'> = {}): EtcdResult {
    return this.#runSync('mkdir', [key, options]);
  }

  /** See {@link EtcdClient.getSync}. */
  rmdirSync(key: string, options: Omit<EtcdDelOptions, 'signal'> = {}): EtcdResult {
    return this.#runSync('rmdir', [key, options]);
  }

  /** Stops the refresh and every watcher, and closes every socket the client owns. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#refreshTimer);
    await this.#sync?.close();
    await Promise.all([...this.#watchers].map((watcher) => watcher.stop()));
    this.#shared?.close();
    if (this.#ownDispatcher) await this.#dispatcher.destroy();
  }
}
