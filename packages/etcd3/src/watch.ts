import { EventEmitter } from 'eventemitter3';
import { rangeEnd, type KeyRange } from './api/kv.js';
import { Etcd3Error, codeOfStatus, isEtcd3Error } from './errors.js';
import type { ResponseHeader } from './proto/kv.js';
import {
  readWatchResponse,
  watchCancelFrame,
  watchCreateFrame,
  watchProgressFrame,
  type WatchEvent,
  type WatchResponse,
} from './proto/watch.js';
import { Reader, toBytes, type BytesLike } from './proto/wire.js';
import type { Requester } from './request.js';
import type { GrpcStream, Transport } from './transport.js';

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
  readonly key: Buffer;
  readonly rangeEnd: Uint8Array | undefined;
  readonly options: Readonly<Etcd3WatchOptions>;
  /** Resolves with the revision etcd armed the watcher at; rejects if it ends before that. */
  readonly ready: Promise<number>;
  /** Resolves when the watcher ends: with the error that ended it, or `undefined`. Never rejects. */
  readonly closed: Promise<Etcd3Error | undefined>;
  /** The host whose stream carries the watcher, once it is placed. */
  host: string | undefined;
  /** The revision to watch from to miss nothing and repeat nothing after this watcher ends. */
  nextRevision: number;
  /** @internal The watcher's ID on its stream. */
  id = 0;
  /** @internal The stream carrying the watcher. */
  stream: WatchStream | undefined;
  #created = false;
  #ended = false;
  #placement: { resolve: () => void; reject: (error: Etcd3Error) => void } | undefined;
  #resolveReady!: (revision: number) => void;
  #rejectReady!: (error: Etcd3Error) => void;
  #resolveClosed!: (error: Etcd3Error | undefined) => void;
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
    this.ready = new Promise<number>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A caller that never awaits `ready` learns of the failure from `error`/`closed`.
    this.ready.catch(() => undefined);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get created(): boolean {
    return this.#created;
  }

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
    return new Promise((resolve, reject) => (this.#placement = { resolve, reject }));
  }

  /** @internal Its stream failed: before etcd armed it, the placement is tried again elsewhere. */
  fail(error: Etcd3Error): void {
    this.stream = undefined;
    const placement = this.#placement;
    if (!this.#created && placement && !this.#ended) {
      this.#placement = undefined;
      placement.reject(error);
    } else this.end(error);
  }

  /** @internal */
  onCreated(revision: number): void {
    this.#created = true;
    this.#placement?.resolve();
    this.#placement = undefined;
    if (this.options.startRevision === undefined || this.options.startRevision <= revision)
      this.nextRevision = Math.max(this.nextRevision, revision + 1);
    this.emit('created', revision);
    this.#resolveReady(revision);
  }

  /** @internal */
  onEvents(events: WatchEvent[], header: ResponseHeader): void {
    this.nextRevision = Math.max(this.nextRevision, events[events.length - 1]!.kv.modRevision + 1);
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
    this.#placement?.resolve();
    this.#placement = undefined;
    this.#rejectReady(
      error ??
        new Etcd3Error({ code: 'ETCD3_ABORTED', message: 'the watcher was canceled before etcd armed it' }),
    );
    if (error) this.emit('error', error);
    this.emit('end');
    this.#resolveClosed(error);
  }
}

/** How long a stream without watchers stays open for the next one. */
const LINGER_MS = 1000;

/** One gRPC Watch stream on one host, with the watchers on it. */
export class WatchStream {
  readonly host: string;
  readonly #watchers = new Map<number, Etcd3Watcher>();
  readonly #grpc: GrpcStream;
  readonly #onEnd: (stream: WatchStream) => void;
  #nextId = 1;
  #linger: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(
    transport: Transport,
    host: string,
    headers: Readonly<Record<string, string>>,
    onEnd: (stream: WatchStream, error: Etcd3Error | undefined) => void,
  ) {
    this.host = host;
    this.#onEnd = (stream) => onEnd(stream, undefined);
    this.#grpc = transport.stream(host, '/etcdserverpb.Watch/Watch', 'Watch/Watch', headers, {
      message: (message) => this.#onMessage(readWatchResponse(new Reader(message), message.length)),
      close: (error) => {
        this.#ended = true;
        clearTimeout(this.#linger);
        onEnd(this, error);
        const cause =
          error ??
          new Etcd3Error({
            code: 'ETCD3_CONNECTION',
            message: `the watch stream to ${host} ended`,
            method: 'Watch/Watch',
            host,
          });
        const watchers = [...this.#watchers.values()];
        this.#watchers.clear();
        for (const watcher of watchers) watcher.fail(cause);
      },
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  get size(): number {
    return this.#watchers.size;
  }

  add(watcher: Etcd3Watcher): void {
    clearTimeout(this.#linger);
    const id = this.#nextId++;
    watcher.id = id;
    watcher.stream = this;
    watcher.host = this.host;
    this.#watchers.set(id, watcher);
    const { options } = watcher;
    this.#grpc.write(
      watchCreateFrame({
        key: watcher.key,
        ...(watcher.rangeEnd !== undefined ? { rangeEnd: watcher.rangeEnd } : {}),
        ...(watcher.nextRevision > 0 ? { startRevision: watcher.nextRevision } : {}),
        ...(options.progressNotify ? { progressNotify: true } : {}),
        ...(options.prevKv ? { prevKv: true } : {}),
        ...(options.filters ? { filters: options.filters } : {}),
        watchId: id,
      }),
    );
  }

  remove(watcher: Etcd3Watcher): void {
    if (this.#watchers.get(watcher.id) !== watcher) return;
    this.#watchers.delete(watcher.id);
    if (this.#ended) return;
    this.#grpc.write(watchCancelFrame(watcher.id));
    if (this.#watchers.size === 0) {
      this.#linger = setTimeout(() => {
        if (this.#watchers.size === 0) this.close();
      }, LINGER_MS);
      this.#linger.unref();
    }
  }

  requestProgress(): void {
    if (!this.#ended) this.#grpc.write(watchProgressFrame());
  }

  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(this);
    this.#grpc.cancel();
  }

  /** Ends every watcher without an error (the client is closing). */
  shutdown(): void {
    for (const watcher of this.#watchers.values()) watcher.end(undefined);
    this.#watchers.clear();
    this.close();
  }

  #onMessage(response: WatchResponse): void {
    if (response.watchId === -1) {
      // A progress answer for the whole stream (after `requestProgress`).
      for (const watcher of this.#watchers.values())
        if (watcher.created) watcher.onProgress(response.header.revision);
      return;
    }
    const watcher = this.#watchers.get(response.watchId);
    if (!watcher) return; // canceled meanwhile
    if (response.created && !response.canceled) watcher.onCreated(response.header.revision);
    if (response.events.length > 0) watcher.onEvents(response.events, response.header);
    if (response.canceled || response.compactRevision > 0) {
      this.#watchers.delete(watcher.id);
      watcher.end(canceledError(response, this.host));
      return;
    }
    if (!response.created && response.events.length === 0) watcher.onProgress(response.header.revision);
  }
}

function canceledError(response: WatchResponse, host: string): Etcd3Error {
  if (response.compactRevision > 0) {
    return new Etcd3Error({
      code: 'ETCD3_COMPACTED',
      message: `the watch history was compacted: it starts at revision ${response.compactRevision}`,
      compactRevision: response.compactRevision,
      method: 'Watch/Watch',
      host,
    });
  }
  const reason = response.cancelReason;
  const code = codeOfStatus(-1, reason);
  return new Etcd3Error({
    code: code === 'ETCD3_GRPC_STATUS' ? 'ETCD3_WATCH_CANCELED' : code,
    message: `etcd canceled the watcher${reason ? `: ${reason}` : ''}`,
    ...(reason ? { etcdMessage: reason } : {}),
    method: 'Watch/Watch',
    host,
  });
}

/**
 * The client's watch streams: one per host, made on first use, placed on the host pool's pinned
 * host; a watcher whose stream cannot be opened there goes to the next host by the pool's rules.
 */
export class WatchStreams {
  readonly #streams = new Map<string, WatchStream>();
  readonly #transport: Transport;
  readonly #requester: Requester;
  readonly #maxRetries: number;

  constructor(transport: Transport, requester: Requester, maxRetries: number) {
    this.#transport = transport;
    this.#requester = requester;
    this.#maxRetries = maxRetries;
  }

  watch(key: BytesLike, options: Etcd3WatchOptions): Etcd3Watcher {
    const watcher = new Etcd3Watcher(key, options, (w) => w.stream?.remove(w));
    const { signal } = options;
    if (signal?.aborted) {
      watcher.end(undefined);
      return watcher;
    }
    const onAbort = (): void => void watcher.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    watcher.once('end', () => signal?.removeEventListener('abort', onAbort));
    this.#place(watcher).catch((error: unknown) => watcher.end(asEtcd3Error(error)));
    return watcher;
  }

  async #place(watcher: Etcd3Watcher): Promise<void> {
    await this.#requester.pool.run(
      async (host) => {
        if (watcher.ended) return;
        const { headers } = await this.#requester.streamTarget(undefined, host);
        let stream = this.#streams.get(host);
        if (!stream || stream.ended) {
          stream = new WatchStream(this.#transport, host, headers, (ended) => {
            if (this.#streams.get(host) === ended) this.#streams.delete(host);
          });
          this.#streams.set(host, stream);
        }
        // Until etcd arms it, a stream failure is the pool's to handle (another host); after, the watcher's.
        const placed = watcher.placed();
        stream.add(watcher);
        await placed;
      },
      {
        idempotent: true,
        signal: undefined,
        maxRetries: this.#maxRetries,
        method: 'Watch/Watch',
        path: 'watch',
      },
    );
  }

  /** Asks every stream for a progress answer (`progress` on each armed watcher). */
  requestProgress(): void {
    for (const stream of this.#streams.values()) stream.requestProgress();
  }

  close(): void {
    for (const stream of [...this.#streams.values()]) stream.shutdown();
    this.#streams.clear();
  }
}

function asEtcd3Error(error: unknown): Etcd3Error {
  if (isEtcd3Error(error)) return error;
  return new Etcd3Error({
    code: 'ETCD3_CONNECTION',
    message: String(error),
    cause: error,
    method: 'Watch/Watch',
  });
}
