import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** A node as the catalog lists it (`GET /v1/catalog/nodes`). */
export interface CatalogNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A service address with its port (`TaggedAddresses` of a service). */
export interface CatalogServiceAddress {
  Address: string;
  Port: number;
}

/** A service instance as the catalog stores it on a node (the `Services` of a node). */
export interface CatalogNodeService {
  ID: string;
  Service: string;
  Tags: string[] | null;
  Address: string;
  TaggedAddresses?: Record<string, CatalogServiceAddress>;
  Meta: Record<string, string> | null;
  Port: number;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  /** `''` for a typical service; `connect-proxy`, `mesh-gateway`, `terminating-gateway`, `ingress-gateway`. */
  Kind?: string;
  Proxy?: Record<string, unknown>;
  Connect?: Record<string, unknown>;
  Namespace?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One instance of a service with its node (`GET /v1/catalog/service/:service`). */
export interface CatalogServiceNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  ServiceKind: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
  ServiceAddress: string;
  ServiceTaggedAddresses?: Record<string, CatalogServiceAddress>;
  ServiceWeights: { Passing: number; Warning: number };
  ServiceMeta: Record<string, string> | null;
  ServicePort: number;
  ServiceEnableTagOverride: boolean;
  ServiceProxy?: Record<string, unknown>;
  ServiceConnect?: Record<string, unknown>;
  Namespace?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A node and its services keyed by service ID (`GET /v1/catalog/node/:node`). */
export interface CatalogNodeWithServices {
  Node: CatalogNode;
  Services: Record<string, CatalogNodeService>;
}

/** A node and its services as a list (`GET /v1/catalog/node-services/:node`). */
export interface CatalogNodeServiceList {
  Node: CatalogNode;
  Services: CatalogNodeService[];
}

/** A service linked to a gateway (`GET /v1/catalog/gateway-services/:gateway`). */
export interface CatalogGatewayService {
  Gateway: { Name: string; Namespace?: string };
  Service: { Name: string; Namespace?: string };
  GatewayKind: string;
  Port?: number;
  Protocol?: string;
  Hosts?: string[] | null;
  CAFile?: string;
  CertFile?: string;
  KeyFile?: string;
  SNI?: string;
  FromWildcard?: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** A check registered through the catalog. */
export interface CatalogCheckRegistration {
  Node?: string;
  CheckID?: string;
  Name: string;
  /** `passing`, `warning`, `critical` (or `maintenance`). */
  Status?: string;
  Notes?: string;
  Output?: string;
  ServiceID?: string;
  Definition?: Record<string, unknown>;
  Namespace?: string;
}

/** The body of `PUT /v1/catalog/register`. */
export interface CatalogRegistration {
  ID?: string;
  Node: string;
  Address: string;
  Datacenter?: string;
  TaggedAddresses?: Record<string, string>;
  NodeMeta?: Record<string, string>;
  Service?: Partial<Omit<CatalogNodeService, 'CreateIndex' | 'ModifyIndex'>> & { Service: string };
  Check?: CatalogCheckRegistration;
  Checks?: CatalogCheckRegistration[];
  /** Leave the node's fields as they are when it exists already. */
  SkipNodeUpdate?: boolean;
}

/** The body of `PUT /v1/catalog/deregister`: the node, or one of its checks or services. */
export interface CatalogDeregistration {
  Node: string;
  Datacenter?: string;
  CheckID?: string;
  ServiceID?: string;
  Namespace?: string;
}

/** Options of the service listings: tag filters. */
export interface CatalogServiceOptions extends QueryOptions {
  /** Only instances with this tag, or with all of these tags (`?tag=`, repeated). */
  tag?: string | string[];
}

/**
 * `/v1/catalog`: the cluster-wide register of nodes, services and checks. Reads return
 * `{ data, meta }` and block with `index`/`wait`; `meta.effectiveConsistency` says which consistency
 * mode answered. With ACLs, listings leave out what the token may not read (Consul 1.8 filters
 * silently: no 403, no header saying so).
 * @see https://developer.hashicorp.com/consul/api-docs/catalog
 */
export class Catalog {
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/catalog/register`: adds or updates a node, and optionally a service and checks. Resolves
   * Consul's `true`. Prefer the agent endpoints for services of live agents: anti-entropy removes
   * catalog entries that an agent does not know.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#register-entity
   */
  async register(registration: CatalogRegistration, options?: WriteOptions): Promise<boolean> {
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path: '/v1/catalog/register',
        body: registration,
        options,
        read: 'bool',
        idempotent: true,
      })
    ).data;
  }

  /**
   * `PUT /v1/catalog/deregister`: removes a node, or one of its services or checks. Resolves `true`.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#deregister-entity
   */
  async deregister(deregistration: CatalogDeregistration, options?: WriteOptions): Promise<boolean> {
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path: '/v1/catalog/deregister',
        body: deregistration,
        options,
        read: 'bool',
        idempotent: true,
      })
    ).data;
  }

  /**
   * `GET /v1/catalog/datacenters`: the known datacenters, nearest first.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-datacenters
   */
  async datacenters(options?: QueryOptions): Promise<string[]> {
    return (
      await this.transport.request<string[]>({ method: 'GET', path: '/v1/catalog/datacenters', options })
    ).data;
  }

  /**
   * `GET /v1/catalog/nodes`: the nodes (`near` sorts them by round-trip time, `nodeMeta` and `filter`
   * narrow them).
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-nodes
   */
  async nodes(options?: QueryOptions): Promise<ConsulResult<CatalogNode[]>> {
    const { data, meta } = await this.transport.request<CatalogNode[]>({
      method: 'GET',
      path: '/v1/catalog/nodes',
      options,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/catalog/services`: service names mapped to the union of their tags.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-services
   */
  async services(options?: QueryOptions): Promise<ConsulResult<Record<string, string[]>>> {
    const { data, meta } = await this.transport.request<Record<string, string[]>>({
      method: 'GET',
      path: '/v1/catalog/services',
      options,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/catalog/service/:service`: the instances of a service (`[]` when there are none), with
   * `tag` filters.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-nodes-for-service
   */
  async service(
    service: string,
    options?: CatalogServiceOptions,
  ): Promise<ConsulResult<CatalogServiceNode[]>> {
    const { data, meta } = await this.transport.request<CatalogServiceNode[]>({
      method: 'GET',
      path: `/v1/catalog/service/${encodeURIComponent(service)}`,
      query: { tag: options?.tag },
      options,
      extraOptions: ['tag'],
    });
    return { data, meta };
  }

  /**
   * `GET /v1/catalog/connect/:service`: the Connect-capable instances of a service (its proxies and
   * native instances).
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-nodes-for-connect-capable-service
   */
  async connect(
    service: string,
    options?: CatalogServiceOptions,
  ): Promise<ConsulResult<CatalogServiceNode[]>> {
    const { data, meta } = await this.transport.request<CatalogServiceNode[]>({
      method: 'GET',
      path: `/v1/catalog/connect/${encodeURIComponent(service)}`,
      query: { tag: options?.tag },
      options,
      extraOptions: ['tag'],
    });
    return { data, meta };
  }

  /**
   * `GET /v1/catalog/node/:node`: a node and its services keyed by ID; `data` is `null` when the node
   * is unknown (Consul answers `200 null`).
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#retrieve-map-of-services-for-a-node
   */
  async node(node: string, options?: QueryOptions): Promise<ConsulResult<CatalogNodeWithServices | null>> {
    const { data, meta } = await this.transport.request<CatalogNodeWithServices | null>({
      method: 'GET',
      path: `/v1/catalog/node/${encodeURIComponent(node)}`,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/catalog/node-services/:node`: a node and its services as a list; `data` is `null` when
   * the node is unknown (Consul answers `{ "Node": null, "Services": null }`).
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-services-for-node
   */
  async nodeServices(
    node: string,
    options?: QueryOptions,
  ): Promise<ConsulResult<CatalogNodeServiceList | null>> {
    const { data, meta } = await this.transport.request<CatalogNodeServiceList | null>({
      method: 'GET',
      path: `/v1/catalog/node-services/${encodeURIComponent(node)}`,
      options,
      nullOn404: true,
    });
    // Consul 1.8 answers an unknown node with `{ "Node": null, "Services": null }`.
    return { data: data?.Node ? data : null, meta };
  }

  /**
   * `GET /v1/catalog/gateway-services/:gateway`: the services a terminating or ingress gateway
   * serves.
   * @see https://developer.hashicorp.com/consul/api-docs/catalog#list-services-for-gateway
   */
  async gatewayServices(
    gateway: string,
    options?: QueryOptions,
  ): Promise<ConsulResult<CatalogGatewayService[]>> {
    const { data, meta } = await this.transport.request<CatalogGatewayService[]>({
      method: 'GET',
      path: `/v1/catalog/gateway-services/${encodeURIComponent(gateway)}`,
      options,
    });
    return { data, meta };
  }
}
