import { EventEmitter } from 'eventemitter3';
import { rangeEnd, type KeyRange } from '../api/kv.js';
import { Etcd3Error } from '../errors.js';
import type { ResponseHeader } from '../proto/kv.js';
import type { WatchEvent } from '../proto/watch.js';
import { toBytes, type BytesLike } from '../proto/wire.js';

/** What a watcher's stream is to it: where it cancels itself. */
export interface WatcherStream {
  remove(watcher: Etcd3Watcher): void;
}

/** Options of {@link Etcd3Client.watch}. */
export interface Etcd3WatchOptions extends KeyRange {
  /** Deliver every change from this revision on (history permitting); else from now. */
  startRevision?: number;
  /** Ask etcd for periodic `progress` answers while nothing changes (etcd sends them every 10 min by default). */
  progressNotify?: boolean;
  /** Events carry the key as it was before the change. */
  prevKv?: boolean;
  /** Leave out puts or deletes, on the server. */
  filters?: ('noPut' | 'noDelete')[];
  /** Cancels the watcher (it ends without an error). */
  signal?: AbortSignal;
}

/** Events of an {@link Etcd3Watcher}. */
export interface Etcd3WatcherEvents {
  /** etcd armed the watcher: every change after `revision` (or from `startRevision`) will come. */
  created: [revision: number];
  /** Changes, in revision order, as one answer of etcd brought them. */
  events: [events: WatchEvent[], header: ResponseHeader];
  /** Nothing this watcher covers changed up to `revision` (a progress answer). */
  progress: [revision: number];
  /**
   * The watcher is over because of `error`: `ETCD3_COMPACTED` (its history is gone: read the
   * current state again; `compactRevision` says from where history starts), `ETCD3_CONNECTION` or
   * `ETCD3_UNAVAILABLE` (the stream broke: watch again from {@link Etcd3Watcher.nextRevision}),
   * `ETCD3_PERMISSION_DENIED`, `ETCD3_WATCH_CANCELED`. `end` follows.
   */
  error: [error: Etcd3Error];
  /** The watcher is over (after `cancel()`, an error, or the client's close). Emitted once. */
  end: [];
}

/**
 * One watcher on a key or range: a low-level view of etcd's watch stream, with no retry of its own
 * (a broken stream ends the watcher with an error and {@link nextRevision} to resume from). Many
 * watchers share one gRPC stream per host.
 */
export class Etcd3Watcher extends EventEmitter<Etcd3WatcherEvents> {
  /** The watched key, or the first key of the range (a copy, as bytes). */
  readonly key: Buffer;
  /** The end (exclusive) of the range, from `prefix` or `end`; `undefined`: `key` alone. */
  readonly rangeEnd: Uint8Array | undefined;
  /** The options it was made with (a frozen copy). */
  readonly options: Readonly<Etcd3WatchOptions>;
  /** The host whose stream carries the watcher, once it is placed. */
  host: string | undefined;
  /** The revision to watch from to miss nothing and repeat nothing after this watcher ends. */
  nextRevision: number;
  /** @internal The watcher's ID on its stream. */
  id = 0;
  /** @internal The stream carrying the watcher. */
  stream: WatcherStream | undefined;
  /** @internal Told of the watcher's news before its listeners (see {@link WatcherFollower}). */
  follower: WatcherFollower | undefined = undefined;
  #created = false;
  #ended = false;
  /** The revision etcd armed the watcher at (once created). */
  #armedAt = 0;
  /** What ended the watcher (once ended). */
  #error: Etcd3Error | undefined = undefined;
  /**
   * Until etcd arms it: who places the watcher again when its stream fails first (`placed()`'s
   * promise, or the client's retry for a watcher added straight to an open stream).
   */
  #placement: Placement | undefined = undefined;
  // `ready` and `closed` are made on first use: most watchers are followed by their events alone,
  // and two promises with their settle functions are about 0.4 KB of an idle watcher (S6 in bench/).
  #ready: Settle<number> | undefined = undefined;
  #closed: Settle<Etcd3Error | undefined> | undefined = undefined;
  readonly #cancel: (watcher: Etcd3Watcher) => void;

  /** @internal Made by {@link Etcd3Client.watch}. */
  constructor(key: BytesLike, options: Etcd3WatchOptions, cancel: (watcher: Etcd3Watcher) => void) {
    super();
    this.key = Buffer.from(toBytes(key));
    const end = rangeEnd(key, options);
    this.rangeEnd = end === undefined ? undefined : toBytes(end);
    this.options = Object.freeze({ ...options });
    this.nextRevision = options.startRevision ?? 0;
    this.#cancel = cancel;
  }

  /** Resolves with the revision etcd armed the watcher at; rejects if it ends before that. */
  get ready(): Promise<number> {
    if (this.#ready === undefined) {
      this.#ready = this.#created
        ? { promise: Promise.resolve(this.#armedAt) }
        : this.#ended
          ? { promise: Promise.reject(this.#error ?? notArmed()) }
          : settle<number>();
      // A caller that never awaits `ready` learns of the failure from `error`/`closed`.
      this.#ready.promise.catch(ignore);
    }
    return this.#ready.promise;
  }

  /** Resolves when the watcher ends: with the error that ended it, or `undefined`. Never rejects. */
  get closed(): Promise<Etcd3Error | undefined> {
    this.#closed ??= this.#ended ? { promise: Promise.resolve(this.#error) } : settle();
    return this.#closed.promise;
  }

  /** True once etcd armed the watcher (`created` was emitted). */
  get created(): boolean {
    return this.#created;
  }

  /** True once the watcher is over (`end` is emitted or was). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Stops the watcher: etcd is told, and `end` follows at once. */
  cancel(): Promise<void> {
    if (!this.#ended) {
      this.#cancel(this);
      this.end(undefined);
    }
    return Promise.resolve();
  }

  /** @internal Resolves once etcd armed the watcher (or it ended); rejects when its stream failed first. */
  placed(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#placement = (_watcher, error) => (error ? reject(error) : resolve());
    });
  }

  /** @internal `placed()` as a callback (one function for every watcher of a client). */
  placeAgainWith(placement: Placement): void {
    this.#placement = placement;
  }

  /** @internal Its stream failed: before etcd armed it, the placement is tried again elsewhere. */
  fail(error: Etcd3Error): void {
    this.stream = undefined;
    const placement = this.#placement;
    if (!this.#created && placement && !this.#ended) {
      this.#placement = undefined;
      placement(this, error);
    } else this.end(error);
  }

  /** @internal */
  onCreated(revision: number): void {
    this.#created = true;
    this.#armedAt = revision;
    this.#placed();
    if (this.options.startRevision === undefined || this.options.startRevision <= revision)
      this.nextRevision = Math.max(this.nextRevision, revision + 1);
    this.follower?.watcherCreated(revision);
    this.emit('created', revision);
    this.#ready?.resolve?.(revision);
  }

  /** @internal */
  onEvents(events: WatchEvent[], header: ResponseHeader): void {
    this.nextRevision = Math.max(this.nextRevision, events[events.length - 1]!.kv.modRevision + 1);
    this.follower?.watcherEvents(events);
    this.emit('events', events, header);
  }

  /** @internal */
  onProgress(revision: number): void {
    this.nextRevision = Math.max(this.nextRevision, revision + 1);
    this.emit('progress', revision);
  }

  /** @internal Ends the watcher (once). */
  end(error: Etcd3Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#placed();
    if (!this.#created) this.#ready?.reject?.(error ?? notArmed());
    this.follower?.watcherEnded(error);
    if (error) this.emit('error', error);
    this.emit('end');
    this.#closed?.resolve?.(error);
  }

  /** Armed or ended: the placement is over. */
  #placed(): void {
    const placement = this.#placement;
    this.#placement = undefined;
    placement?.(this, undefined);
  }
}

/**
 * @internal The one follower a watcher may have besides its listeners, told first: the poll source
 * of a Store watch. Four listeners would be four listener records and an events object per watcher
 * (about 0.3 KB of an idle one, S6 in bench/).
 */
export interface WatcherFollower {
  watcherCreated(revision: number): void;
  watcherEvents(events: WatchEvent[]): void;
  /** The watcher is over: `error` as `error` would carry it, `undefined` for a plain end. */
  watcherEnded(error: Etcd3Error | undefined): void;
}

/**
 * @internal Told once when a watcher's placement is over: `error` when its stream failed before
 * etcd armed it (place it again), `undefined` once armed or ended.
 */
export type Placement = (watcher: Etcd3Watcher, error: Etcd3Error | undefined) => void;

/** A promise and, while it is pending, its settle functions. */
interface Settle<T> {
  promise: Promise<T>;
  resolve?: (value: T) => void;
  reject?: (error: unknown) => void;
}

function settle<T>(): Settle<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function notArmed(): Etcd3Error {
  return new Etcd3Error({ code: 'ETCD3_ABORTED', message: 'the watcher was canceled before etcd armed it' });
}

function ignore(): void {
  // Observed through `error` and `closed`.
}
