import type { ConsulResult, QueryOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One node of a compiled chain: a router, splitter or resolver. */
export interface DiscoveryGraphNode {
  Type: 'router' | 'splitter' | 'resolver';
  Name: string;
  Routes?: Record<string, unknown>[];
  Splits?: Record<string, unknown>[];
  Resolver?: {
    ConnectTimeout: string;
    Default?: boolean;
    Target: string;
    Failover?: { Targets: string[] };
  };
}

/** A target a chain can end at: a service subset in a datacenter. */
export interface DiscoveryTarget {
  ID: string;
  Service: string;
  ServiceSubset?: string;
  Namespace: string;
  Datacenter: string;
  MeshGateway: { Mode?: string };
  Subset: { Filter?: string; OnlyPassing?: boolean };
  External?: boolean;
  SNI: string;
  Name: string;
}

/** A compiled discovery chain. */
export interface CompiledDiscoveryChain {
  ServiceName: string;
  Namespace: string;
  Datacenter: string;
  /** Set when overrides changed the chain. */
  CustomizationHash?: string;
  Protocol: string;
  StartNode: string;
  Nodes: Record<string, DiscoveryGraphNode>;
  Targets: Record<string, DiscoveryTarget>;
}

/** Options of {@link DiscoveryChain.get}. */
export interface DiscoveryChainOptions extends QueryOptions {
  /** The datacenter to compile the chain for (`?compile-dc=`). */
  compileDc?: string;
}

/** The overrides body of `POST /v1/discovery-chain/:service`. */
export interface DiscoveryChainOverrides {
  /** Overrides the resolvers' connect timeout, as a duration (`'5s'`). */
  OverrideConnectTimeout?: string;
  /** Overrides the protocol of the chain (`tcp`, `http`, `http2`, `grpc`). */
  OverrideProtocol?: string;
  /** Overrides the mesh gateway mode (`none`, `local`, `remote`). */
  OverrideMeshGateway?: { Mode: string };
  /** The datacenter to evaluate the chain in. */
  EvaluateInDatacenter?: string;
}

/**
 * `/v1/discovery-chain` (Consul 1.6+): the compiled routing of a service, for proxy integrations.
 * @see https://developer.hashicorp.com/consul/api-docs/discovery-chain
 */
export class DiscoveryChain {
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/discovery-chain/:service`, or `POST` with `overrides`: the chain compiled from the
   * service's config entries (blocks with `index`/`wait`; `cached` supported).
   * @see https://developer.hashicorp.com/consul/api-docs/discovery-chain#read-compiled-discovery-chain
   */
  async get(
    service: string,
    overrides?: DiscoveryChainOverrides,
    options?: DiscoveryChainOptions,
  ): Promise<ConsulResult<{ Chain: CompiledDiscoveryChain }>> {
    const { data, meta } = await this.transport.request<{ Chain: CompiledDiscoveryChain }>({
      method: overrides ? 'POST' : 'GET',
      path: `/v1/discovery-chain/${encodeURIComponent(service)}`,
      query: { 'compile-dc': options?.compileDc },
      body: overrides,
      options,
      extraOptions: ['compileDc'],
      // A POST here only reads.
      idempotent: true,
    });
    return { data, meta };
  }
}
