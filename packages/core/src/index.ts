export {
  PolykvError,
  isPolykvError,
  KeyNotFoundError,
  CompareFailedError,
  KeyExistsError,
  KeyTypeError,
  LockLostError,
  TimeoutError,
  AbortError,
  UnavailableError,
  InvalidArgumentError,
  ValueTooLargeError,
  PermissionDeniedError,
  NotSupportedError,
  ClosedError,
  BackendError,
  UnrepresentableError,
  KeyHeldError,
  type PolykvErrorCode,
  type HostFailure,
  type UnrepresentableWhat,
  type KeyHolder,
} from './errors.js';
export { extend } from './extend.js';
export {
  deadline,
  follow,
  anySignal,
  sleep,
  throwIfAborted,
  backoffDelay,
  MAX_TIMER_MS,
  type CallOptions,
  type Deadline,
  type Follower,
  type CombinedSignal,
} from './signal.js';
export {
  normalizeKey,
  keyProblem,
  isReservedKey,
  joinKey,
  parentKey,
  parentPaths,
  compareKeyPaths,
  baseName,
  KeySpace,
  MAX_KEY_BYTES,
  RESERVED_SEGMENT,
} from './keys.js';
export { utf8Codec, binaryCodec, jsonCodec, sameRaw, decodeValue, type Codec } from './codec.js';
export type {
  Entry,
  DirEntry,
  ListEntry,
  GetOptions,
  ListOptions,
  PageOptions,
  SetOptions,
  DelOptions,
  SwapCondition,
  DeleteCondition,
  WatchOptions,
  LockOptions,
  SemaphoreOptions,
  StoreCapabilities,
  UnlistedKey,
  UnlistedCode,
} from './types.js';
export type { Store } from './store.js';
// The watch engine (DEVELOPERS.md, "The watch engine").
export type {
  WatchEvent,
  KeyEvent,
  PutEvent,
  DeleteEvent,
  ExpireEvent,
  ResyncEvent,
  WatcherEvents,
} from './watch/events.js';
export { Watcher, type WatchSink } from './watch/watcher.js';
export { WatchEmitter, type WatchEnd, type WatchRun } from './watch/emitter.js';
export { KnownKeys, SmallMap } from './watch/known.js';
export {
  runWatchLoop,
  startWatchLoop,
  pause,
  type PollSource,
  type LoopReport,
  type WatchTiming,
  type WatchLoopOptions,
} from './watch/loop.js';
export {
  SharedPoll,
  PollRegistry,
  listenForAbort,
  stopListening,
  parentFolder,
  type PollWaiter,
} from './watch/shared-polls.js';
export { classify, errorCode, isTlsError, type Delivery } from './net/classify.js';
export { SplitDispatcher } from './net/split-dispatcher.js';
export { bodyText, requestWhole, type SignalLike, type WholeResponse } from './net/whole-response.js';
export { TLS_OPTIONS, tlsConnectOptions, type TlsOptions } from './net/tls.js';
export {
  keepText,
  readCapped,
  safeParseError,
  ERROR_BODY_LIMIT,
  ERROR_READ_LIMIT,
  REDACTED,
} from './redact.js';
export {
  HostPool,
  type FailureKind,
  type HostPoolOptions,
  type PoolFailure,
  type RunOptions,
} from './host-pool.js';
export { StopSignal, onAbort, offAbort, abortSignal, type AbortListener, type AnySignal } from './stop.js';
export { Lock, KeepAlive, type LockEvents } from './lock.js';
export { acquireQueueLock, type LockQueue, type QueueLimit, type QueueNode } from './queue-lock.js';
export { StoreHandles } from './store-handles.js';
export {
  beginCall,
  beginWatch,
  type WatchStart,
  checkWait,
  checkLimit,
  checkTtl,
  checkOptions,
  checkIndex,
  checkSwapCondition,
  checkFlags,
  checkNoFlags,
  checkOptionTable,
  optionProblem,
  STORE_OPTIONS,
  MAX_TTL_SECONDS,
  type CheckedSwap,
  type OptionKind,
  type OptionProblem,
  type OptionTable,
  type OptionTableOf,
  type StoreMethod,
} from './validate.js';
export { createMemoryStore, MemoryStore, type MemoryStoreOptions } from './memory.js';
export { parseStoreUrl, checkUrlParams, type StoreUrl, type StoreUrlHost } from './url.js';
export { openStore, type OpenStoreOptions, type StoreFromUrl } from './open.js';
export {
  copy,
  emptyDirs,
  type CopyOptions,
  type CopyProgress,
  type CopySummary,
  type SkipReason,
} from './copy.js';
export { forEachLimit, isBulkWriter, type BulkWrite, type BulkWriter } from './copy-writes.js';
export { diff, type DiffResult } from './diff.js';
export { readPages, readAhead, isPagedReader, type ListPage, type PagedReader } from './pages.js';
export {
  reportsHolds,
  planTtl,
  planFlags,
  storeName,
  type HoldReporter,
  type ForeignHold,
  type TtlPlan,
  type FlagsPlan,
} from './fidelity.js';
export { mirror, Mirror, type MirrorOptions, type MirrorEvents, type MirrorStart } from './mirror.js';
export { checkpointUrl, sourceIdentity, type CheckpointRecord } from './mirror-checkpoint.js';
export {
  loadConfig,
  buildTree,
  type ConfigTree,
  type LoadConfigOptions,
  type WatchConfigOptions,
  type LiveConfig,
  type LiveConfigEvents,
} from './config.js';
export { loadConfigSync, type LoadConfigSyncOptions } from './config-sync.js';
export {
  BlockingWorker,
  serveBlockingCalls,
  type BlockingOutcome,
  type BlockingReply,
} from './sync/blocking-worker.js';
export { transferError, reviveError, type TransferredError } from './sync/error-transfer.js';
export { Debouncer, checkDebounceWait, type DebounceWait } from './debounce.js';
