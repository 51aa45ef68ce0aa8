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
export * from './api/status.js';
// Every endpoint group's class and types. Type names are unique across groups (prefix generic ones).
export * from './api/acl.js';
export * from './api/agent.js';
export * from './api/catalog.js';
export * from './api/config.js';
export * from './api/connect.js';
export * from './api/coordinate.js';
export * from './api/discovery-chain.js';
export * from './api/event.js';
export * from './api/health.js';
export * from './api/internal.js';
export * from './api/kv.js';
export * from './api/operator.js';
export * from './api/query.js';
export * from './api/session.js';
export * from './api/snapshot.js';
export * from './api/txn.js';
// Coordination: values and flags, watches, locks, semaphores.
export * from './codec.js';
export * from './watch/consul-watch.js';
export {
  ConsulBlockingSource,
  isTerminal,
  type WatchMethod,
  type AnswerKind,
  type BlockingHandler,
  type BlockingSourceOptions,
} from './watch/source.js';
export * from './lock.js';
export * from './semaphore.js';
// The polykv Store over Consul (and `openStore('consul://...')`).
export { createConsulStore, ConsulStore } from './store/store.js';
export type { ConsulStoreOptions } from './store/common.js';
export type { ConsulStoreLockOptions } from './store/lock.js';
export type { ConsulStoreSemaphoreOptions } from './store/semaphore.js';
export type { AcquireOptions } from './holding.js';
export { storeFromUrl } from './store/url.js';
