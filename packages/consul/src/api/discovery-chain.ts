import type { ConsulResult, QueryOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One node of a compiled chain: a router, splitter or resolver. */
export interface DiscoveryGraphNode {
  /** Which stage of the chain the node is. */
  Type: 'router' | 'splitter' | 'resolver';
  /** The node's name, unique within this compilation. */
  Name: string;
  /** Routers only: the routes in order, each `{ Definition, NextNode }` (`NextNode` is a key of `Nodes`). */
  Routes?: Record<string, unknown>[];
  /** Splitters only: the splits, each `{ Weight, NextNode }` (`Weight` in percent of the traffic). */
  Splits?: Record<string, unknown>[];
  /** Resolvers only: how to find the instances. */
  Resolver?: {
    /** The timeout for connecting to an instance, as a duration (`'5s'` when the resolver sets none). */
    ConnectTimeout: string;
    /** `true` when no `service-resolver` entry exists and Consul made up a default one. */
    Default?: boolean;
    /** The key in `Targets` whose instances to use. */
    Target: string;
    /** Where to go when the target has no healthy instance; absent without failover. */
    Failover?: {
      /** Keys in `Targets` to fail over to, in order of preference. */
      Targets: string[];
    };
  };
}

/** A target a chain can end at: a service subset in a datacenter. */
export interface DiscoveryTarget {
  /** The target's key in `Targets`, e.g. `v1.web.default.dc2`. */
  ID: string;
  /** The service whose instances to look up. */
  Service: string;
  /** The resolver subset to use; absent for the whole service. */
  ServiceSubset?: string;
  /** The namespace to look the instances up in (`default` on OSS). */
  Namespace: string;
  /** The datacenter to look the instances up in. */
  Datacenter: string;
  /** The mesh gateway use for connections to this target; `{}` when none applies. */
  MeshGateway: {
    /** `none`, `local` or `remote`; empty leaves the choice to another layer of configuration. */
    Mode?: string;
  };
  /** The subset's definition from the `service-resolver` entry; `{}` for the whole service. */
  Subset: {
    /** A filter expression selecting the instances; empty selects every healthy instance. */
    Filter?: string;
    /** `true`: only instances whose checks all pass count as healthy (else `warning` counts too). */
    OnlyPassing?: boolean;
  };
  /** `true` when the target is outside this Consul cluster. */
  External?: boolean;
  /** The TLS SNI to use when connecting to the target's instances. */
  SNI: string;
  /** A unique name for load-balancer objects built for the target; like `SNI`, but never customized. */
  Name: string;
}

/** A compiled discovery chain. */
export interface CompiledDiscoveryChain {
  /** The service asked for. */
  ServiceName: string;
  /** The namespace asked for (`default` on OSS). */
  Namespace: string;
  /** The datacenter the chain was compiled for (`compileDc`, else the agent's). */
  Datacenter: string;
  /** Set when overrides changed the chain. */
  CustomizationHash?: string;
  /** The protocol of the whole chain: `tcp`, `http`, `http2` or `grpc`. */
  Protocol: string;
  /** The key in `Nodes` to start walking from. */
  StartNode: string;
  /** The chain's nodes by name; the names are opaque and stable only within one compilation. */
  Nodes: Record<string, DiscoveryGraphNode>;
  /** Every target the chain uses, by ID; the IDs are opaque and stable only within one compilation. */
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
  OverrideMeshGateway?: {
    /** `none`, `local` or `remote`. */
    Mode: string;
  };
  /** The datacenter to evaluate the chain in. */
  EvaluateInDatacenter?: string;
}

/**
 * `/v1/discovery-chain` (Consul 1.6+): the compiled routing of a service, for proxy integrations.
 * @see https://developer.hashicorp.com/consul/api-docs/discovery-chain
 */
export class DiscoveryChain {
  /** Made by {@link ConsulClient}; use it as `consul.discoveryChain`. */
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
  ): Promise<
    ConsulResult<{
      /** The compiled chain. */
      Chain: CompiledDiscoveryChain;
    }>
  > {
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
