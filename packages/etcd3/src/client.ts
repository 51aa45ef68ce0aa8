import { AuthApi } from './api/auth.js';
import { ClusterApi, MaintenanceApi } from './api/cluster.js';
import { KvApi } from './api/kv.js';
import { LeaseApi } from './api/lease.js';
import { resolveOptions, type Etcd3ClientOptions, type ResolvedEtcd3Options } from './options.js';
import type { BytesLike } from './proto/wire.js';
import { Requester, type CallFn } from './request.js';
import { Transport } from './transport.js';
import { WatchStreams } from './watch/streams.js';
import type { Etcd3Watcher, Etcd3WatchOptions } from './watch/watcher.js';

/**
 * The native etcd v3 client: gRPC over HTTP/2 (`node:http2`, no gRPC library), one connection per
 * host with every call and watch multiplexed on it, host failover by core's `HostPool` rules.
 *
 * ```ts
 * const etcd = new Etcd3Client({ hosts: ['h1:2379', 'h2:2379'] });
 * await etcd.kv.put('config/port', '5432');
 * const kv = await etcd.kv.get('config/port'); // kv.value.toString() === '5432'
 * const watcher = etcd.watch('config/', { prefix: true });
 * watcher.on('events', (events) => ...);
 * await etcd.close();
 * ```
 */
export class Etcd3Client {
  /** The options as the constructor resolved them: defaults filled in, hosts normalized, frozen. */
  readonly options: ResolvedEtcd3Options;
  /** `KV/*`: range, put, delete, txn, compact. */
  readonly kv: KvApi;
  /** `Lease/*`: grant, revoke, keep-alive, time-to-live, list. */
  readonly lease: LeaseApi;
  /** `Cluster/*`: members. */
  readonly cluster: ClusterApi;
  /** `Maintenance/*`: status. */
  readonly maintenance: MaintenanceApi;
  /** `Auth/*`: enable, disable, users, roles. */
  readonly auth: AuthApi;
  /** THE request function, for RPCs the groups do not cover. */
  readonly call: CallFn;

  readonly #transport: Transport;
  readonly #requester: Requester;
  readonly #watches: WatchStreams;
  #closed = false;

  /**
   * Checks and resolves the options (`ETCD3_INVALID_ARGUMENT` when they do not fit); connects on the
   * first call, not here.
   * @param options the options, or only the hosts: `'h1:2379'` or a list.
   */
  constructor(options: Etcd3ClientOptions | string | string[] = {}) {
    const opts: Etcd3ClientOptions =
      typeof options === 'string' || Array.isArray(options) ? { hosts: options } : options;
    this.options = resolveOptions(opts);
    this.#transport = new Transport(this.options);
    this.#requester = new Requester(this.#transport, this.options, () => this.#closed);
    this.call = this.#requester.call;
    this.kv = new KvApi(this.call);
    this.lease = new LeaseApi(this.call);
    this.cluster = new ClusterApi(this.call);
    this.maintenance = new MaintenanceApi(this.call);
    this.auth = new AuthApi(this.call);
    this.#watches = new WatchStreams(this.#transport, this.#requester, this.options.maxRetries);
  }

  /** The hosts, in the order calls try them from the pinned one. */
  get hosts(): readonly string[] {
    return this.#requester.pool.hosts;
  }

  /** The host the next call goes to first (the last one that answered). */
  get currentHost(): string {
    return this.#requester.pool.current;
  }

  /** True once `close()` was called: every later call fails with `ETCD3_CLOSED`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Watches `key` (with `prefix` or `end`: a range): a low-level watcher on the host's shared
   * watch stream. Attach listeners right away; `ready` resolves once etcd armed it. See
   * {@link Etcd3Watcher} for its events and how it ends.
   */
  watch(key: BytesLike, options: Etcd3WatchOptions = {}): Etcd3Watcher {
    return this.#watches.watch(key, options);
  }

  /** Asks etcd for a progress answer on every watch stream: each armed watcher gets `progress`. */
  requestWatchProgress(): void {
    this.#watches.requestProgress();
  }

  /** Ends every watcher (without an error) and closes every connection. Calls in flight fail with `ETCD3_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watches.close();
    this.#transport.close();
  }
}
