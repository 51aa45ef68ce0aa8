import { backoffDelay, sleep } from '@polykv/core';
import { EventEmitter } from 'eventemitter3';
import type { EtcdNode, EtcdResult, KeysApi } from './api/keys.js';
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

export interface WatchLoopOptions {
  recursive: boolean;
  /** The first index to wait for; `undefined`: from now. */
  waitIndex: number | undefined;
  signal: AbortSignal;
  backoffMs: number;
  maxBackoffMs: number;
  random: () => number;
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
export async function runWatchLoop<V>(
  waits: WaitSource,
  key: string,
  options: WatchLoopOptions,
  handlers: WatchLoopHandlers<V>,
): Promise<void> {
  const { signal } = options;
  let next = options.waitIndex;
  let failures = 0;
  const backoff = async (cause: unknown): Promise<void> => {
    handlers.disconnected(cause, failures);
    await sleep(
      backoffDelay(failures++, options.backoffMs, options.maxBackoffMs, options.random),
      signal,
    ).catch(() => undefined);
  };
  while (!signal.aborted) {
    let result;
    try {
      result = await waits.wait<V>(key, {
        recursive: options.recursive,
        ...(next !== undefined ? { waitIndex: next } : {}),
        signal,
        maxRetries: 0,
      });
    } catch (error) {
      if (signal.aborted) return;
      if (isEtcdError(error) && error.code === 'ETCD_EVENT_INDEX_CLEARED') {
        try {
          next = await handlers.cleared(error);
          failures = 0;
        } catch (readError) {
          if (signal.aborted) return;
          if (isTerminalWatchError(readError)) throw readError;
          await backoff(readError);
        }
        continue;
      }
      if (isTerminalWatchError(error)) throw error;
      await backoff(error);
      continue;
    }
    failures = 0;
    handlers.connected();
    if (result.action === null) {
      if (result.etcdIndex !== undefined) next = result.etcdIndex + 1;
      continue;
    }
    next = result.node.modifiedIndex + 1;
    handlers.event(result);
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
  readonly #stop = new AbortController();
  readonly #known = new Map<string, number>();
  readonly #queue: EtcdWatchEvent<V>[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #failure: EtcdError | undefined;
  #reconnects = 0;
  #nextIndex: number | undefined;
  #iterating = false;

  constructor(
    keys: KeysApi,
    key: string,
    options: EtcdWatcherOptions,
    timing: { backoffMs: number; maxBackoffMs: number; random: () => number },
    waits: WaitSource = keys,
  ) {
    super();
    this.key = key;
    const recursive = options.recursive ?? false;
    options.signal?.addEventListener('abort', () => void this.stop(), {
      once: true,
      signal: this.#stop.signal,
    });
    const signal = this.#stop.signal;
    const read = async (): Promise<number> => {
      const fresh = new Map<string, EtcdNode<V>>();
      let index: number | undefined;
      try {
        const result = await watchRead<V>(waits, keys, key, { recursive, signal });
        index = result.etcdIndex;
        for (const node of flatten(result.node, []))
          if (recursive || node.key === result.node.key) fresh.set(node.key, node);
      } catch (error) {
        if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) throw error;
        index = error.index;
      }
      return this.#baseline(fresh, index ?? 0);
    };
    this.stopped = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      let start = options.index;
      if (start === undefined) {
        // A baseline, retried like any poll, so that a later resync can report deletions.
        for (let attempt = 0; !signal.aborted; attempt++) {
          try {
            start = await read();
            break;
          } catch (error) {
            if (signal.aborted || isTerminalWatchError(error)) throw error;
            this.emit('reconnect', { error, reconnectCount: ++this.#reconnects });
            await sleep(
              backoffDelay(attempt, timing.backoffMs, timing.maxBackoffMs, timing.random),
              signal,
            ).catch(() => undefined);
          }
        }
      }
      this.#nextIndex = start;
      if (!signal.aborted) this.emit('ready');
      await runWatchLoop<V>(
        waits,
        key,
        { recursive, waitIndex: start, signal, ...timing },
        {
          event: (result) => {
            this.#nextIndex = result.node.modifiedIndex + 1;
            this.#track(result);
            this.#deliver(result);
          },
          cleared: async (error) => {
            const fresh = new Map<string, EtcdNode<V>>();
            let index: number | undefined;
            try {
              const result = await watchRead<V>(waits, keys, key, { recursive, signal });
              index = result.etcdIndex;
              for (const node of flatten(result.node, []))
                if (recursive || node.key === result.node.key) fresh.set(node.key, node);
            } catch (readError) {
              if (!(isEtcdError(readError) && readError.code === 'ETCD_KEY_NOT_FOUND')) throw readError;
              index = readError.index;
            }
            const at = index ?? error.index ?? 0;
            for (const [nodeKey, node] of fresh) {
              if (this.#known.get(nodeKey) === node.modifiedIndex) continue;
              this.#known.set(nodeKey, node.modifiedIndex);
              this.#deliver(this.#synthetic('set', node, at));
            }
            for (const nodeKey of [...this.#known.keys()]) {
              if (fresh.has(nodeKey)) continue;
              this.#known.delete(nodeKey);
              this.#deliver(
                this.#synthetic('delete', { key: nodeKey, createdIndex: 0, modifiedIndex: at }, at),
              );
            }
            this.#nextIndex = at + 1;
            this.emit('resync', { index: at, error });
            return at + 1;
          },
          connected: () => undefined,
          disconnected: (error) => {
            this.emit('reconnect', { error, reconnectCount: ++this.#reconnects });
          },
        },
      );
    })().then(
      () => void this.#end(undefined),
      (error: unknown) => {
        const failure = this.#end(signal.aborted ? undefined : error);
        if (failure) throw failure;
      },
    );
    this.stopped.catch(() => undefined);
  }

  /** Where the watcher will resume: the last event's `modifiedIndex + 1`. */
  get nextIndex(): number | undefined {
    return this.#nextIndex;
  }

  /** Stops the watcher and aborts its poll. Resolves once stopped. */
  async stop(): Promise<void> {
    if (!this.#stop.signal.aborted)
      this.#stop.abort(new EtcdError({ code: 'ETCD_ABORTED', message: 'the watcher was stopped' }));
    await this.stopped.catch(() => undefined);
  }

  #baseline(fresh: Map<string, EtcdNode<V>>, index: number): number {
    for (const [nodeKey, node] of fresh) this.#known.set(nodeKey, node.modifiedIndex);
    return index + 1;
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
      for (const known of [...this.#known.keys()]) if (under(known, node.key)) this.#known.delete(known);
    } else if (!node.dir) {
      this.#known.set(node.key, node.modifiedIndex);
    }
  }

  #deliver(event: EtcdWatchEvent<V>): void {
    if (this.#iterating) this.#queue.push(event);
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
    if (!this.#stop.signal.aborted) this.#stop.abort();
    if (error !== undefined) {
      this.#failure = isEtcdError(error)
        ? error
        : new EtcdError({ code: 'ETCD_ERROR', message: `the watcher on ${this.key} failed`, cause: error });
      this.emit('error', this.#failure);
    }
    this.#wake?.();
    this.emit('stop');
    return this.#failure;
  }

  /** Iterates over events; `break` stops the watcher. A terminal error is thrown. */
  [Symbol.asyncIterator](): AsyncIterator<EtcdWatchEvent<V>> {
    this.#iterating = true;
    return {
      next: async () => {
        for (;;) {
          const event = this.#queue.shift();
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
