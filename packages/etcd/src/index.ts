export { EtcdClient, type EtcdClientEvents } from './client.js';
export type {
  EtcdClientOptions,
  EtcdCallOptions,
  EtcdTlsOptions,
  EtcdRefreshOptions,
  EtcdSharedWatchOptions,
  ResolvedEtcdOptions,
} from './options.js';
export {
  EtcdError,
  AllHostsFailedError,
  isEtcdError,
  EtcdErrorCodes,
  type EtcdErrorCode,
  type EtcdErrorFields,
  type EtcdHostFailure,
} from './errors.js';
export { HostPool } from '@polykv/core';
export type { EtcdRequest, EtcdResponse, RequestFn } from './request.js';
export {
  KeysApi,
  keyPath,
  type EtcdNode,
  type EtcdResult,
  type EtcdEmptyWait,
  type EtcdGetOptions,
  type EtcdWaitOptions,
  type EtcdSetOptions,
  type EtcdCreateOptions,
  type EtcdDelOptions,
} from './api/keys.js';
export { MembersApi, type EtcdMember } from './api/members.js';
export { StatsApi, type EtcdSelfStats } from './api/stats.js';
export {
  AuthApi,
  type EtcdUser,
  type EtcdRole,
  type EtcdUserChange,
  type EtcdRoleChange,
} from './api/auth.js';
export { ClusterApi } from './api/cluster.js';
export {
  EtcdWatcher,
  type EtcdWatcherOptions,
  type EtcdWatcherEvents,
  type EtcdWatchEvent,
  type EtcdReconnectInfo,
  type EtcdResyncInfo,
} from './watch/watcher.js';
export { EtcdPollSource, type EtcdSourceHandler, type EtcdSourceOptions } from './watch/source.js';
export { SharedWaits, type SharedWaitsOptions } from './watch/shared-polls.js';
export { watchRead, type WaitSource, type WatchReadOptions } from './watch/wait-source.js';
export { SharedReads, type SharedReadsOptions } from './watch/batched-reads.js';
export { createEtcdStore, storeFromUrl, EtcdStore, type EtcdStoreOptions } from './store.js';
export { discoverHosts } from './discovery.js';
