import {
  KnownKeys,
  WatchEmitter,
  startWatchLoop,
  type LoopReport,
  type StopSignal,
  type WatchTiming,
} from '@polykv/core';
import type { EtcdNode, EtcdResult, KeysApi } from '../api/keys.js';
import { EtcdError, isEtcdError } from '../errors.js';
import { EtcdPollSource, type EtcdSourceHandler } from './source.js';
import type { WaitSource } from './wait-source.js';

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
  /** Why the poll failed: usually an {@link EtcdError} (e.g. `ETCD_UNAVAILABLE`). */
  error: unknown;
  /** Failed polls since the watcher started, this one included (it never goes back to 0). */
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
export type EtcdWatchEvent<V = string> = EtcdResult<V> & {
  /**
   * Set on the events a resync makes up (`set` for a changed key, `delete` for a vanished one):
   * etcd never sent them; their `etcdIndex` is the re-read's and their `host` is empty.
   */
  synthetic?: true;
};

/** Every event of {@link EtcdWatcher}: node-etcd's names, typed. */
export interface EtcdWatcherEvents<V> {
  /** Every event, synthetic ones from a resync included. */
  change: [event: EtcdWatchEvent<V>];
  /** A plain write (`set`), or a resync's synthetic event for a key whose value changed. */
  set: [event: EtcdWatchEvent<V>];
  /** A write with `prevExist=true` (`update`). */
  update: [event: EtcdWatchEvent<V>];
  /** A write with `prevExist=false`, or a new in-order key (`create`). */
  create: [event: EtcdWatchEvent<V>];
  /** A key or directory deleted, or a resync's synthetic event for a key that vanished. */
  delete: [event: EtcdWatchEvent<V>];
  /** A key or directory whose TTL ran out. */
  expire: [event: EtcdWatchEvent<V>];
  /** A write guarded by `prevValue` or `prevIndex`. */
  compareAndSwap: [event: EtcdWatchEvent<V>];
  /** A delete guarded by `prevValue` or `prevIndex`. */
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

const DATA_EVENTS = [
  'change',
  'set',
  'update',
  'create',
  'delete',
  'expire',
  'compareAndSwap',
  'compareAndDelete',
  'resync',
] as const;

function under(key: string, dir: string): boolean {
  return key === dir || key.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function synthetic<V>(action: string, node: EtcdNode<V>, index: number): EtcdWatchEvent<V> {
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

/** The watcher internals its link reaches (set in `EtcdWatcher`'s static block; not exported). */
let linked: {
  event<V>(watcher: EtcdWatcher<V>, result: EtcdResult<V>): void;
  read<V>(watcher: EtcdWatcher<V>, nodes: EtcdNode<V>[], index: number, cleared: EtcdError | undefined): void;
  reconnect(watcher: EtcdWatcher<unknown>, error: unknown): void;
};

/**
 * A watcher's handler of its source and report of its loop: one field, the methods on the
 * prototype. Four closures, two objects and their contexts per watcher before (about 0.35 KB of
 * an idle watcher; bench/heap-s6.mjs etcd polykvEtcdNative --closures).
 */
class WatcherLink<V> implements EtcdSourceHandler<V>, LoopReport {
  readonly #watcher: EtcdWatcher<V>;
  constructor(watcher: EtcdWatcher<V>) {
    this.#watcher = watcher;
  }
  event(result: EtcdResult<V>): void {
    linked.event(this.#watcher, result);
  }
  read(nodes: EtcdNode<V>[], index: number, cleared: EtcdError | undefined): void {
    linked.read(this.#watcher, nodes, index, cleared);
  }
  connected(): void {
    // Nothing to tell: the watcher's `ready` comes from its first read.
  }
  disconnected(error: unknown): void {
    linked.reconnect(this.#watcher, error);
  }
}

/**
 * node-etcd's watcher, promise-era: an eventemitter3 emitter and an async iterator of events (core's
 * watch surface, `WatchEmitter`, over core's watch loop with the etcd v2 source, `EtcdPollSource`).
 * It reconnects and resumes from the right index, and on errorCode 401 it re-reads the state and
 * emits the differences (`set` for keys that changed, `delete` for keys that vanished, marked
 * `synthetic`) and then `resync`. Listen for `error`, or await `stopped`: a terminal error
 * otherwise goes unnoticed.
 */
export class EtcdWatcher<V = string> extends WatchEmitter<
  EtcdWatcherEvents<V>,
  EtcdWatchEvent<V>,
  EtcdError
> {
  /** The watched key, as given. */
  readonly key: string;
  /** What the watcher has delivered (key → modifiedIndex), for a resync's differences. */
  readonly #known = new KnownKeys();
  #reconnects = 0;
  #nextIndex: number | undefined;
  #stopped: Promise<void> | undefined = undefined;
  readonly #onStop: ((watcher: { stop(): Promise<void> }) => void) | undefined;

  /**
   * Use `client.watcher(key, options)`, which also stops the watcher when the client closes. It
   * starts on the next turn of the event loop (`setImmediate`).
   * @param timing - the retry backoff (the client's resolved options).
   * @param waits - what to long-poll through: the client's shared polls, or `keys` itself.
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
    super(options.signal, (stop, end) => this.#run(stop, end, keys, waits, options, timing));
    this.key = key;
    this.#onStop = onStop;
    this.#nextIndex = options.index;
  }

  #run(
    stop: StopSignal,
    end: (failed: boolean, error: unknown) => void,
    keys: KeysApi,
    waits: WaitSource,
    options: EtcdWatcherOptions,
    timing: WatchTiming,
  ): void {
    const recursive = options.recursive ?? false;
    const link = new WatcherLink(this);
    const source = new EtcdPollSource<V>(
      waits,
      keys,
      this.key,
      { recursive, fromIndex: options.index, stop },
      link,
    );
    // Started from an index: anchored at once (no baseline read).
    if (options.index !== undefined) this.safeEmit(() => this.emit('ready'));
    startWatchLoop(source, link, { stop, timing }, end);
  }

  static {
    linked = {
      event: (watcher, result) => {
        watcher.#nextIndex = result.node.modifiedIndex + 1;
        watcher.#track(result);
        watcher.#deliver(result);
      },
      read: (watcher, nodes, index, cleared) => watcher.#read(nodes, index, cleared),
      reconnect: (watcher, error) =>
        watcher.safeEmit(() => watcher.emit('reconnect', { error, reconnectCount: ++watcher.#reconnects })),
    };
  }

  #read(nodes: EtcdNode<V>[], index: number, cleared: EtcdError | undefined): void {
    this.#nextIndex = index + 1;
    if (cleared === undefined) {
      // The baseline: what a later resync must report as deleted.
      for (const node of nodes) this.#known.set(node.key, node.modifiedIndex);
      this.safeEmit(() => this.emit('ready'));
      return;
    }
    const fresh = new Set<string>();
    for (const node of nodes) {
      fresh.add(node.key);
      if (this.#known.get(node.key) === node.modifiedIndex) continue;
      this.#known.set(node.key, node.modifiedIndex);
      this.#deliver(synthetic('set', node, index));
    }
    for (const known of this.#known.keys()) {
      if (fresh.has(known)) continue;
      this.#known.delete(known);
      this.#deliver(synthetic('delete', { key: known, createdIndex: 0, modifiedIndex: index }, index));
    }
    this.safeEmit(() => this.emit('resync', { index, error: cleared }));
  }

  /** Settles when the watcher stops: resolves on `stop()`, rejects with a terminal error. */
  get stopped(): Promise<void> {
    if (this.#stopped === undefined) {
      this.#stopped = this.settled().then((failure) => {
        if (failure) throw failure;
      });
      this.#stopped.catch(() => undefined);
    }
    return this.#stopped;
  }

  /** Where the watcher will resume: the last event's `modifiedIndex + 1`. */
  get nextIndex(): number | undefined {
    return this.#nextIndex;
  }

  /** Stops the watcher and aborts its poll. Resolves once stopped. */
  stop(): Promise<void> {
    return this.halt(new EtcdError({ code: 'ETCD_ABORTED', message: 'the watcher was stopped' }));
  }

  protected get dataEvents(): readonly string[] {
    return DATA_EVENTS;
  }

  protected toFailure(error: unknown): EtcdError {
    return isEtcdError(error)
      ? error
      : new EtcdError({ code: 'ETCD_ERROR', message: `the watcher on ${this.key} failed`, cause: error });
  }

  protected onEnd(failure: EtcdError | undefined): void {
    if (failure) this.emit('error', failure);
    this.#onStop?.(this);
    this.emit('stop');
  }

  #track(result: EtcdResult<V>): void {
    const { node } = result;
    if (result.action === 'delete' || result.action === 'expire' || result.action === 'compareAndDelete') {
      for (const known of this.#known.keys()) if (under(known, node.key)) this.#known.delete(known);
    } else if (!node.dir) {
      this.#known.set(node.key, node.modifiedIndex);
    }
  }

  #deliver(event: EtcdWatchEvent<V>): void {
    this.push(event);
    this.safeEmit(() => {
      this.emit('change', event);
      this.emit(event.action as 'set', event);
    });
  }
}
