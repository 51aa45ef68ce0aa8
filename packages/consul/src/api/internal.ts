import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { CatalogNodeService } from './catalog.js';
import type { HealthCheck } from './health.js';

/** A node with its services and checks, as the UI shows it. Undocumented: fields may change. */
export interface InternalUiNode {
  /** The node's ID (a UUID); empty for a node registered through the catalog without one. */
  ID: string;
  /** The node's name. */
  Node: string;
  /** The node's address, as registered (an IP or host name). */
  Address: string;
  /** The node's datacenter, where the server sends it. */
  Datacenter?: string;
  /** Extra addresses by tag (`lan`, `wan`, `lan_ipv4`, ...); `null` when none. */
  TaggedAddresses: Record<string, string> | null;
  /** The node's key/value metadata; `null` when none. */
  Meta: Record<string, string> | null;
  /** The service instances registered on the node; `null` or `[]` when none. */
  Services: CatalogNodeService[] | null;
  /** The node's checks and those of its services; `null` or `[]` when none. */
  Checks: HealthCheck[] | null;
}

/** A service summary, as the UI lists it. Undocumented: fields may change. */
export interface InternalUiService {
  /** The service's name. */
  Name: string;
  /** The kind of service (`connect-proxy`, `mesh-gateway`, ...); absent for a plain service. */
  Kind?: string;
  /** Every tag found on any instance, once each; `null` when none. */
  Tags: string[] | null;
  /** Names of the nodes running an instance; `null` when none. */
  Nodes: string[] | null;
  /** How many instances are registered. */
  InstanceCount: number;
  /** How many of the checks on the instances (and their nodes) pass. */
  ChecksPassing: number;
  /** How many of the checks on the instances (and their nodes) warn. */
  ChecksWarning: number;
  /** How many of the checks on the instances (and their nodes) are critical. */
  ChecksCritical: number;
  /** The distinct `external-source` meta values of the instances (e.g. `kubernetes`); `null` when none. */
  ExternalSources?: string[] | null;
  /** What the UI shows for a gateway (e.g. `AssociatedServiceCount`); empty for other services. */
  GatewayConfig?: Record<string, unknown>;
  /** Enterprise: the service's namespace; OSS leaves it out. */
  Namespace?: string;
  [field: string]: unknown;
}

/** A gateway's linked service with its instances, as the UI shows it. Undocumented. */
export interface InternalUiGatewayService {
  /** The linked service's name. */
  Name: string;
  [field: string]: unknown;
}

/** One question to `POST /v1/internal/acl/authorize`. */
export interface InternalAclAuthorizationRequest {
  /** `acl`, `agent`, `event`, `intention`, `key`, `keyring`, `node`, `operator`, `query`, `service`, `session`. */
  Resource: string;
  /** The resource's name, where it has one (a service name, a key, ...). */
  Segment?: string;
  /** `read`, `write`, `list`. */
  Access: string;
}

/** The answer to one {@link InternalAclAuthorizationRequest}. */
export interface InternalAclAuthorizationResponse extends InternalAclAuthorizationRequest {
  /** `true` if the token has this access. */
  Allow: boolean;
}

/** The federation state of a datacenter (WAN federation through mesh gateways). */
export interface InternalFederationState {
  /** The datacenter this state describes. */
  Datacenter: string;
  /** The datacenter's mesh gateway instances with their node and checks; absent or `null` when none. */
  MeshGateways?: Record<string, unknown>[] | null;
  /** When the record was last written (RFC 3339). */
  UpdatedAt: string;
  /** The record's `ModifyIndex` in the primary datacenter, which secondaries replicate it from. */
  PrimaryModifyIndex: number;
  /** The Raft index at which it was created here. */
  CreateIndex: number;
  /** The Raft index of its last change here. */
  ModifyIndex: number;
}

/**
 * `/v1/internal`: the routes Consul 1.8.7 serves for its own UI and tooling.
 *
 * **Undocumented and unstable**: HashiCorp does not document these routes and changes them between
 * versions (several of them are gone or different in later releases). Use them only when no
 * documented route gives the same answer.
 * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/http_register.go
 */
export class Internal {
  /** Made by {@link ConsulClient}; use it as `consul.internal`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/internal/ui/nodes`: every node with its services and checks. Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/ui_endpoint.go
   */
  async uiNodes(options?: QueryOptions): Promise<ConsulResult<InternalUiNode[]>> {
    return this.#read('/v1/internal/ui/nodes', options);
  }

  /**
   * `GET /v1/internal/ui/node/:node`: one node with its services and checks; `data` is `null` for an
   * unknown node. Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/ui_endpoint.go
   */
  async uiNode(node: string, options?: QueryOptions): Promise<ConsulResult<InternalUiNode | null>> {
    return this.#read(`/v1/internal/ui/node/${encodeURIComponent(node)}`, options, true);
  }

  /**
   * `GET /v1/internal/ui/services`: a summary per service (instances, check counts). Undocumented,
   * unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/ui_endpoint.go
   */
  async uiServices(options?: QueryOptions): Promise<ConsulResult<InternalUiService[]>> {
    return this.#read('/v1/internal/ui/services', options);
  }

  /**
   * `GET /v1/internal/ui/gateway-services-nodes/:gateway`: the services linked to a gateway with
   * their instances. Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/ui_endpoint.go
   */
  async uiGatewayServicesNodes(
    gateway: string,
    options?: QueryOptions,
  ): Promise<ConsulResult<InternalUiGatewayService[]>> {
    return this.#read(`/v1/internal/ui/gateway-services-nodes/${encodeURIComponent(gateway)}`, options);
  }

  /**
   * `POST /v1/internal/acl/authorize`: asks which of these accesses the token has (read-only; the UI
   * uses it to show or hide controls). Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/acl_endpoint.go
   */
  async aclAuthorize(
    requests: InternalAclAuthorizationRequest[],
    options?: WriteOptions,
  ): Promise<InternalAclAuthorizationResponse[]> {
    return (
      await this.transport.request<InternalAclAuthorizationResponse[]>({
        method: 'POST',
        path: '/v1/internal/acl/authorize',
        body: requests,
        options,
        idempotent: true,
      })
    ).data;
  }

  /**
   * `GET /v1/internal/federation-states`: the federation state of every datacenter. Undocumented,
   * unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/federation_state_endpoint.go
   */
  async federationStates(options?: QueryOptions): Promise<ConsulResult<InternalFederationState[]>> {
    return this.#read('/v1/internal/federation-states', options);
  }

  /**
   * `GET /v1/internal/federation-states/mesh-gateways`: the mesh gateways of each datacenter, keyed by
   * datacenter. Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/federation_state_endpoint.go
   */
  async federationStateMeshGateways(
    options?: QueryOptions,
  ): Promise<ConsulResult<Record<string, Record<string, unknown>[]>>> {
    return this.#read('/v1/internal/federation-states/mesh-gateways', options);
  }

  /**
   * `GET /v1/internal/federation-state/:datacenter`: one datacenter's federation state; `data` is
   * `null` when there is none. Undocumented, unstable.
   * @see https://github.com/hashicorp/consul/blob/v1.8.7/agent/federation_state_endpoint.go
   */
  async federationState(
    datacenter: string,
    options?: QueryOptions,
  ): Promise<
    ConsulResult<{
      /** The datacenter's federation state. */
      State: InternalFederationState;
      /** The Raft index of this answer (as in `X-Consul-Index`). */
      Index?: number;
      /** Nanoseconds since the answering server last heard from the leader (0 on the leader). */
      LastContact?: number;
      /** Whether the answering server knew of a leader. */
      KnownLeader?: boolean;
      /** The consistency the read was served with: `leader`, `stale` or `consistent`. */
      ConsistencyLevel?: string;
    } | null>
  > {
    return this.#read(`/v1/internal/federation-state/${encodeURIComponent(datacenter)}`, options, true);
  }

  async #read<T>(
    path: string,
    options: QueryOptions | undefined,
    nullOn404 = false,
  ): Promise<ConsulResult<T>> {
    const { data, meta } = await this.transport.request<T>({ method: 'GET', path, options, nullOn404 });
    return { data, meta };
  }
}
