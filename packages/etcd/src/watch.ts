import {
  abortSignal,
  backoffDelay,
  offAbort,
  onAbort,
  sleep,
  StopSignal,
  type AnySignal,
} from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import type { EtcdEmptyWait, EtcdNode, EtcdResult, KeysApi } from './api/keys.js';
import { EtcdError, isEtcdError } from './errors.js';
import { watchRead } from './shared-reads.js';
import type { WaitSource } from './shared-waits.js';

/** What the long-poll loop reports; the native watcher and the Store's watch both sit on it. */
export interface WatchLoopHandlers<V> {
  /** One etcd event; the loop has already moved its cursor to `modifiedIndex + 1`. */
  event(result: EtcdResult<V>): void;
  /**
   * etcd no longer has the history (errorCode 401, "event index cleared"): re-read the state,
   * report the differences, and return the index to wait from (the read's `X-Etcd-Index + 1`).
   */
  cleared(error: EtcdError): Promise<number>;
  /** A poll was answered: the watch is live. */
  connected(): void;
  /** A poll failed; the loop backs off and retries from the same index. */
  disconnected(cause: unknown, attempt: number): void;
}

/** Backoff between failed polls (the client's options fit). */
export interface WatchTiming {
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly random: () => number;
}

export interface WatchLoopOptions {
  recursive: boolean;
  /** The first index to wait for; `undefined`: from now. */
  waitIndex: number | undefined;
  /** A {@link StopSignal} costs an idle watch far less than an `AbortSignal`. */
  signal: AnySignal;
  /** Shared, not copied: an idle watch holds only a reference. */
  timing: WatchTiming;
}

/** Errors that no retry can fix: a bad request or refused credentials. */
export function isTerminalWatchError(error: unknown): boolean {
  return (
    isEtcdError(error) &&
    ((error.statusCode !== undefined && error.statusCode < 500) ||
      error.code === 'ETCD_INVALID_ARGUMENT' ||
      error.code === 'ETCD_CLOSED')
  );
}

/**
 * The one long-poll loop. Cursor rules: after an event, `modifiedIndex + 1`; after an empty poll
 * (the server closed it), `X-Etcd-Index + 1` (the index when etcd registered the poll, so nothing
 * between is skipped and an idle key on a busy cluster never falls out of the history window);
 * after a connection failure, the same index again (with backoff); after errorCode 401, whatever
 * `cleared` returns. It never skips silently. Polls go through `waits`: `client.keys`, or the
 * client's shared polls (`client.waits`), which answer with the same results and errors.
 */
export function runWatchLoop<V>(
  waits: WaitSource,
  key: string,
  options: WatchLoopOptions,
  handlers: WatchLoopHandlers<V>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    new WatchLoop<V>(waits, key, options, handlers, resolve, reject).poll();
  });
}

/**
 * {@link runWatchLoop}'s state, as callbacks rather than an async function: an idle watch then
 * holds this object and its pending wait, not a suspended frame (whose registers cost about
 * 0.5 KB per watcher).
 */
class WatchLoop<V> {
  readonly #waits: WaitSource;
  readonly #key: string;
  readonly #recursive: boolean;
  readonly #signal: AnySignal;
  /** The signal handed to `waits.wait`: a real one unless the source takes a `StopSignal`. */
  readonly #waitSignal: AnySignal;
  readonly #timing: WatchTiming;
  readonly #handlers: WatchLoopHandlers<V>;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  #next: number | undefined;
  #failures = 0;
  readonly #onResult = (result: EtcdResult<V> | EtcdEmptyWait): void => {
    try {
      this.#result(result);
    } catch (error) {
      this.#reject(error);
    }
  };
  readonly #onError = (error: unknown): void => {
    try {
      this.#error(error);
    } catch (thrown) {
      this.#reject(thrown);
    }
  };

  constructor(
    waits: WaitSource,
    key: string,
    options: WatchLoopOptions,
    handlers: WatchLoopHandlers<V>,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#waits = waits;
    this.#key = key;
    this.#recursive = options.recursive;
    this.#signal = options.signal;
    this.#waitSignal = waits.stopSignals ? options.signal : abortSignal(options.signal);
    this.#timing = options.timing;
    this.#handlers = handlers;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#next = options.waitIndex;
  }

  /** The next wait, or the end once the signal has aborted. */
  poll(): void {
    if (this.#signal.aborted) {
      this.#resolve();
      return;
    }
    let pending;
    try {
      pending = this.#waits.wait<V>(
        this.#key,
        this.#next !== undefined
          ? { recursive: this.#recursive, waitIndex: this.#next, signal: this.#waitSignal, maxRetries: 0 }
          : { recursive: this.#recursive, signal: this.#waitSignal, maxRetries: 0 },
      );
    } catch (error) {
      this.#onError(error);
      return;
    }
    pending.then(this.#onResult, this.#onError);
  }

  #result(result: EtcdResult<V> | EtcdEmptyWait): void {
    this.#failures = 0;
    this.#handlers.connected();
    if (result.action === null) {
      if (result.etcdIndex !== undefined) this.#next = result.etcdIndex + 1;
    } else {
      this.#next = result.node.modifiedIndex + 1;
      this.#handlers.event(result);
    }
    this.poll();
  }

  #error(error: unknown): void {
    if (this.#signal.aborted) {
      this.#resolve();
      return;
    }
    if (isEtcdError(error) && error.code === 'ETCD_EVENT_INDEX_CLEARED') {
      this.#handlers.cleared(error).then(
        (next) => {
          this.#next = next;
          this.#failures = 0;
          this.poll();
        },
        (readError: unknown) => {
          if (this.#signal.aborted) this.#resolve();
          else if (isTerminalWatchError(readError)) this.#reject(readError);
          else this.#backoff(readError);
        },
      );
      return;
    }
    if (isTerminalWatchError(error)) {
      this.#reject(error);
      return;
    }
    this.#backoff(error);
  }

  #backoff(cause: unknown): void {
    const timing = this.#timing;
    const attempt = this.#failures++;
    try {
      this.#handlers.disconnected(cause, attempt);
    } catch (error) {
      this.#reject(error);
      return;
    }
    void sleep(
      backoffDelay(attempt, timing.backoffMs, timing.maxBackoffMs, timing.random),
      abortSignal(this.#signal),
    )
      .catch(() => undefined)
      .then(() => this.poll());
  }
}

/** Options of {@link EtcdWatcher}. */
export interface EtcdWatcherOptions {
  /** Watch every key below `key`. @defaultValue false */
  recursive?: boolean;
  /**
   * Start from this index (replaying history). Without it the watcher first reads the current
   * state (quorum), to know what a later resync must report as deleted, and watches from there.
   */
  index?: number;
  /** Stops the watcher, like `stop()`. */
  signal?: AbortSignal;
}

/** Emitted with `reconnect`. */
export interface EtcdReconnectInfo {
  error: unknown;
  reconnectCount: number;
}

/** Emitted with `resync` after the synthetic events. */
export interface EtcdResyncInfo {
  /** The index the watcher's view now matches (the re-read's X-Etcd-Index). */
  index: number;
  /** The 401 error that caused the re-read. */
  error: EtcdError;
}

/** A watch event: etcd's answer, or a synthetic one from a resync (`synthetic: true`). */
export type EtcdWatchEvent<V = string> = EtcdResult<V> & { synthetic?: true };

/** Every event of {@link EtcdWatcher}: node-etcd's names, typed. */
export interface EtcdWatcherEvents<V> {
  /** Every event, synthetic ones from a resync included. */
  change: [event: EtcdWatchEvent<V>];
  set: [event: EtcdWatchEvent<V>];
  update: [event: EtcdWatchEvent<V>];
  create: [event: EtcdWatchEvent<V>];
  delete: [event: EtcdWatchEvent<V>];
  expire: [event: EtcdWatchEvent<V>];
  compareAndSwap: [event: EtcdWatchEvent<V>];
  compareAndDelete: [event: EtcdWatchEvent<V>];
  /** A poll failed; the watcher retries from the same index after a backoff. */
  reconnect: [info: EtcdReconnectInfo];
  /** History was gone (401): the state was re-read, its differences emitted; now in sync. */
  resync: [info: EtcdResyncInfo];
  /** A terminal error: the watcher has stopped (a `stop` event follows). */
  error: [error: EtcdError];
  /**
   * The watcher is anchored: from here on no change is missed (after the baseline read, or at once
   * when started from an `index`).
   */
  ready: [];
  /** The watcher has stopped. */
  stop: [];
}

function flatten<V>(node: EtcdNode<V> | undefined, out: EtcdNode<V>[]): EtcdNode<V>[] {
  if (!node) return out;
  if (!node.dir) out.push(node);
  else if (node.nodes) for (const child of node.nodes) flatten(child, out);
  return out;
}

function under(key: string, dir: string): boolean {
  return key === dir || key.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * node-etcd's watcher, promise-era: an eventemitter3 emitter and an async iterator of events.
 * It reconnects and resumes from the right index, and on errorCode 401 it re-reads the state and
 * emits the differences (`set` for keys that changed, `delete` for keys that vanished, marked
 * `synthetic`) and then `resync`. Listen for `error`, or await `stopped`: a terminal error
 * otherwise rejects `stopped` unhandled.
 */
export class EtcdWatcher<V = string>
  extends EventEmitter<EtcdWatcherEvents<V>>
  implements AsyncIterable<EtcdWatchEvent<V>>
{
  readonly key: string;
  /** Settles when the watcher stops: resolves on `stop()`, rejects with a terminal error. */
  readonly stopped: Promise<void>;
  readonly #stop = new StopSignal();
  #callerSignal: AbortSignal | undefined;
  #onCallerAbort: (() => void) | undefined;
  /**
   * What the watcher has delivered (key → modifiedIndex), for a resync's differences: one key in
   * two fields (a watch on one key never knows more), a Map only once a second key shows up.
   */
  #known: Map<string, number> | undefined;
  #knownKey: string | undefined;
  #knownIndex = 0;
  /** Made when iteration starts. */
  #queue: EtcdWatchEvent<V>[] | undefined;
  #wake: (() => void) | undefined;
  #ended = false;
  #failure: EtcdError | undefined;
  #reconnects = 0;
  #nextIndex: number | undefined;
  readonly #onStop: ((watcher: { stop(): Promise<void> }) => void) | undefined;

  /**
   * @param onStop Called once when the watcher stops, before `stop` is emitted (the client's
   * bookkeeping: cheaper than a listener per watcher).
   */
  constructor(
    keys: KeysApi,
    key: string,
    options: EtcdWatcherOptions,
    timing: WatchTiming,
    waits: WaitSource = keys,
    onStop?: (watcher: { stop(): Promise<void> }) => void,
  ) {
    super();
    this.key = key;
    this.#onStop = onStop;
    const recursive = options.recursive ?? false;
    if (options.signal) {
      this.#callerSignal = options.signal;
      this.#onCallerAbort = () => void this.stop();
      onAbort(options.signal, this.#onCallerAbort);
    }
    const signal = this.#stop;
    const handlers: WatchLoopHandlers<V> = {
      event: (result) => {
        this.#nextIndex = result.node.modifiedIndex + 1;
        this.#track(result);
        this.#deliver(result);
      },
      cleared: async (error) => {
        const { fresh, index } = await this.#read(waits, keys, recursive);
        const at = index ?? error.index ?? 0;
        for (const [nodeKey, node] of fresh) {
          if (this.#knownAt(nodeKey) === node.modifiedIndex) continue;
          this.#know(nodeKey, node.modifiedIndex);
          this.#deliver(this.#synthetic('set', node, at));
        }
        for (const nodeKey of this.#knownKeys()) {
          if (fresh.has(nodeKey)) continue;
          this.#forget(nodeKey);
          this.#deliver(this.#synthetic('delete', { key: nodeKey, createdIndex: 0, modifiedIndex: at }, at));
        }
        this.#nextIndex = at + 1;
        this.emit('resync', { index: at, error });
        return at + 1;
      },
      connected: () => undefined,
      disconnected: (error) => {
        this.emit('reconnect', { error, reconnectCount: ++this.#reconnects });
      },
    };
    // A chain rather than one async function: an idle watcher holds one suspended frame (the
    // loop's), not two.
    this.stopped = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => options.index ?? this.#baseline(waits, keys, recursive, timing))
      .then((start) => {
        this.#nextIndex = start;
        if (signal.aborted) return undefined;
        this.emit('ready');
        return runWatchLoop<V>(waits, key, { recursive, waitIndex: start, signal, timing }, handlers);
      })
      .then(
        () => void this.#end(undefined),
        (error: unknown) => {
          const failure = this.#end(signal.aborted ? undefined : error);
          if (failure) throw failure;
        },
      );
    this.stopped.catch(() => undefined);
  }

  /** The state of the key (quorum read, coalesced with other watchers' through `waits.read`). */
  async #read(
    waits: WaitSource,
    keys: KeysApi,
    recursive: boolean,
  ): Promise<{ fresh: Map<string, EtcdNode<V>>; index: number | undefined }> {
    const fresh = new Map<string, EtcdNode<V>>();
    try {
      const result = await watchRead<V>(waits, keys, this.key, { recursive, signal: this.#stop });
      for (const node of flatten(result.node, []))
        if (recursive || node.key === result.node.key) fresh.set(node.key, node);
      return { fresh, index: result.etcdIndex };
    } catch (error) {
      if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) throw error;
      return { fresh, index: error.index };
    }
  }

  /**
   * The baseline, retried like any poll, so that a later resync can report deletions. Resolves the
   * index to watch from (`undefined` once stopped).
   */
  async #baseline(
    waits: WaitSource,
    keys: KeysApi,
    recursive: boolean,
    timing: WatchTiming,
  ): Promise<number | undefined> {
    const signal = this.#stop;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const { fresh, index } = await this.#read(waits, keys, recursive);
        for (const [nodeKey, node] of fresh) this.#know(nodeKey, node.modifiedIndex);
        return (index ?? 0) + 1;
      } catch (error) {
        if (signal.aborted || isTerminalWatchError(error)) throw error;
        this.emit('reconnect', { error, reconnectCount: ++this.#reconnects });
        await sleep(
          backoffDelay(attempt, timing.backoffMs, timing.maxBackoffMs, timing.random),
          signal.signal,
        ).catch(() => undefined);
      }
    }
    return undefined;
  }

  #knownAt(key: string): number | undefined {
    if (this.#known) return this.#known.get(key);
    return key === this.#knownKey ? this.#knownIndex : undefined;
  }

  #know(key: string, index: number): void {
    if (this.#known) this.#known.set(key, index);
    else if (this.#knownKey === undefined || this.#knownKey === key) {
      this.#knownKey = key;
      this.#knownIndex = index;
    } else {
      this.#known = new Map([
        [this.#knownKey, this.#knownIndex],
        [key, index],
      ]);
      this.#knownKey = undefined;
    }
  }

  #forget(key: string): void {
    if (this.#known) this.#known.delete(key);
    else if (key === this.#knownKey) this.#knownKey = undefined;
  }

  #knownKeys(): string[] {
    if (this.#known) return [...this.#known.keys()];
    return this.#knownKey === undefined ? [] : [this.#knownKey];
  }

  /** Where the watcher will resume: the last event's `modifiedIndex + 1`. */
  get nextIndex(): number | undefined {
    return this.#nextIndex;
  }

  /** Stops the watcher and aborts its poll. Resolves once stopped. */
  async stop(): Promise<void> {
    if (!this.#stop.aborted)
      this.#stop.abort(new EtcdError({ code: 'ETCD_ABORTED', message: 'the watcher was stopped' }));
    await this.stopped.catch(() => undefined);
  }

  #synthetic(action: string, node: EtcdNode<V>, index: number): EtcdWatchEvent<V> {
    return {
      action,
      node,
      etcdIndex: index,
      raftIndex: undefined,
      raftTerm: undefined,
      clusterId: undefined,
      host: '',
      synthetic: true,
    };
  }

  #track(result: EtcdResult<V>): void {
    const { node } = result;
    if (result.action === 'delete' || result.action === 'expire' || result.action === 'compareAndDelete') {
      for (const known of this.#knownKeys()) if (under(known, node.key)) this.#forget(known);
    } else if (!node.dir) {
      this.#know(node.key, node.modifiedIndex);
    }
  }

  #deliver(event: EtcdWatchEvent<V>): void {
    this.#queue?.push(event);
    this.#wake?.();
    this.#wake = undefined;
    try {
      this.emit('change', event);
      this.emit(event.action as 'set', event);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #end(error: unknown): EtcdError | undefined {
    if (this.#ended) return undefined;
    this.#ended = true;
    if (!this.#stop.aborted) this.#stop.abort(new DOMException('This operation was aborted', 'AbortError'));
    if (this.#callerSignal) {
      offAbort(this.#callerSignal, this.#onCallerAbort!);
      this.#callerSignal = undefined;
      this.#onCallerAbort = undefined;
    }
    if (error !== undefined) {
      this.#failure = isEtcdError(error)
        ? error
        : new EtcdError({ code: 'ETCD_ERROR', message: `the watcher on ${this.key} failed`, cause: error });
      this.emit('error', this.#failure);
    }
    this.#wake?.();
    this.#onStop?.(this);
    this.emit('stop');
    return this.#failure;
  }

  /** Iterates over events; `break` stops the watcher. A terminal error is thrown. */
  [Symbol.asyncIterator](): AsyncIterator<EtcdWatchEvent<V>> {
    const queue = (this.#queue ??= []);
    return {
      next: async () => {
        for (;;) {
          const event = queue.shift();
          if (event) return { value: event, done: false };
          if (this.#ended) {
            if (this.#failure) throw this.#failure;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
      },
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }
}
