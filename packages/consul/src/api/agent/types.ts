import type { ConnectCaRoot } from '../connect.js';
import type { HealthCheck } from '../health.js';

/** A gossip pool member (`GET /v1/agent/members`, `agent/self`'s `Member`). */
export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  /** Serf status: 0 none, 1 alive, 2 leaving, 3 left, 4 failed. */
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/** `GET /v1/agent/self`: the agent's configuration, coordinate, member entry and stats. */
export interface AgentSelf {
  Config: {
    Datacenter: string;
    NodeName: string;
    NodeID: string;
    Server: boolean;
    Revision: string;
    Version: string;
    [field: string]: unknown;
  };
  /** The full runtime configuration; its shape changes between versions. */
  DebugConfig: Record<string, unknown>;
  Coord: { Vec: number[]; Error: number; Adjustment: number; Height: number } | null;
  Member: AgentMember;
  Stats: Record<string, Record<string, string>>;
  Meta: Record<string, string> | null;
  [field: string]: unknown;
}

/** One metric of `GET /v1/agent/metrics` (gauges and points). */
export interface AgentMetricValue {
  Name: string;
  Value: number;
  Labels: Record<string, string>;
}

/** One counter or sample of `GET /v1/agent/metrics`. */
export interface AgentMetricSummary {
  Name: string;
  Count: number;
  Sum: number;
  Min: number;
  Max: number;
  Mean: number;
  Stddev: number;
  Rate?: number;
  Labels: Record<string, string>;
}

/** `GET /v1/agent/metrics`: the most recent telemetry interval. */
export interface AgentMetrics {
  Timestamp: string;
  Gauges: AgentMetricValue[];
  Points: { Name: string; Points: number[] }[];
  Counters: AgentMetricSummary[];
  Samples: AgentMetricSummary[];
}

/** `GET /v1/agent/host` (1.7+): host facts from gopsutil; the schema is not stable. */
export interface AgentHostInfo {
  Memory: Record<string, unknown>;
  CPU: Record<string, unknown>[];
  Host: Record<string, unknown>;
  Disk: Record<string, unknown>;
  CollectionTime: number;
  Errors: Record<string, string> | null;
}

/** The agent ACL tokens `PUT /v1/agent/token/:type` sets, under their 1.8 names and legacy aliases. */
export type AgentTokenType =
  | 'default'
  | 'agent'
  | 'agent_master'
  | 'replication'
  | 'acl_token'
  | 'acl_agent_token'
  | 'acl_agent_master_token'
  | 'acl_replication_token';

/** A health status. `maintenance` appears only in aggregated agent health. */
export type AgentHealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

/** A check as the agent reports it (`GET /v1/agent/checks`): the catalog's, without `maintenance`. */
export interface AgentCheck extends Omit<HealthCheck, 'Status'> {
  Status: 'passing' | 'warning' | 'critical';
}

/** The definition of a check: exactly one kind (`TTL`, `HTTP`, `TCP`, `Args`, `GRPC`, `AliasService`, ...). */
export interface AgentCheckDefinition {
  Name: string;
  /** @defaultValue the name */
  ID?: string;
  CheckID?: string;
  Notes?: string;
  /** Initial status. @defaultValue `'critical'` */
  Status?: 'passing' | 'warning' | 'critical';
  /** Remove the service after it has been critical this long (`'90m'`). */
  DeregisterCriticalServiceAfter?: string;
  Args?: string[];
  DockerContainerID?: string;
  Shell?: string;
  HTTP?: string;
  Method?: string;
  Header?: Record<string, string[]>;
  Body?: string;
  TCP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  TLSSkipVerify?: boolean;
  AliasNode?: string;
  AliasService?: string;
  Interval?: string;
  Timeout?: string;
  /** A TTL check: the caller reports with pass/warn/fail/update within this time. */
  TTL?: string;
  OutputMaxSize?: number;
  SuccessBeforePassing?: number;
  FailuresBeforeCritical?: number;
}

/** `PUT /v1/agent/check/register`'s body: a check, optionally of a service. */
export interface AgentCheckRegistration extends AgentCheckDefinition {
  ServiceID?: string;
  Namespace?: string;
}

/** Proxy settings of a Connect proxy service. */
export interface AgentServiceProxy {
  DestinationServiceName?: string;
  DestinationServiceID?: string;
  LocalServiceAddress?: string;
  LocalServicePort?: number;
  Mode?: string;
  Config?: Record<string, unknown>;
  Upstreams?: Record<string, unknown>[];
  MeshGateway?: { Mode?: string };
  Expose?: Record<string, unknown>;
}

/** A tagged address. */
export interface AgentServiceAddress {
  Address: string;
  Port: number;
}

/** A service as the agent reports it (`GET /v1/agent/services`, `/v1/agent/service/:id`). */
export interface AgentService {
  ID: string;
  Service: string;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Port: number;
  Address: string;
  TaggedAddresses?: Record<string, AgentServiceAddress>;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  /** `''`, `connect-proxy`, `mesh-gateway`, `terminating-gateway`, `ingress-gateway`. */
  Kind?: string;
  Proxy?: AgentServiceProxy;
  Connect?: Record<string, unknown>;
  /** Only from `GET /v1/agent/service/:id`: the hash to block on. */
  ContentHash?: string;
  Namespace?: string;
  Datacenter?: string;
}

/** `PUT /v1/agent/service/register`'s body. */
export interface AgentServiceRegistration {
  Name: string;
  /** @defaultValue the name */
  ID?: string;
  Tags?: string[];
  Address?: string;
  TaggedAddresses?: Record<string, AgentServiceAddress>;
  Meta?: Record<string, string>;
  Port?: number;
  Kind?: string;
  Proxy?: AgentServiceProxy;
  Connect?: Record<string, unknown>;
  Check?: AgentCheckDefinition | Omit<AgentCheckDefinition, 'Name'>;
  Checks?: (AgentCheckDefinition | Omit<AgentCheckDefinition, 'Name'>)[];
  EnableTagOverride?: boolean;
  Weights?: { Passing: number; Warning: number };
  Namespace?: string;
}

/** One service and its checks, with their aggregate (`/v1/agent/health/service/...`). */
export interface AgentServiceChecksInfo {
  AggregatedStatus: AgentHealthStatus;
  Service: AgentService;
  Checks: AgentCheck[] | null;
}

/**
 * What the agent health calls resolve: the aggregate status (which Consul also encodes in the HTTP
 * status: 200 passing, 429 warning, 503 critical or maintenance) and the body.
 */
export interface AgentHealthResult<T> {
  status: AgentHealthStatus;
  data: T;
}

/** One CA root of `GET /v1/agent/connect/ca/roots`: the same shape as `GET /v1/connect/ca/roots`. */
export type AgentCaRoot = ConnectCaRoot;

/** `GET /v1/agent/connect/ca/roots`. */
export interface AgentCaRoots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: AgentCaRoot[];
}

/** `GET /v1/agent/connect/ca/leaf/:service`: a leaf certificate for a service. */
export interface AgentLeafCert {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `POST /v1/agent/connect/authorize`'s body. */
export interface AgentAuthorizeParams {
  /** The destination service name. */
  Target: string;
  /** The client certificate's SPIFFE URI (`spiffe://<trust-domain>/ns/default/dc/dc1/svc/web`). */
  ClientCertURI: string;
  ClientCertSerial: string;
  Namespace?: string;
}

/** `POST /v1/agent/connect/authorize`'s answer. */
export interface AgentAuthorizeResult {
  Authorized: boolean;
  Reason: string;
}
