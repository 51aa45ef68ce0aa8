export { ConsulClient } from './client.js';
export { ConsulError, isConsulError, type ConsulErrorCode, type AgentFailure } from './errors.js';
export type {
  ConsulCallOptions,
  QueryOptions,
  WriteOptions,
  ConsulClientOptions,
  ConsulTlsOptions,
  QueryMeta,
  ConsulResult,
} from './options.js';
export { escapePath, formatDuration, durationMs, type RequestSpec, type ResponseOf } from './request.js';
export { Status } from './api/status.js';
