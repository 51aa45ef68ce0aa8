import { abortSignal, listenForAbort, stopListening, type AnySignal } from '@polykv/core';
import { keyPath, type EtcdNode, type EtcdResult, type KeysApi } from '../api/keys.js';
import { EtcdError, isEtcdError } from '../errors.js';
import { abortedError, normalizeKey, type WatchReadOptions } from './wait-source.js';

/** Options of {@link SharedReads}. */
export interface SharedReadsOptions {
  /**
   * Fewest reads below one directory that become one read of the directory; smaller batches are
   * individual reads. `0` turns batching off. @defaultValue 8
   */
  minBatch?: number;
}

type AnyNode = EtcdNode<unknown>;
type AnyResult = EtcdResult<unknown>;

/** One pending read. */
interface Reader {
  readonly key: string;
  /** The normalized key, `a/b/c`. */
  readonly normalized: string;
  readonly recursive: boolean;
  readonly resolve: (result: AnyResult) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AnySignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The reads of one directory that go out together. */
interface Batch {
  readonly dir: string;
  readers: Reader[];
  /** Set once sent: aborts the directory read when every reader has left. */
  stop: AbortController | undefined;
}

/** Per directory: the batch collecting readers, and whether a read of the directory is in flight. */
interface DirState {
  next: Batch | undefined;
  inFlight: Batch | undefined;
}

/** A directory node as a non-recursive read shows it: its children, without theirs. */
function oneLevel(node: AnyNode): AnyNode {
  if (!node.dir) return node;
  const { nodes, ...rest } = node;
  const out: AnyNode = rest;
  if (nodes && nodes.length > 0)
    out.nodes = nodes.map((child) => {
      if (!child.dir || child.nodes === undefined) return child;
      const { nodes: _below, ...bare } = child;
      return bare;
    });
  return out;
}

/**
 * Coalesced quorum reads (one per client, behind `client.waits.read`): watchers that start
 * together read their baseline (and re-read after a 401) with `read(key, { recursive, signal })`,
 * which is `client.keys.get(key, { recursive, quorum: true, signal })` in meaning. Reads of keys
 * directly below one directory that arrive in the same tick (flushed on `setImmediate`; while a
 * read of that directory is in flight, the next ones wait for it and form the next batch) become
 * one `GET /v2/keys/<dir>?recursive=true&quorum=true` when there are at least `minBatch` of them;
 * each reader takes its own node (its subtree, or one level of it without `recursive`) and the
 * read's `X-Etcd-Index`. Fewer readers, a top-level key, or a key whose name starts with `_`
 * (hidden from directory listings) are individual reads.
 *
 * Errors are each reader's as an individual read would get them: a missing directory or key is
 * `ETCD_KEY_NOT_FOUND` with the read's index; a directory etcd refuses (a 4xx other than "not
 * found"), or a file where the directory should be, makes each reader read on its own (the
 * directory is not batched again after a refusal); a connection failure or 5xx rejects each
 * reader with that error. A reader whose signal aborts leaves the batch at once (`ETCD_ABORTED`);
 * a directory read whose readers all left is aborted.
 */
export class SharedReads {
  readonly #keys: KeysApi;
  readonly #minBatch: number;
  readonly #dirs = new Map<string, DirState>();
  /** Directories etcd refused a read of: never batched again. */
  readonly #refused = new Set<string>();
  #scheduled = false;

  /** One per client, inside {@link SharedWaits} (its `read`). */
  constructor(keys: KeysApi, options: SharedReadsOptions = {}) {
    this.#keys = keys;
    this.#minBatch = options.minBatch ?? 8;
  }

  /** `client.keys.get(key, { recursive, quorum: true, signal })`, batched with its neighbours. */
  read<V = string>(key: string, options: WatchReadOptions = {}): Promise<EtcdResult<V>> {
    const recursive = options.recursive ?? false;
    const { signal } = options;
    const normalized = normalizeKey(key);
    const slash = normalized.lastIndexOf('/');
    const dir = slash === -1 ? '' : normalized.slice(0, slash);
    if (this.#minBatch <= 0 || dir === '' || normalized[slash + 1] === '_' || this.#refused.has(dir))
      return this.#single<V>(key, recursive, signal);
    if (signal?.aborted) return Promise.reject(abortedError(readPath(key, recursive), signal));
    return new Promise<AnyResult>((resolve, reject) => {
      const reader: Reader = { key, normalized, recursive, resolve, reject, signal, onAbort: undefined };
      let state = this.#dirs.get(dir);
      if (state === undefined) {
        state = { next: undefined, inFlight: undefined };
        this.#dirs.set(dir, state);
      }
      const batch = (state.next ??= { dir, readers: [], stop: undefined });
      batch.readers.push(reader);
      listenForAbort(reader, () => this.#leave(batch, reader));
      if (state.inFlight === undefined) this.#schedule();
    }) as Promise<EtcdResult<V>>;
  }

  #single<V>(key: string, recursive: boolean, signal: AnySignal | undefined): Promise<EtcdResult<V>> {
    return this.#keys.get<V>(key, {
      recursive,
      quorum: true,
      maxRetries: 0,
      ...(signal ? { signal: abortSignal(signal) } : {}),
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const [dir, state] of this.#dirs) {
        if (state.inFlight !== undefined || state.next === undefined) continue;
        const batch = state.next;
        state.next = undefined;
        if (batch.readers.length >= this.#minBatch) {
          state.inFlight = batch;
          void this.#send(batch, state);
        } else {
          this.#dirs.delete(dir);
          for (const reader of batch.readers) this.#alone(reader);
        }
      }
    });
  }

  /** A reader that leaves (its signal aborted): rejected now; a sent batch without readers stops. */
  #leave(batch: Batch, reader: Reader): void {
    const at = batch.readers.indexOf(reader);
    if (at === -1) return;
    batch.readers.splice(at, 1);
    reader.reject(abortedError(readPath(reader.key, reader.recursive), reader.signal!));
    if (batch.readers.length === 0) batch.stop?.abort();
  }

  /** The reader's own read, as if it had never been batched. */
  #alone(reader: Reader): void {
    stopListening(reader);
    this.#single<unknown>(reader.key, reader.recursive, reader.signal).then(reader.resolve, reader.reject);
  }

  async #send(batch: Batch, state: DirState): Promise<void> {
    const stop = new AbortController();
    batch.stop = stop;
    let result: AnyResult | undefined;
    let failure: unknown;
    try {
      result = await this.#keys.get<unknown>(batch.dir, {
        recursive: true,
        quorum: true,
        // The watches' loops retry (see `watchRead`).
        maxRetries: 0,
        signal: stop.signal,
      });
    } catch (error) {
      failure = error;
    }
    state.inFlight = undefined;
    if (state.next !== undefined) this.#schedule();
    else this.#dirs.delete(batch.dir);
    const readers = batch.readers;
    batch.readers = [];
    for (const reader of readers) stopListening(reader);
    if (readers.length === 0) return;
    if (result === undefined) {
      if (isEtcdError(failure) && failure.code === 'ETCD_KEY_NOT_FOUND') {
        // The directory (or one above it) is missing: so is each key, with the same cause.
        for (const reader of readers) reader.reject(notFound(reader, failure.cause, failure));
      } else if (
        isEtcdError(failure) &&
        failure.statusCode !== undefined &&
        failure.statusCode >= 400 &&
        failure.statusCode < 500
      ) {
        // Refused on the directory (e.g. credentials that may read the keys only), or a file above
        // it (not a directory): each reader reads alone and gets etcd's answer for its key.
        if (failure.code !== 'ETCD_NOT_A_DIRECTORY') this.#refused.add(batch.dir);
        for (const reader of readers) this.#alone(reader);
      } else {
        for (const reader of readers) reader.reject(failure);
      }
      return;
    }
    const root = result.node;
    if (!root.dir) {
      // A file where the directory should be: each read gets etcd's own answer (not a directory).
      for (const reader of readers) this.#alone(reader);
      return;
    }
    const children = new Map<string, AnyNode>();
    for (const child of root.nodes ?? []) children.set(normalizeKey(child.key), child);
    for (const reader of readers) {
      const node = children.get(reader.normalized);
      if (node === undefined) {
        reader.reject(notFound(reader, `/${reader.normalized}`, result));
        continue;
      }
      reader.resolve({
        action: 'get',
        node: reader.recursive ? node : oneLevel(node),
        etcdIndex: result.etcdIndex,
        raftIndex: result.raftIndex,
        raftTerm: result.raftTerm,
        clusterId: result.clusterId,
        host: result.host,
      });
    }
  }
}

/** The request path an individual read of the key would have had. */
function readPath(key: string, recursive: boolean): string {
  return `${keyPath(key)}?${recursive ? 'recursive=true&' : ''}quorum=true`;
}

/** etcd's "Key not found" (errorCode 100) for the reader's key, at the directory read's index. */
function notFound(
  reader: Reader,
  cause: unknown,
  from: { index?: number | undefined; etcdIndex?: number | undefined; host: string | undefined },
): EtcdError {
  const index = from.index ?? from.etcdIndex;
  return new EtcdError({
    errorCode: 100,
    etcdMessage: 'Key not found',
    ...(typeof cause === 'string' ? { cause } : {}),
    ...(index !== undefined ? { index } : {}),
    statusCode: 404,
    method: 'GET',
    ...(from.host !== undefined ? { host: from.host } : {}),
    path: readPath(reader.key, reader.recursive),
  });
}
