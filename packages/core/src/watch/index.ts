// The watch engine (issue 14): the one watch surface, the watch loop and the shared-poll registry.
// DEVELOPERS.md, "The watch engine", says how a backend plugs a poll source into it.
export type {
  PutEvent,
  DeleteEvent,
  ExpireEvent,
  ResyncEvent,
  KeyEvent,
  WatchEvent,
  WatcherEvents,
} from './events.js';
export { KnownKeys } from './known.js';
export { WatchEmitter, type WatchRun } from './emitter.js';
export { Watcher, type WatchSink } from './watcher.js';
export {
  runWatchLoop,
  startWatchLoop,
  pause,
  type PollSource,
  type LoopReport,
  type WatchTiming,
  type WatchLoopOptions,
} from './loop.js';
export {
  SharedPoll,
  PollRegistry,
  listenForAbort,
  stopListening,
  parentFolder,
  type PollWaiter,
} from './shared-polls.js';
