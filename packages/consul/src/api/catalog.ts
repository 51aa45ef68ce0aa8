import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** A node as the catalog lists it (`GET /v1/catalog/nodes`). */
export interface CatalogNode {
  /** The node's ID (a UUID); `''` for a node registered through the catalog without one. */
  ID: string;
  /** The node's name, unique in its datacenter. */
  Node: string;
  /** The node's address, as registered (an IP or host name). */
  Address: string;
  /** The node's datacenter. */
  Datacenter: string;
  /** Further node addresses by tag (`lan`, `wan`, ...); `null` when there are none. */
  TaggedAddresses: Record<string, string> | null;
  /** Free-form node metadata (an agent's `node_meta`, or `NodeMeta` of a catalog registration). */
  Meta: Record<string, string> | null;
  /** The Raft index at which this entry was created. */
  CreateIndex: number;
  /** The Raft index of this entry's last change. */
  ModifyIndex: number;
}

/** A service address with its port (`TaggedAddresses` of a service). */
export interface CatalogServiceAddress {
  /** An IP address or host name. */
  Address: string;
  /** The service's port at that address. */
  Port: number;
}

/** A service instance as the catalog stores it on a node (the `Services` of a node). */
export interface CatalogNodeService {
  /** The instance's ID, unique on its node. */
  ID: string;
  /** The service's name, shared by all its instances. */
  Service: string;
  /** The instance's tags (`null` or `[]` when it has none). */
  Tags: string[] | null;
  /** The instance's address; `''` means the node's address. */
  Address: string;
  /** Further addresses of the instance by tag (`lan`, `wan`, ...); absent when there are none. */
  TaggedAddresses?: Record<string, CatalogServiceAddress>;
  /** Free-form string metadata of the instance (`{}` or `null` when it has none). */
  Meta: Record<string, string> | null;
  /** The instance's port; `0` when none was registered. */
  Port: number;
  /** The instance's DNS SRV weights, by its health (DNS leaves critical instances out). */
  Weights: {
    /** The weight while every check passes. */
    Passing: number;
    /** The weight while a check warns. */
    Warning: number;
  };
  /** Whether tags changed in the catalog are kept instead of being reverted by the agent's anti-entropy. */
  EnableTagOverride: boolean;
  /** `''` for a typical service; `connect-proxy`, `mesh-gateway`, `terminating-gateway`, `ingress-gateway`. */
  Kind?: string;
  /** The proxy settings of a `connect-proxy` or gateway instance (fields as in {@link AgentServiceProxy}). */
  Proxy?: Record<string, unknown>;
  /** Connect settings (`{ Native: true }` for a Connect-native service). */
  Connect?: Record<string, unknown>;
  /** Consul Enterprise: the entry's namespace; absent on OSS. */
  Namespace?: string;
  /** The Raft index at which this entry was created. */
  CreateIndex: number;
  /** The Raft index of this entry's last change. */
  ModifyIndex: number;
}

/** One instance of a service with its node (`GET /v1/catalog/service/:service`). */
export interface CatalogServiceNode {
  /** The node's ID (a UUID); `''` for a node registered through the catalog without one. */
  ID: string;
  /** The name of the node the instance runs on. */
  Node: string;
  /** The node's address (an IP or host name). */
  Address: string;
  /** The node's datacenter. */
  Datacenter: string;
  /** Further node addresses by tag (`lan`, `wan`, ...); `null` when there are none. */
  TaggedAddresses: Record<string, string> | null;
  /** Free-form node metadata. */
  NodeMeta: Record<string, string> | null;
  /**
   * `''` for a typical service; `connect-proxy`, `mesh-gateway`, `terminating-gateway` or
   * `ingress-gateway`.
   */
  ServiceKind: string;
  /** The instance's ID, unique on its node. */
  ServiceID: string;
  /** The service's name. */
  ServiceName: string;
  /** The instance's tags (`null` or `[]` when it has none). */
  ServiceTags: string[] | null;
  /** The instance's address; `''` means the node's `Address`. */
  ServiceAddress: string;
  /** Further addresses of the instance by tag (`lan`, `wan`, ...); absent when there are none. */
  ServiceTaggedAddresses?: Record<string, CatalogServiceAddress>;
  /** The instance's DNS SRV weights, by its health. */
  ServiceWeights: {
    /** The weight while every check passes. */
    Passing: number;
    /** The weight while a check warns. */
    Warning: number;
  };
  /** Free-form string metadata of the instance (`{}` or `null` when it has none). */
  ServiceMeta: Record<string, string> | null;
  /** The instance's port; `0` when none was registered. */
  ServicePort: number;
  /** Whether tags changed in the catalog are kept instead of being reverted by the agent's anti-entropy. */
  ServiceEnableTagOverride: boolean;
  /** The proxy settings of a `connect-proxy` or gateway instance (fields as in {@link AgentServiceProxy}). */
  ServiceProxy?: Record<string, unknown>;
  /** Connect settings (`{ Native: true }` for a Connect-native service). */
  ServiceConnect?: Record<string, unknown>;
  /** Consul Enterprise: the entry's namespace; absent on OSS. */
  Namespace?: string;
  /** The Raft index at which this entry was created. */
  CreateIndex: number;
  /** The Raft index of this entry's last change. */
  ModifyIndex: number;
}

/** A node and its services keyed by service ID (`GET /v1/catalog/node/:node`). */
export interface CatalogNodeWithServices {
  /** The node. */
  Node: CatalogNode;
  /** The node's service instances, keyed by instance ID. */
  Services: Record<string, CatalogNodeService>;
}

/** A node and its services as a list (`GET /v1/catalog/node-services/:node`). */
export interface CatalogNodeServiceList {
  /** The node. */
  Node: CatalogNode;
  /** The node's service instances. */
  Services: CatalogNodeService[];
}

/** A service linked to a gateway (`GET /v1/catalog/gateway-services/:gateway`). */
export interface CatalogGatewayService {
  /** The gateway. */
  Gateway: {
    /** The gateway's service name. */
    Name: string;
    /** Consul Enterprise: the gateway's namespace; absent on OSS. */
    Namespace?: string;
  };
  /** The service linked to the gateway. */
  Service: {
    /** The linked service's name. */
    Name: string;
    /** Consul Enterprise: the linked service's namespace; absent on OSS. */
    Namespace?: string;
  };
  /** `ingress-gateway` or `terminating-gateway`. */
  GatewayKind: string;
  /** Ingress gateways: the port of the listener that serves this service. */
  Port?: number;
  /** Ingress gateways: that listener's protocol (`tcp`, `http`, ...). */
  Protocol?: string;
  /** Ingress gateways: the hosts whose requests go to this service; empty or absent for none. */
  Hosts?: string[] | null;
  /** Terminating gateways: the path of the CA file used for TLS to the service. */
  CAFile?: string;
  /** Terminating gateways: the path of the client certificate used for TLS to the service. */
  CertFile?: string;
  /** Terminating gateways: the path of the key of that client certificate. */
  KeyFile?: string;
  /** Terminating gateways: the server name sent in the TLS handshake with the service. */
  SNI?: string;
  /** `true` when the link comes from a `*` wildcard in the gateway's configuration entry. */
  FromWildcard?: boolean;
  /** The Raft index at which this entry was created. */
  CreateIndex?: number;
  /** The Raft index of this entry's last change. */
  ModifyIndex?: number;
}

/** A check registered through the catalog. */
export interface CatalogCheckRegistration {
  /** The check's node; it must be the registration's `Node`, which fills it when left out. */
  Node?: string;
  /** The check's ID, unique on its node. @defaultValue the name */
  CheckID?: string;
  /** The check's name, for people. */
  Name: string;
  /** `passing`, `warning`, `critical` (or `maintenance`). */
  Status?: string;
  /** Free text for operators; Consul does not interpret it. */
  Notes?: string;
  /** The output to record with the status. */
  Output?: string;
  /** Make it a check of this service ID on the node; without it, the check is a node check. */
  ServiceID?: string;
  /**
   * Details of an HTTP or TCP check (`HTTP`, `TCP`, `Interval`, `Timeout`, ...), kept for the record:
   * nothing runs a check registered through the catalog.
   */
  Definition?: Record<string, unknown>;
  /** Consul Enterprise: the namespace to act in; leave it out on OSS. */
  Namespace?: string;
}

/** The body of `PUT /v1/catalog/register`. */
export interface CatalogRegistration {
  /** The node's ID: a 36-character UUID. */
  ID?: string;
  /** The node's name. */
  Node: string;
  /** The node's address (an IP or host name). */
  Address: string;
  /** @defaultValue the agent's datacenter */
  Datacenter?: string;
  /** Further node addresses by tag (`lan`, `wan`, ...). */
  TaggedAddresses?: Record<string, string>;
  /** Free-form node metadata. */
  NodeMeta?: Record<string, string>;
  /** A service instance to add or update on the node; its `ID` defaults to its `Service`. */
  Service?: Partial<Omit<CatalogNodeService, 'CreateIndex' | 'ModifyIndex'>> & {
    /** The service's name. */
    Service: string;
  };
  /** A check to record; Consul stores its status but nothing runs it. */
  Check?: CatalogCheckRegistration;
  /** Several checks to record, instead of `Check`. */
  Checks?: CatalogCheckRegistration[];
  /** Leave the node's fields as they are when it exists already. */
  SkipNodeUpdate?: boolean;
}

/** The body of `PUT /v1/catalog/deregister`: the node, or one of its checks or services. */
export interface CatalogDeregistration {
  /** The node; given alone, the node is removed with all its services and checks. */
  Node: string;
  /** @defaultValue the agent's datacenter */
  Datacenter?: string;
  /** Remove only this check of the node. */
  CheckID?: string;
  /** Remove only this service instance of the node, with its checks. */
  ServiceID?: string;
  /** Consul Enterprise: the namespace to act in; leave it out on OSS. */
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
  /** Built by {@link ConsulClient}: use `client.catalog` rather than constructing this. */
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
