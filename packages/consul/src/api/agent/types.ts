import type { ConnectCaRoot } from '../connect.js';
import type { HealthCheck } from '../health.js';

/** A gossip pool member (`GET /v1/agent/members`, `agent/self`'s `Member`). */
export interface AgentMember {
  /** The member's node name. */
  Name: string;
  /** The member's gossip address (an IP). */
  Addr: string;
  /** The member's gossip (Serf) port: by default 8301 in the LAN pool, 8302 in the WAN pool. */
  Port: number;
  /**
   * The Serf tags Consul sets: `role` (`consul` for servers, `node` for clients), `dc`, `build`, `port`
   * (a server's RPC port), `vsn`, ...
   */
  Tags: Record<string, string>;
  /** Serf status: 0 none, 1 alive, 2 leaving, 3 left, 4 failed. */
  Status: number;
  /** The lowest gossip (memberlist) protocol version the member speaks. */
  ProtocolMin: number;
  /** The highest gossip (memberlist) protocol version the member speaks. */
  ProtocolMax: number;
  /** The gossip (memberlist) protocol version the member uses now. */
  ProtocolCur: number;
  /** The lowest Serf (delegate) protocol version the member speaks. */
  DelegateMin: number;
  /** The highest Serf (delegate) protocol version the member speaks. */
  DelegateMax: number;
  /** The Serf (delegate) protocol version the member uses now. */
  DelegateCur: number;
}

/** `GET /v1/agent/self`: the agent's configuration, coordinate, member entry and stats. */
export interface AgentSelf {
  /** A stable subset of the agent's configuration (more fields than these may appear). */
  Config: {
    /** The agent's datacenter. */
    Datacenter: string;
    /** The agent's node name. */
    NodeName: string;
    /** The agent's node ID (a UUID). */
    NodeID: string;
    /** `true` for a server agent, `false` for a client. */
    Server: boolean;
    /** The git commit the Consul binary was built from. */
    Revision: string;
    /** The Consul version, without the `v` (`'1.8.7'`). */
    Version: string;
    [field: string]: unknown;
  };
  /** The full runtime configuration; its shape changes between versions. */
  DebugConfig: Record<string, unknown>;
  /**
   * The agent's LAN network coordinate (the fields of a `NetworkCoordinate`); `null` when the agent
   * runs with `disable_coordinates`.
   */
  Coord: {
    /** The Euclidean part, in seconds. */
    Vec: number[];
    /** How uncertain the estimate is (unitless; it starts at 1.5 and falls as the agent measures). */
    Error: number;
    /** An offset in seconds learned from recent round trips, added to distances. */
    Adjustment: number;
    /** An offset in seconds for the agent's own network link, added to every distance. */
    Height: number;
  } | null;
  /** The agent's own entry in the LAN gossip pool. */
  Member: AgentMember;
  /**
   * Runtime statistics by section (`agent`, `runtime`, `build`, `consul`, `serf_lan`, and on servers
   * `raft` and `serf_wan`); every value is a string, numbers included.
   */
  Stats: Record<string, Record<string, string>>;
  /** The node metadata (the agent's `node_meta` setting). */
  Meta: Record<string, string> | null;
  [field: string]: unknown;
}

/** One metric of `GET /v1/agent/metrics` (gauges and points). */
export interface AgentMetricValue {
  /** The metric's name (`'consul.runtime.alloc_bytes'`). */
  Name: string;
  /** The gauge's value: the last one set during the interval. */
  Value: number;
  /** The metric's labels (`{}` when it has none). */
  Labels: Record<string, string>;
}

/** One counter or sample of `GET /v1/agent/metrics`. */
export interface AgentMetricSummary {
  /** The metric's name (`'consul.raft.apply'`). */
  Name: string;
  /** How many values were recorded during the interval (for a counter: how many increments). */
  Count: number;
  /** The sum of those values (for a counter: its total increase; for a timer: milliseconds). */
  Sum: number;
  /** The smallest value recorded. */
  Min: number;
  /** The largest value recorded. */
  Max: number;
  /** The mean of the values (`Sum / Count`). */
  Mean: number;
  /** The sample standard deviation of the values (`0` with fewer than two). */
  Stddev: number;
  /** `Sum` per second of the interval; agents built with an older metrics library leave it out. */
  Rate?: number;
  /** The metric's labels (`{}` when it has none). */
  Labels: Record<string, string>;
}

/** `GET /v1/agent/metrics`: the most recent telemetry interval. */
export interface AgentMetrics {
  /**
   * The start of the interval (Consul aggregates over 10 s), in Go's time format
   * (`'2017-08-08 02:55:10 +0000 UTC'`), not ISO 8601.
   */
  Timestamp: string;
  /** The gauges: values that are set, not added up (memory allocated, sessions active, ...). */
  Gauges: AgentMetricValue[];
  /** Raw values emitted as points during the interval, by name; usually empty. */
  Points: {
    /** The metric's name. */
    Name: string;
    /** Every value emitted during the interval, in order. */
    Points: number[];
  }[];
  /** The counters: how often, and by how much, something was incremented during the interval. */
  Counters: AgentMetricSummary[];
  /** The samples, mostly timers in milliseconds (how long requests and operations took). */
  Samples: AgentMetricSummary[];
}

/** `GET /v1/agent/host` (1.7+): host facts from gopsutil; the schema is not stable. */
export interface AgentHostInfo {
  /** Memory figures in bytes (`total`, `available`, `used`, `usedPercent`, ...). */
  Memory: Record<string, unknown>;
  /** One entry per CPU (`cpu`, `modelName`, `mhz`, `cores`, ...). */
  CPU: Record<string, unknown>[];
  /** Host facts (`hostname`, `os`, `platform`, `kernelVersion`, `uptime` in seconds, ...). */
  Host: Record<string, unknown>;
  /** Usage of the file system that holds `/`, in bytes and percent. */
  Disk: Record<string, unknown>;
  /**
   * When the facts were gathered, in nanoseconds since the Unix epoch. The value exceeds
   * `Number.MAX_SAFE_INTEGER`, so its last digits are rounded.
   */
  CollectionTime: number;
  /**
   * One entry per section that could not be gathered (that section is then `null`); `null` when
   * every one was. Consul 1.8 encodes Go error values here, which reach JSON as objects that usually
   * carry no text (`{}`), so count them rather than read them.
   */
  Errors: unknown[] | null;
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
  /** The check's state as this agent last saw it (maintenance mode shows as a `critical` check). */
  Status: 'passing' | 'warning' | 'critical';
}

/** The definition of a check: exactly one kind (`TTL`, `HTTP`, `TCP`, `Args`, `GRPC`, `AliasService`, ...). */
export interface AgentCheckDefinition {
  /** The check's name, for people; required by `PUT /v1/agent/check/register`. */
  Name: string;
  /** @defaultValue the name */
  ID?: string;
  /**
   * The ID of a check given in a service registration (`Check`, `Checks`); a check registered alone
   * takes `ID`. Left out, Consul generates `service:<service ID>` (with `:1`, `:2`, ... for several).
   */
  CheckID?: string;
  /** Free text for operators; Consul does not interpret it. */
  Notes?: string;
  /** Initial status. @defaultValue `'critical'` */
  Status?: 'passing' | 'warning' | 'critical';
  /** Remove the service after it has been critical this long (`'90m'`). */
  DeregisterCriticalServiceAfter?: string;
  /**
   * A script check: the command and its arguments, run every `Interval` without a shell. The agent
   * must allow it (`enable_local_script_checks` or `enable_script_checks`).
   */
  Args?: string[];
  /** A Docker check: run `Args` in this container every `Interval`, through `Shell`. */
  DockerContainerID?: string;
  /** The shell of a Docker check (the only kind that uses one). @defaultValue `'/bin/sh'` */
  Shell?: string;
  /** An HTTP check: the URL requested every `Interval`; 2xx is passing, 429 warning, others critical. */
  HTTP?: string;
  /** The HTTP check's method. @defaultValue `'GET'` */
  Method?: string;
  /** Headers of the HTTP check's request; each header may have several values. */
  Header?: Record<string, string[]>;
  /** The body of the HTTP check's request. */
  Body?: string;
  /** A TCP check: the `host:port` connected to every `Interval`; passing when the connection opens. */
  TCP?: string;
  /**
   * A gRPC check: the `host:port` (optionally `host:port/service`) probed every `Interval` with the
   * standard gRPC health-checking protocol.
   */
  GRPC?: string;
  /** Use TLS for the gRPC check. @defaultValue `false` */
  GRPCUseTLS?: boolean;
  /** Skip verifying the server certificate of an HTTPS or gRPC-over-TLS check. @defaultValue `false` */
  TLSSkipVerify?: boolean;
  /** An alias check: mirror this node's health (with `AliasService`, that service's on this node). */
  AliasNode?: string;
  /** An alias check: mirror the health of this service ID (on `AliasNode` if set, else on this agent). */
  AliasService?: string;
  /**
   * How often the check runs, as a duration string (`'10s'`); required for script, Docker, HTTP, TCP
   * and gRPC checks.
   */
  Interval?: string;
  /**
   * How long one run may take before it counts as failed, as a duration string (`'5s'`). Consul's
   * default for HTTP, TCP and gRPC checks is 10 s.
   */
  Timeout?: string;
  /** A TTL check: the caller reports with pass/warn/fail/update within this time. */
  TTL?: string;
  /**
   * The most bytes of output kept for the check; the agent's `check_output_max_size` caps it.
   * @defaultValue 4096
   */
  OutputMaxSize?: number;
  /** Consecutive successes needed before the check turns `passing` (Consul 1.7+). @defaultValue 0 */
  SuccessBeforePassing?: number;
  /** Consecutive failures needed before the check turns `critical` (Consul 1.7+). @defaultValue 0 */
  FailuresBeforeCritical?: number;
}

/** `PUT /v1/agent/check/register`'s body: a check, optionally of a service. */
export interface AgentCheckRegistration extends AgentCheckDefinition {
  /** Attach the check to this service ID on the same agent; without it, the check is a node check. */
  ServiceID?: string;
  /** Consul Enterprise: the namespace to register in; leave it out on OSS. */
  Namespace?: string;
}

/** Proxy settings of a Connect proxy service. */
export interface AgentServiceProxy {
  /** The name of the service the proxy stands for; required for a `connect-proxy`. */
  DestinationServiceName?: string;
  /** The ID of the local instance the proxy fronts (set for sidecar proxies). */
  DestinationServiceID?: string;
  /** The address the proxy reaches the local instance at. @defaultValue `'127.0.0.1'` */
  LocalServiceAddress?: string;
  /** The port the proxy reaches the local instance at (a sidecar defaults to its service's port). */
  LocalServicePort?: number;
  /** `'transparent'` or `'direct'`: transparent proxying came with Consul 1.10; 1.8 leaves it out. */
  Mode?: string;
  /** Settings for the proxy itself (for Envoy, `protocol` and the like); Consul passes them on as is. */
  Config?: Record<string, unknown>;
  /** The services (or prepared queries) the proxy makes reachable locally, each on a local port. */
  Upstreams?: Record<string, unknown>[];
  /** How the proxy's traffic to other datacenters goes through mesh gateways. */
  MeshGateway?: {
    /** `'local'`, `'remote'` or `'none'`; `''` or absent takes the configured default. */
    Mode?: string;
  };
  /** Paths (such as health-check endpoints) the proxy exposes to clients outside the mesh. */
  Expose?: Record<string, unknown>;
}

/** A tagged address. */
export interface AgentServiceAddress {
  /** An IP address or host name. */
  Address: string;
  /** The service's port at that address. */
  Port: number;
}

/** A service as the agent reports it (`GET /v1/agent/services`, `/v1/agent/service/:id`). */
export interface AgentService {
  /** The instance's ID, unique on this agent. */
  ID: string;
  /** The service's name, shared by all its instances. */
  Service: string;
  /** The instance's tags (`[]` or `null` when it has none). */
  Tags: string[] | null;
  /** Free-form string metadata of the instance (`{}` or `null` when it has none). */
  Meta: Record<string, string> | null;
  /** The instance's port; `0` when none was registered. */
  Port: number;
  /** The instance's address; `''` means the node's address. */
  Address: string;
  /** Further addresses of the instance by tag (`lan`, `wan`, ...); absent when there are none. */
  TaggedAddresses?: Record<string, AgentServiceAddress>;
  /** The instance's DNS SRV weights, by its health (DNS leaves critical instances out). */
  Weights: {
    /** The weight while every check passes. */
    Passing: number;
    /** The weight while a check warns. */
    Warning: number;
  };
  /** Whether tags changed in the catalog are kept instead of being reverted by anti-entropy. */
  EnableTagOverride: boolean;
  /** `''`, `connect-proxy`, `mesh-gateway`, `terminating-gateway`, `ingress-gateway`. */
  Kind?: string;
  /** The proxy settings of a `connect-proxy` or gateway instance. */
  Proxy?: AgentServiceProxy;
  /** Connect settings (`{ Native: true }` for a Connect-native service). */
  Connect?: Record<string, unknown>;
  /** Only from `GET /v1/agent/service/:id`: the hash to block on. */
  ContentHash?: string;
  /** Consul Enterprise: the instance's namespace; absent on OSS. */
  Namespace?: string;
  /** The datacenter of the agent that holds the instance, when the agent reports it. */
  Datacenter?: string;
}

/** `PUT /v1/agent/service/register`'s body. */
export interface AgentServiceRegistration {
  /** The service's name; the instances of one service share it. */
  Name: string;
  /** @defaultValue the name */
  ID?: string;
  /** Tags to filter on in queries and DNS. */
  Tags?: string[];
  /** The instance's address. @defaultValue the node's address */
  Address?: string;
  /** Further addresses of the instance by tag (`lan`, `wan`, ...). */
  TaggedAddresses?: Record<string, AgentServiceAddress>;
  /** Free-form string metadata of the instance. */
  Meta?: Record<string, string>;
  /** The instance's port. @defaultValue 0 */
  Port?: number;
  /**
   * `''` (the default) for a typical service; `connect-proxy`, `mesh-gateway`, `terminating-gateway`
   * or `ingress-gateway`.
   */
  Kind?: string;
  /** The proxy settings; only for the proxy and gateway kinds. */
  Proxy?: AgentServiceProxy;
  /**
   * Connect settings: `{ Native: true }` for a Connect-native service, or `{ SidecarService: {} }` to
   * register a sidecar proxy along with the service.
   */
  Connect?: Record<string, unknown>;
  /** One check for the service; Consul names it when `Name` is left out. */
  Check?: AgentCheckDefinition | Omit<AgentCheckDefinition, 'Name'>;
  /** Several checks for the service, instead of `Check`. */
  Checks?: (AgentCheckDefinition | Omit<AgentCheckDefinition, 'Name'>)[];
  /** Keep tags changed in the catalog instead of reverting them by anti-entropy. @defaultValue `false` */
  EnableTagOverride?: boolean;
  /** DNS SRV weights by health. @defaultValue `{ Passing: 1, Warning: 1 }` */
  Weights?: {
    /** The weight while every check passes. */
    Passing: number;
    /** The weight while a check warns. */
    Warning: number;
  };
  /** Consul Enterprise: the namespace to register in; leave it out on OSS. */
  Namespace?: string;
}

/** One service and its checks, with their aggregate (`/v1/agent/health/service/...`). */
export interface AgentServiceChecksInfo {
  /** The worst status among the checks; `maintenance` while the instance or its node is in maintenance. */
  AggregatedStatus: AgentHealthStatus;
  /** The instance. */
  Service: AgentService;
  /** The checks that make up the aggregate (`null` or `[]` when there are none). */
  Checks: AgentCheck[] | null;
}

/**
 * What the agent health calls resolve: the aggregate status (which Consul also encodes in the HTTP
 * status: 200 passing, 429 warning, 503 critical or maintenance) and the body.
 */
export interface AgentHealthResult<T> {
  /**
   * The aggregate: by ID, the body's `AggregatedStatus`; by name, the worst over all instances (read
   * from the HTTP status), and `maintenance` only when every instance is in maintenance.
   */
  status: AgentHealthStatus;
  /** The decoded body: one entry by ID, one per instance by name. */
  data: T;
}

/** One CA root of `GET /v1/agent/connect/ca/roots`: the same shape as `GET /v1/connect/ca/roots`. */
export type AgentCaRoot = ConnectCaRoot;

/** `GET /v1/agent/connect/ca/roots`. */
export interface AgentCaRoots {
  /** The `ID` of the root that signs new certificates. */
  ActiveRootID: string;
  /** The cluster's SPIFFE trust domain (`<cluster ID>.consul`), part of every service URI. */
  TrustDomain: string;
  /** Every trusted root: the active one, and older ones still trusted during a rotation. */
  Roots: AgentCaRoot[];
}

/** `GET /v1/agent/connect/ca/leaf/:service`: a leaf certificate for a service. */
export interface AgentLeafCert {
  /** The certificate's serial number in colon-separated hex (`'0b'`, `'01:2f'`). */
  SerialNumber: string;
  /** The certificate, PEM-encoded. */
  CertPEM: string;
  /** The certificate's private key, PEM-encoded: a secret. */
  PrivateKeyPEM: string;
  /** The name of the service the certificate identifies. */
  Service: string;
  /** The certificate's SPIFFE URI SAN (`spiffe://<trust domain>/ns/default/dc/dc1/svc/web`). */
  ServiceURI: string;
  /** The start of the validity period, an RFC 3339 timestamp. */
  ValidAfter: string;
  /** The end of the validity period, an RFC 3339 timestamp; the agent renews the certificate before it. */
  ValidBefore: string;
  /** An index Consul attaches to the issued certificate; block on `meta.index`, not on this. */
  CreateIndex: number;
  /** An index Consul attaches to the issued certificate; block on `meta.index`, not on this. */
  ModifyIndex: number;
}

/** `POST /v1/agent/connect/authorize`'s body. */
export interface AgentAuthorizeParams {
  /** The destination service name. */
  Target: string;
  /** The client certificate's SPIFFE URI (`spiffe://<trust-domain>/ns/default/dc/dc1/svc/web`). */
  ClientCertURI: string;
  /** The client certificate's serial number in colon-separated hex. */
  ClientCertSerial: string;
  /** Consul Enterprise: the namespace of `Target`; leave it out on OSS. */
  Namespace?: string;
}

/** `POST /v1/agent/connect/authorize`'s answer. */
export interface AgentAuthorizeResult {
  /** Whether the client may connect to the target. */
  Authorized: boolean;
  /** Why, for logs: the intention that matched, or the default that applied. */
  Reason: string;
}
