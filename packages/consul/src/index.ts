export { ConsulClient, type KvWatchOptions } from './client.js';
export { SharedKvReads, type SharedKvReadOptions } from './watch/shared-polls.js';
export { ConsulError, isConsulError, type ConsulErrorCode, type AgentFailure } from './errors.js';
export type {
  ConsulCallOptions,
  QueryOptions,
  WriteOptions,
  ConsulClientOptions,
  ConsulTlsOptions,
  QueryMeta,
  ConsulResult,
  SharedWatchOptions,
} from './options.js';
export type { RequestSpec, ResponseOf } from './wire.js';
// Every endpoint group's class and its types, named one by one: what is not listed here (codec
// helpers, request plumbing) is internal and may change in any release.
export { Status } from './api/status.js';
export {
  Acl,
  AclTokens,
  AclPolicies,
  AclRoles,
  AclAuthMethods,
  AclBindingRules,
  AclLegacy,
  type AclTokenListOptions,
  type AclRoleListOptions,
  type AclBindingRuleListOptions,
  type AclLink,
  type AclServiceIdentity,
  type AclNodeIdentity,
  type AclTokenWrite,
  type AclToken,
  type AclTokenListEntry,
  type AclPolicyWrite,
  type AclPolicy,
  type AclPolicyListEntry,
  type AclRoleWrite,
  type AclRole,
  type AclAuthMethodType,
  type AclAuthMethodWrite,
  type AclAuthMethod,
  type AclAuthMethodListEntry,
  type AclBindingRuleWrite,
  type AclBindingRule,
  type AclLoginParams,
  type AclReplicationStatus,
  type AclLegacyToken,
  type AclLegacyTokenWrite,
} from './api/acl.js';
export {
  Agent,
  AgentChecks,
  AgentServices,
  AgentConnect,
  type AgentServiceRegisterOptions,
  type AgentMembersOptions,
  type AgentMonitorOptions,
  type AgentMember,
  type AgentSelf,
  type AgentMetricValue,
  type AgentMetricSummary,
  type AgentMetrics,
  type AgentHostInfo,
  type AgentTokenType,
  type AgentHealthStatus,
  type AgentCheck,
  type AgentCheckDefinition,
  type AgentCheckRegistration,
  type AgentServiceProxy,
  type AgentServiceAddress,
  type AgentService,
  type AgentServiceRegistration,
  type AgentServiceChecksInfo,
  type AgentHealthResult,
  type AgentCaRoot,
  type AgentCaRoots,
  type AgentLeafCert,
  type AgentAuthorizeParams,
  type AgentAuthorizeResult,
} from './api/agent.js';
export {
  Catalog,
  type CatalogNode,
  type CatalogServiceAddress,
  type CatalogNodeService,
  type CatalogServiceNode,
  type CatalogNodeWithServices,
  type CatalogNodeServiceList,
  type CatalogGatewayService,
  type CatalogCheckRegistration,
  type CatalogRegistration,
  type CatalogDeregistration,
  type CatalogServiceOptions,
} from './api/catalog.js';
export {
  Config,
  type ConfigEntryKind,
  type ConfigEntry,
  type ServiceDefaultsConfigEntry,
  type ProxyDefaultsConfigEntry,
  type ConfigApplyOptions,
} from './api/config.js';
export {
  Connect,
  ConnectCa,
  ConnectIntentions,
  type ConnectCaRoot,
  type ConnectCaRoots,
  type ConnectCaConfig,
  type Intention,
  type IntentionInput,
  type IntentionCheckOptions,
} from './api/connect.js';
export {
  Coordinate,
  type NetworkCoordinate,
  type CoordinateEntry,
  type CoordinateDatacenterMap,
} from './api/coordinate.js';
export {
  DiscoveryChain,
  type DiscoveryGraphNode,
  type DiscoveryTarget,
  type CompiledDiscoveryChain,
  type DiscoveryChainOptions,
  type DiscoveryChainOverrides,
} from './api/discovery-chain.js';
export {
  Event,
  eventIdToIndex,
  type UserEvent,
  type EventFireOptions,
  type EventListOptions,
} from './api/event.js';
export {
  Health,
  type HealthStatus,
  type HealthCheck,
  type HealthServiceEntry,
  type HealthServiceOptions,
} from './api/health.js';
export {
  Internal,
  type InternalUiNode,
  type InternalUiService,
  type InternalUiGatewayService,
  type InternalAclAuthorizationRequest,
  type InternalAclAuthorizationResponse,
  type InternalFederationState,
} from './api/internal.js';
export {
  Kv,
  kvText,
  type KvPair,
  type KvKeysOptions,
  type KvPutOptions,
  type KvDeleteOptions,
} from './api/kv.js';
export {
  Operator,
  OperatorRaft,
  OperatorAutopilot,
  OperatorKeyring,
  type RaftServer,
  type RaftConfiguration,
  type AutopilotConfiguration,
  type AutopilotServerHealth,
  type AutopilotHealth,
  type KeyringPool,
  type KeyringOptions,
} from './api/operator.js';
export {
  Query,
  type PreparedQueryService,
  type PreparedQueryInput,
  type PreparedQuery,
  type PreparedQueryExecuteResult,
  type PreparedQueryExecuteOptions,
} from './api/query.js';
export {
  Session,
  type SessionEntry,
  type SessionCreateRequest,
  type SessionRenewPeriodicOptions,
} from './api/session.js';
export { Snapshot } from './api/snapshot.js';
export {
  Txn,
  type TxnKvVerb,
  type TxnCatalogVerb,
  type TxnKvOp,
  type TxnNode,
  type TxnService,
  type TxnCheck,
  type TxnOp,
  type TxnResult,
  type TxnOpError,
  type TxnResponse,
} from './api/txn.js';
// Consul's limits and the value type; the base64, flags and path helpers stay internal.
export { KV_MAX_VALUE_SIZE, TXN_MAX_OPS, type ConsulValue } from './codec.js';
// Coordination: watches, locks, semaphores.
export { ConsulWatch, type ConsulWatchOptions, type ConsulWatchEvents } from './watch/consul-watch.js';
export {
  ConsulBlockingSource,
  isTerminal,
  type WatchMethod,
  type AnswerKind,
  type BlockingHandler,
  type BlockingSourceOptions,
} from './watch/source.js';
export {
  ConsulLock,
  LOCK_FLAG_VALUE,
  type ConsulLockOptions,
  type ConsulLockHeld,
  type ConsulLockEvents,
} from './lock.js';
export {
  ConsulSemaphore,
  SEMAPHORE_FLAG_VALUE,
  SEMAPHORE_LOCK_KEY,
  type ConsulSemaphoreOptions,
  type ConsulSemaphoreHeld,
  type ConsulSemaphoreEvents,
} from './semaphore.js';
// The polykv Store over Consul (and `openStore('consul://...')`).
export { createConsulStore, ConsulStore } from './store/store.js';
export type { ConsulStoreOptions } from './store/common.js';
export type { ConsulStoreLockOptions } from './store/lock.js';
export type { ConsulStoreSemaphoreOptions } from './store/semaphore.js';
export type { AcquireOptions } from './holding.js';
export { storeFromUrl } from './store/url.js';
