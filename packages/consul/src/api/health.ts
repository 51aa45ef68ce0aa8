import type { ConsulResult, QueryOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { CatalogNode, CatalogNodeService } from './catalog.js';

/**
 * A check's status. A check never reads `maintenance`: maintenance mode is a `critical` check
 * (`_node_maintenance`, `_service_maintenance:<id>`); `maintenance` is an aggregated status the
 * agent's local service-health endpoints report for a service in maintenance mode.
 */
export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

/** One health check as the catalog holds it. */
export interface HealthCheck {
  /** The name of the node the check belongs to. */
  Node: string;
  /**
   * The check's ID, unique on its node (`serfHealth` for an agent's gossip health, `service:<ID>` by
   * default for a service's check).
   */
  CheckID: string;
  /** The check's name, for people. */
  Name: string;
  /**
   * The check's state. Maintenance mode shows as a `critical` check with the ID `_node_maintenance` or
   * `_service_maintenance:<service ID>`.
   */
  Status: HealthStatus;
  /** Free text for operators, set at registration; Consul does not interpret it. */
  Notes: string;
  /** The check's last output (a script's output, an HTTP answer, or the note of a TTL update). */
  Output: string;
  /** `''` for a node check. */
  ServiceID: string;
  /** The name of the service the check belongs to; `''` for a node check. */
  ServiceName: string;
  /** That service's tags; empty (`[]` or `null`) for a node check. */
  ServiceTags: string[] | null;
  /** `http`, `tcp`, `ttl`, `script`, ... (`''` for the agent's own checks). */
  Type: string;
  /**
   * Part of the check's configuration (HTTP or TCP target, interval, timeout, ...) as Consul keeps it;
   * durations are strings such as `'10s'`.
   */
  Definition: Record<string, unknown>;
  /** Consul Enterprise: the entry's namespace; absent on OSS. */
  Namespace?: string;
  /** The Raft index at which this entry was created (`0` in an agent's own listings). */
  CreateIndex: number;
  /** The Raft index of this entry's last change (`0` in an agent's own listings). */
  ModifyIndex: number;
}

/** One instance of a service with its node and every check that applies to it. */
export interface HealthServiceEntry {
  /** The node the instance runs on. */
  Node: CatalogNode;
  /** The service instance. */
  Service: CatalogNodeService;
  /** The node's checks and the instance's: the instance is healthy when all of them pass. */
  Checks: HealthCheck[];
}

/** Options of the service health reads. */
export interface HealthServiceOptions extends QueryOptions {
  /** Only instances whose checks all pass (`?passing`). */
  passing?: boolean;
  /** Only instances with this tag, or with all of these tags (`?tag=`, repeated). */
  tag?: string | string[];
}

/** The options of the service reads (`HealthServiceOptions`) read here, not by the request function. */
const SERVICE_OPTIONS = ['passing', 'tag'];

/**
 * `/v1/health`: checks and the health of service instances. These are the reads people watch
 * most: every method returns `{ data, meta }`, blocks with `index`/`wait`, and with `cached: true`
 * is answered from the agent's cache where Consul supports it (`meta.cacheHit` from `X-Cache`,
 * `meta.cacheAge` from `Age`). With ACLs, results leave out what the token may not read (Consul 1.8
 * filters silently, it does not answer 403).
 * @see https://developer.hashicorp.com/consul/api-docs/health
 */
export class Health {
  /** Built by {@link ConsulClient}: use `client.health` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/health/node/:node`: the checks of a node and of its services (`[]` for an unknown node).
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-checks-for-node
   */
  async node(node: string, options?: QueryOptions): Promise<ConsulResult<HealthCheck[]>> {
    return this.#read(`/v1/health/node/${encodeURIComponent(node)}`, {}, options);
  }

  /**
   * `GET /v1/health/checks/:service`: the checks of every instance of a service.
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-checks-for-service
   */
  async checks(service: string, options?: QueryOptions): Promise<ConsulResult<HealthCheck[]>> {
    return this.#read(`/v1/health/checks/${encodeURIComponent(service)}`, {}, options);
  }

  /**
   * `GET /v1/health/service/:service`: the instances of a service with their nodes and checks;
   * `passing: true` keeps only the healthy ones, `tag` filters by tags.
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-nodes-for-service
   */
  async service(
    service: string,
    options?: HealthServiceOptions,
  ): Promise<ConsulResult<HealthServiceEntry[]>> {
    const query = { passing: options?.passing, tag: options?.tag };
    return this.#read(`/v1/health/service/${encodeURIComponent(service)}`, query, options);
  }

  /**
   * `GET /v1/health/connect/:service`: like {@link Health.service}, for the Connect-capable instances
   * (proxies and native services) of a service.
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-nodes-for-connect-capable-service
   */
  async connect(
    service: string,
    options?: HealthServiceOptions,
  ): Promise<ConsulResult<HealthServiceEntry[]>> {
    const query = { passing: options?.passing, tag: options?.tag };
    return this.#read(`/v1/health/connect/${encodeURIComponent(service)}`, query, options);
  }

  /**
   * `GET /v1/health/ingress/:service`: the ingress gateways that expose a service (Consul 1.8+).
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-nodes-for-ingress-gateways-associated-to-a-service
   */
  async ingress(
    service: string,
    options?: HealthServiceOptions,
  ): Promise<ConsulResult<HealthServiceEntry[]>> {
    const query = { passing: options?.passing, tag: options?.tag };
    return this.#read(`/v1/health/ingress/${encodeURIComponent(service)}`, query, options);
  }

  /**
   * `GET /v1/health/state/:state`: every check in a state (`any` for all of them).
   * @see https://developer.hashicorp.com/consul/api-docs/health#list-checks-in-state
   */
  async state(
    state: 'any' | 'passing' | 'warning' | 'critical',
    options?: QueryOptions,
  ): Promise<ConsulResult<HealthCheck[]>> {
    return this.#read(`/v1/health/state/${encodeURIComponent(state)}`, {}, options);
  }

  async #read<T>(
    path: string,
    query: Record<string, boolean | string | string[] | undefined>,
    options: QueryOptions | undefined,
  ): Promise<ConsulResult<T>> {
    const { data, meta } = await this.transport.request<T>({
      method: 'GET',
      path,
      query,
      options,
      extraOptions: SERVICE_OPTIONS,
    });
    return { data, meta };
  }
}
