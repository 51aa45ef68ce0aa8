import type { PollSource, StopSignal } from '@polykv/core';
import type { EtcdEmptyWait, EtcdNode, EtcdResult, KeysApi } from '../api/keys.js';
import { isEtcdError, type EtcdError } from '../errors.js';
import { isTerminalWatchError, watchRead, type WaitSource } from './wait-source.js';

/** What the etcd v2 source reports; the native watcher, the Store's watch and the lock's wait use it. */
export interface EtcdSourceHandler<V> {
  /** One etcd event; the source's cursor has moved to `modifiedIndex + 1`. */
  event(result: EtcdResult<V>): void;
  /**
   * A fresh quorum read of the watched key: its values (non-directory nodes, the subtree's when
   * recursive) and the read's `X-Etcd-Index`. `cleared` is undefined for the baseline (a watch
   * started without an index) and the 401 ("event index cleared") that made the source re-read:
   * the handler reports the differences to what it delivered, then `resync`.
   */
  read(nodes: EtcdNode<V>[], index: number, cleared: EtcdError | undefined): void;
}

/** A re-read of the watched key (the round after a start without an index, or after a 401). */
interface Read<V> {
  readonly kind: 'read';
  readonly nodes: EtcdNode<V>[];
  readonly index: number | undefined;
}

/** errorCode 401: etcd's 1,000-event history no longer reaches the cursor. */
interface Cleared {
  readonly kind: 'cleared';
  readonly error: EtcdError;
}

type Answer<V> = EtcdResult<V> | EtcdEmptyWait | Read<V> | Cleared;

/** Options of {@link EtcdPollSource}: what to wait on, and from which index. */
export interface EtcdSourceOptions {
  /** Watch every key below the key too. */
  recursive: boolean;
  /** The first index to wait for (replaying history from it); `undefined`: read the key first. */
  fromIndex: number | undefined;
  /** The watch's stop, handed to its requests. */
  stop: StopSignal;
  /**
   * `false`: the first read (without `fromIndex`) only anchors the cursor, so it reads the key
   * alone, not its subtree (a watch without the initial values: a mirror's source watch at 100,000
   * keys would otherwise parse the whole tree once for nothing). Re-reads after a 401 read it all.
   * @defaultValue true
   */
  valuesFirst?: boolean;
}

/** The values a quorum read shows: the node if it is one, else (recursive) every value below it. */
function values<V>(node: EtcdNode<V>, recursive: boolean, out: EtcdNode<V>[] = []): EtcdNode<V>[] {
  if (!node.dir) out.push(node);
  else if (recursive) for (const child of node.nodes ?? []) values(child, true, out);
  return out;
}

/**
 * The etcd v2 poll source. A round is one `GET /v2/keys/<key>?wait=true&waitIndex=<cursor>`
 * (through `waits`: the client's shared polls, or `client.keys`), or a quorum read when the source
 * has no cursor (a start without an index) or etcd's history is gone (errorCode 401). Cursor rules:
 * after an event, `modifiedIndex + 1`; after an empty answer (etcd closed the poll),
 * `X-Etcd-Index + 1` (the index when etcd registered the poll, so nothing between is skipped and an
 * idle key on a busy cluster never falls out of the history window); after a failure, the same
 * index again (the watch loop backs off); after a read, its `X-Etcd-Index + 1`. It never skips
 * silently.
 */
export class EtcdPollSource<V> implements PollSource<Answer<V>> {
  readonly #waits: WaitSource;
  readonly #keys: KeysApi;
  readonly #key: string;
  readonly #recursive: boolean;
  readonly #stop: StopSignal;
  readonly #handler: EtcdSourceHandler<V>;
  readonly #valuesFirst: boolean;
  #cursor: number | undefined;
  /** The 401 that makes the next round a read. */
  #cleared: EtcdError | undefined = undefined;
  /** The handler's own failure (a value it cannot decode): it ends the watch. */
  #fatal: unknown = undefined;

  /**
   * A source for `key`, for core's watch loop to run.
   * @param waits - what to long-poll through (the client's shared polls, or `keys`).
   * @param keys - for the quorum reads when `waits` has no `read`.
   * @param handler - receives the events and the reads.
   */
  constructor(
    waits: WaitSource,
    keys: KeysApi,
    key: string,
    options: EtcdSourceOptions,
    handler: EtcdSourceHandler<V>,
  ) {
    this.#waits = waits;
    this.#keys = keys;
    this.#key = key;
    this.#recursive = options.recursive;
    this.#stop = options.stop;
    this.#handler = handler;
    this.#cursor = options.fromIndex;
    this.#valuesFirst = options.valuesFirst ?? true;
  }

  /** The next index to wait for (`undefined` before the first read). */
  get cursor(): number | undefined {
    return this.#cursor;
  }

  next(): Promise<Answer<V>> {
    if (this.#cursor === undefined || this.#cleared !== undefined) return this.#read();
    return this.#waits
      .wait<V>(this.#key, {
        recursive: this.#recursive,
        waitIndex: this.#cursor,
        // `waits` takes the StopSignal itself when it can (the shared polls): no AbortSignal per watch (about 0.7 KB each, S6 in bench/).
        signal: this.#waits.stopSignals ? this.#stop : this.#stop.signal,
        maxRetries: 0,
      })
      .catch(historyGone);
  }

  apply(answer: Answer<V>): void {
    try {
      this.#apply(answer);
    } catch (error) {
      // Not the connection's failure: retrying would skip the answer the handler failed on.
      this.#fatal = error;
      throw error;
    }
  }

  #apply(answer: Answer<V>): void {
    if (!('kind' in answer)) {
      if (answer.action === null) {
        if (answer.etcdIndex !== undefined) this.#cursor = answer.etcdIndex + 1;
        return;
      }
      this.#cursor = answer.node.modifiedIndex + 1;
      this.#handler.event(answer);
      return;
    }
    if (answer.kind === 'cleared') {
      this.#cleared = answer.error;
      return;
    }
    const cleared = this.#cleared;
    this.#cleared = undefined;
    const index = answer.index ?? cleared?.index ?? 0;
    this.#cursor = index + 1;
    this.#handler.read(answer.nodes, index, cleared);
  }

  /**
   * Makes the next round a re-read, as after a 401 (`reason` in the 401's place): the handler then
   * reports the differences to what it delivered, and `resync`. For what the events cannot tell:
   * see the Store's watch (a directory deleted under a watch that does not know every key below it).
   */
  reread(reason: EtcdError): void {
    this.#cleared ??= reason;
  }

  isTerminal(error: unknown): boolean {
    return (error !== undefined && error === this.#fatal) || isTerminalWatchError(error);
  }

  /** The watched key's values (quorum, coalesced through `waits.read`); a missing key has none. */
  async #read(): Promise<Read<V>> {
    const anchorOnly = !this.#valuesFirst && this.#cursor === undefined && this.#cleared === undefined;
    try {
      const result = await watchRead<V>(this.#waits, this.#keys, this.#key, {
        recursive: this.#recursive && !anchorOnly,
        signal: this.#stop,
      });
      return {
        kind: 'read',
        nodes: values(result.node, this.#recursive),
        index: result.etcdIndex ?? result.node.modifiedIndex,
      };
    } catch (error) {
      // Nothing there yet (or a file where a directory would be): no values, at the read's index.
      if (
        isEtcdError(error) &&
        (error.code === 'ETCD_KEY_NOT_FOUND' || error.code === 'ETCD_NOT_A_DIRECTORY')
      )
        return { kind: 'read', nodes: [], index: error.index };
      throw error;
    }
  }
}

/** A 401 is an answer (re-read), not a failure; anything else fails the round. */
function historyGone(error: unknown): Cleared {
  if (isEtcdError(error) && error.code === 'ETCD_EVENT_INDEX_CLEARED') return { kind: 'cleared', error };
  throw error;
}
