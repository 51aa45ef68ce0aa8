import type { PollSource, StopSignal } from '@polykv/core';
import type { Etcd3Client } from '../client.js';
import { Etcd3Error, isEtcd3Error } from '../errors.js';
import type { KeyValue } from '../proto/kv.js';
import type { WatchEvent } from '../proto/watch.js';
import type { BytesLike } from '../proto/wire.js';
import type { Etcd3Watcher, Etcd3WatchOptions, WatcherFollower } from './watcher.js';

/** What the etcd v3 source reports; the Store's watch has one. */
export interface Etcd3SourceHandler {
  /**
   * A read of the watched range at `revision`: the start of a watch without a start revision
   * (`compacted` undefined: the initial values), or the re-read after etcd compacted the history
   * the watch needed (`compacted` set: report the differences to what was delivered, then
   * `resync`). A promise when it needs requests first.
   */
  read(kvs: KeyValue[], revision: number, compacted: Etcd3Error | undefined): void | Promise<void>;
  /**
   * Changes in revision order, as one etcd answer brought them. A promise when it needs requests
   * first; it must deliver all of them or none (a rejection with an {@link Etcd3Error} is retried:
   * the source watches again from the first of them).
   */
  events(events: WatchEvent[]): void | Promise<void>;
  /** A start from now (no start revision, no read first): etcd armed the watch at `revision`. */
  anchored?(revision: number): void;
}

export interface Etcd3SourceOptions {
  /** The watched key, or the start of the watched range. */
  key: BytesLike;
  /** The end of the range (exclusive; `'\0'`: every key from `key` on); `undefined`: the key alone. */
  end: BytesLike | undefined;
  /** Deliver every change from this revision on; `undefined`: read the range first, or start now. */
  fromRevision: number | undefined;
  /** Without `fromRevision`: read the range first (the initial values). */
  readFirst: boolean;
  /** Reads `[key, end)` at one revision (several pages when it is large). */
  read(
    key: BytesLike,
    end: BytesLike | undefined,
    signal: AbortSignal,
  ): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** The watch's stop. */
  stop: StopSignal;
}

type Answer =
  | { kind: 'read'; kvs: KeyValue[]; revision: number }
  | { kind: 'created'; revision: number }
  | { kind: 'events'; events: WatchEvent[] }
  | { kind: 'compacted'; error: Etcd3Error };

type Queued = Answer | { kind: 'failed'; error: Etcd3Error };

/**
 * The etcd v3 poll source: a round hands over the next answer of the source's watcher on the
 * client's shared watch stream (one stream per host carries every watcher of the client), opening
 * the watcher when there is none: from the cursor (the last delivered revision + 1), so after a
 * broken stream it resumes where it stopped, on whichever member the host pool picks. A start
 * without a revision reads the range first (its revision + 1 is the cursor). When etcd compacted
 * the history the cursor needs, the next round re-reads the range and the handler diffs it
 * (`resync`), as etcd v2's source does after errorCode 401.
 *
 * A failed round never moves the cursor: the watcher is dropped, and the next round watches again
 * from the last revision delivered + 1. Errors of the handler that are not etcd's (a value the
 * codec cannot read) end the watch.
 */
export class Etcd3PollSource implements PollSource<Answer>, WatcherFollower {
  readonly #client: Etcd3Client;
  readonly #options: Etcd3SourceOptions;
  readonly #handler: Etcd3SourceHandler;
  #cursor: number | undefined;
  /** The next round is a read: at the start, or after a compaction (its error). */
  #readNext: boolean;
  #compacted: Etcd3Error | undefined = undefined;
  #watcher: Etcd3Watcher | undefined = undefined;
  /** Answers that arrived before the loop asked for them (one etcd message may bring several). */
  #queue: Queued[] | undefined = undefined;
  #waiting: { resolve: (answer: Answer) => void; reject: (error: unknown) => void } | undefined = undefined;
  /** The handler's own failure: it ends the watch. */
  #fatal: unknown = undefined;

  constructor(client: Etcd3Client, options: Etcd3SourceOptions, handler: Etcd3SourceHandler) {
    this.#client = client;
    this.#options = options;
    this.#handler = handler;
    this.#cursor = options.fromRevision;
    this.#readNext = options.fromRevision === undefined && options.readFirst;
    options.stop.add(() => this.#stopped());
  }

  /** The next revision to deliver (`undefined` before the watch is anchored). */
  get cursor(): number | undefined {
    return this.#cursor;
  }

  next(): Promise<Answer> {
    if (this.#readNext) return this.#read();
    const queued = this.#queue?.shift();
    if (queued !== undefined)
      return queued.kind === 'failed' ? Promise.reject(queued.error) : Promise.resolve(queued);
    if (this.#options.stop.aborted) return Promise.reject(this.#options.stop.reason);
    this.#watcher ??= this.#open();
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  apply(answer: Answer): void | Promise<void> {
    switch (answer.kind) {
      case 'created':
        // A start from now: the watch is anchored at the revision etcd armed it at.
        if (this.#cursor === undefined) {
          this.#cursor = answer.revision + 1;
          this.#handler.anchored?.(answer.revision);
        }
        return;
      case 'compacted':
        this.#compacted = answer.error;
        this.#readNext = true;
        return;
      case 'read': {
        const compacted = this.#compacted;
        return this.#handle(this.#handler.read(answer.kvs, answer.revision, compacted), () => {
          this.#readNext = false;
          this.#compacted = undefined;
          this.#cursor = answer.revision + 1;
        });
      }
      case 'events': {
        const last = answer.events[answer.events.length - 1]!.kv.modRevision;
        return this.#handle(this.#handler.events(answer.events), () => {
          this.#cursor = Math.max(this.#cursor ?? 0, last + 1);
        });
      }
    }
  }

  isTerminal(error: unknown): boolean {
    if (error !== undefined && error === this.#fatal) return true;
    if (!isEtcd3Error(error)) return false;
    return (
      error.code === 'ETCD3_PERMISSION_DENIED' ||
      error.code === 'ETCD3_AUTH_FAILED' ||
      error.code === 'ETCD3_INVALID_ARGUMENT' ||
      error.code === 'ETCD3_CLOSED'
    );
  }

  /** After the handler: the cursor moves only when it delivered; a failure drops the watcher. */
  #handle(handled: void | Promise<void>, done: () => void): void | Promise<void> {
    if (handled === undefined) {
      done();
      return;
    }
    return handled.then(done, (error: unknown) => {
      if (!isEtcd3Error(error)) this.#fatal = error;
      // The events after these ones are queued: watch again from the cursor instead.
      this.#drop();
      throw error;
    });
  }

  async #read(): Promise<Answer> {
    const { key, end, stop } = this.#options;
    const { kvs, revision } = await this.#options.read(key, end, stop.signal);
    return { kind: 'read', kvs, revision };
  }

  #open(): Etcd3Watcher {
    // Not two spreads: a literal made of a spread and more properties is old-space garbage
    // (core's `extend`), once per watcher here (bench S6).
    const options: Etcd3WatchOptions = {};
    if (this.#options.end !== undefined) options.end = this.#options.end;
    if (this.#cursor !== undefined) options.startRevision = this.#cursor;
    const watcher = this.#client.watch(this.#options.key, options);
    // The watcher's follower rather than four listeners (S6 in bench/ holds 5,000 watches).
    watcher.follower = this;
    return watcher;
  }

  /** @internal */
  watcherCreated(revision: number): void {
    this.#received({ kind: 'created', revision });
  }

  /** @internal */
  watcherEvents(events: WatchEvent[]): void {
    this.#received({ kind: 'events', events });
  }

  /** @internal */
  watcherEnded(error: Etcd3Error | undefined): void {
    if (error === undefined) this.#received('closed');
    else
      this.#received(
        error.code === 'ETCD3_COMPACTED' ? { kind: 'compacted', error } : { kind: 'failed', error },
      );
  }

  #received(item: Queued | 'closed'): void {
    if (item !== 'closed' && item.kind !== 'failed' && item.kind !== 'compacted') {
      this.#push(item);
      return;
    }
    // The watcher is over (the source is told once: a dropped watcher has no follower). An end
    // without an error that was not ours: the client was closed.
    if (item === 'closed' && this.#options.stop.aborted) return;
    this.#watcher = undefined;
    this.#push(
      item === 'closed'
        ? {
            kind: 'failed',
            error: new Etcd3Error({ code: 'ETCD3_CLOSED', message: 'the etcd v3 client was closed' }),
          }
        : item,
    );
  }

  #push(item: Queued): void {
    const waiting = this.#waiting;
    if (waiting === undefined) {
      (this.#queue ??= []).push(item);
      return;
    }
    this.#waiting = undefined;
    if (item.kind === 'failed') waiting.reject(item.error);
    else waiting.resolve(item);
  }

  /** Cancels the watcher and forgets what it queued. */
  #drop(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#queue = undefined;
    if (watcher) {
      watcher.follower = undefined;
      void watcher.cancel();
    }
  }

  #stopped(): void {
    this.#drop();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(this.#options.stop.reason);
  }
}
