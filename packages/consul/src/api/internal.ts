import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { CatalogNodeService } from './catalog.js';
import type { HealthCheck } from './health.js';

/** A node with its services and checks, as the UI shows it. Undocumented: fields may change. */
export interface InternalUiNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter?: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  Services: CatalogNodeService[] | null;
  Checks: HealthCheck[] | null;
}

/** A service summary, as the UI lists it. Undocumented: fields may change. */
export interface InternalUiService {
  Name: string;
  Kind?: string;
  Tags: string[] | null;
  Nodes: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  ExternalSources?: string[] | null;
  GatewayConfig?: Record<string, unknown>;
  Namespace?: string;
  [field: string]: unknown;
}

/** A gateway's linked service with its instances, as the UI shows it. Undocumented. */
export interface InternalUiGatewayService {
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
  Allow: boolean;
}

/** The federation state of a datacenter (WAN federation through mesh gateways). */
export interface InternalFederationState {
  Datacenter: string;
  MeshGateways?: Record<string, unknown>[] | null;
  UpdatedAt: string;
  PrimaryModifyIndex: number;
  CreateIndex: number;
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
      State: InternalFederationState;
      Index?: number;
      LastContact?: number;
      KnownLeader?: boolean;
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
