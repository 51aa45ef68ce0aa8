export { Etcd3Client } from './client.js';
export {
  resolveOptions,
  normalizeHost,
  type Etcd3ClientOptions,
  type Etcd3CallOptions,
  type Etcd3TlsOptions,
  type ResolvedEtcd3Options,
} from './options.js';
export {
  Etcd3Error,
  Etcd3AllHostsFailedError,
  isEtcd3Error,
  GrpcStatus,
  type Etcd3ErrorCode,
  type Etcd3ErrorFields,
  type Etcd3HostFailure,
} from './errors.js';
export { rpc, type Rpc, type CallFn, type CallSpec } from './request.js';
export { Writer, Reader, prefixEnd, type BytesLike } from './proto/wire.js';
export type {
  HeaderOnlyResponse,
  ResponseHeader,
  KeyValue,
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Compare,
  CompareTarget,
  CompareResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  SortOrder,
  SortTarget,
} from './proto/kv.js';
export type { WatchEvent } from './proto/watch.js';
export { KvApi, type KeyRange, type RangeOptions, type PutOptions, type DeleteOptions } from './api/kv.js';
export {
  LeaseApi,
  LeaseKeeper,
  type LeaseGrant,
  type LeaseTimeToLive,
  type LeaseKeeperEvents,
} from './api/lease.js';
export { ClusterApi, MaintenanceApi, type Etcd3Member, type Etcd3Status } from './api/cluster.js';
export { AuthApi, type Etcd3Permission, type Etcd3PermissionGrant } from './api/auth.js';
export { Etcd3Watcher, type Etcd3WatchOptions, type Etcd3WatcherEvents } from './watch/watcher.js';
export { createEtcd3Store, Etcd3Store } from './store/store.js';
export type { Etcd3StoreOptions } from './store/common.js';
export { storeFromUrl } from './store/url.js';
