import { Etcd3Error, codeOfStatus, isEtcd3Error } from '../errors.js';
import {
  readWatchResponse,
  watchCancelFrame,
  watchCreateFrame,
  watchProgressFrame,
  type WatchResponse,
} from '../proto/watch.js';
import { Reader, type BytesLike } from '../proto/wire.js';
import type { Requester } from '../request.js';
import type { CallHeaders, GrpcStream, Transport } from '../transport.js';
import { Etcd3Watcher, type Etcd3WatchOptions, type Placement, type WatcherStream } from './watcher.js';

/** How long a stream without watchers stays open for the next one. */
const LINGER_MS = 1000;

/**
 * Asks etcd to end the stream when its member has had no leader for a while (etcd's
 * `WithRequireLeader`): a member cut off from the others would otherwise keep the stream open and
 * send nothing, a watch that looks alive and is mute. It also refuses to open a stream on such a
 * member, so the watcher goes to another host.
 */
const REQUIRE_LEADER = 'hasleader';

/** One gRPC Watch stream on one host, with the watchers on it. */
export class WatchStream implements WatcherStream {
  readonly host: string;
  /** The headers it was opened with (its token): a refusal for the token names them. */
  readonly headers: CallHeaders;
  readonly #watchers = new Map<number, Etcd3Watcher>();
  /**
   * Watchers whose create request etcd has not answered yet, in the order sent. etcd answers the
   * creates of a stream in order, and etcd 3.4 answers a refused one (an expired token, no
   * permission) with watch ID -1 rather than the watcher's own: the refusal is the oldest's.
   */
  readonly #creating: Etcd3Watcher[] = [];
  readonly #grpc: GrpcStream;
  readonly #onEnd: (stream: WatchStream) => void;
  #nextId = 1;
  #linger: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(
    transport: Transport,
    host: string,
    headers: CallHeaders,
    onEnd: (stream: WatchStream, error: Etcd3Error | undefined) => void,
  ) {
    this.host = host;
    this.headers = headers;
    this.#onEnd = (stream) => onEnd(stream, undefined);
    const streamHeaders = { ...headers, [REQUIRE_LEADER]: 'true' };
    this.#grpc = transport.stream(host, '/etcdserverpb.Watch/Watch', 'Watch/Watch', streamHeaders, {
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
        this.#creating.length = 0;
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
    this.#creating.push(watcher);
    const { options } = watcher;
    // Fields left undefined (or 0, false) are not written: no object per option (once per watcher).
    this.#grpc.write(
      watchCreateFrame({
        key: watcher.key,
        rangeEnd: watcher.rangeEnd,
        startRevision: watcher.nextRevision,
        progressNotify: options.progressNotify,
        prevKv: options.prevKv,
        filters: options.filters,
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

  /** No new watchers come (its token is stale): it closes once its last watcher goes. */
  retire(): void {
    if (this.#watchers.size === 0) this.close();
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
      if (response.created || response.canceled) {
        // etcd refused the oldest create request (see #creating).
        const refused = this.#creating.shift();
        if (refused && this.#watchers.get(refused.id) === refused) {
          this.#watchers.delete(refused.id);
          refused.fail(canceledError(response, this.host));
        }
        return;
      }
      // A progress answer for the whole stream (after `requestProgress`).
      for (const watcher of this.#watchers.values())
        if (watcher.created) watcher.onProgress(response.header.revision);
      return;
    }
    if (response.created) {
      const at = this.#creating.findIndex((waiting) => waiting.id === response.watchId);
      if (at !== -1) this.#creating.splice(at, 1);
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
  /** The stream new watchers of each host go to. */
  readonly #streams = new Map<string, WatchStream>();
  /** Every open stream, also those new watchers no longer go to (a stale token). */
  readonly #all = new Set<WatchStream>();
  readonly #transport: Transport;
  readonly #requester: Requester;
  readonly #maxRetries: number;

  constructor(transport: Transport, requester: Requester, maxRetries: number) {
    this.#transport = transport;
    this.#requester = requester;
    this.#maxRetries = maxRetries;
  }

  watch(key: BytesLike, options: Etcd3WatchOptions): Etcd3Watcher {
    const watcher = new Etcd3Watcher(key, options, removeFromStream);
    const { signal } = options;
    if (signal !== undefined) {
      if (signal.aborted) {
        watcher.end(undefined);
        return watcher;
      }
      const onAbort = (): void => void watcher.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      watcher.once('end', () => signal.removeEventListener('abort', onAbort));
    }
    // The pinned host's stream is open with the headers a new stream would have: the watcher goes
    // straight onto it, and through the host pool only if that stream fails before etcd armed it.
    // Not a placement per watcher (an async call through the pool, a promise, the token lookup):
    // those were about a quarter of what arming a watcher allocated, held until etcd answered
    // (bench/heap-s6.mjs --allocations), and a burst of watchers left them in the old generation.
    const stream = this.#streams.get(this.#requester.pool.current);
    if (stream !== undefined && !stream.ended && stream.headers === this.#requester.knownHeaders) {
      watcher.placeAgainWith(this.#placeAgain);
      stream.add(watcher);
    } else this.#placeOrEnd(watcher);
    return watcher;
  }

  /** A watcher added straight to a stream that failed before etcd armed it: placed as any other. */
  readonly #placeAgain: Placement = (watcher, error) => {
    if (error !== undefined) this.#placeOrEnd(watcher);
  };

  #placeOrEnd(watcher: Etcd3Watcher): void {
    this.#place(watcher).catch((error: unknown) => watcher.end(asEtcd3Error(error)));
  }

  /**
   * Places the watcher on the stream of the pinned host (opening one when there is none), with the
   * host pool's failover. A stream whose token etcd refused (it expired while the stream was open:
   * etcd checks the token of a stream when a watcher is added, not when it opened) is retired: its
   * watchers keep running, new ones go to a new stream with a fresh token, this one first.
   */
  async #place(watcher: Etcd3Watcher): Promise<void> {
    for (let refreshed = false; ; refreshed = true) {
      let used: WatchStream | undefined;
      try {
        await this.#requester.pool.run(
          async (host) => {
            if (watcher.ended) return;
            const { headers } = await this.#requester.streamTarget(undefined, host);
            let stream = this.#streams.get(host);
            if (!stream || stream.ended || stream.headers !== headers) {
              stream = new WatchStream(this.#transport, host, headers, (ended) => {
                this.#all.delete(ended);
                if (this.#streams.get(host) === ended) this.#streams.delete(host);
              });
              this.#streams.set(host, stream);
              this.#all.add(stream);
            }
            used = stream;
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
        return;
      } catch (error) {
        if (refreshed || used === undefined || !this.#requester.refreshAfter(error, used.headers))
          throw error;
        if (this.#streams.get(used.host) === used) this.#streams.delete(used.host);
        used.retire();
      }
    }
  }

  /** Asks every stream for a progress answer (`progress` on each armed watcher). */
  requestProgress(): void {
    for (const stream of this.#all) stream.requestProgress();
  }

  close(): void {
    for (const stream of [...this.#all]) stream.shutdown();
    this.#streams.clear();
    this.#all.clear();
  }
}

function removeFromStream(watcher: Etcd3Watcher): void {
  watcher.stream?.remove(watcher);
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
