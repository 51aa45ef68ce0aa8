import {
  isReservedKey,
  startWatchLoop,
  type Entry,
  type KeySpace,
  type WatchEnd,
  type WatchSink,
  type WatchStart,
} from '@polykv/core';
import type { EtcdNode, EtcdResult } from '../api/keys.js';
import type { EtcdClient } from '../client.js';
import { EtcdError } from '../errors.js';
import { EtcdPollSource, type EtcdSourceHandler } from '../watch/source.js';
import { isDeletion, trimSlashes } from './common.js';
import type { EtcdValues } from './values.js';

/**
 * A Store watch: core's watch loop over the etcd v2 source (`watch/source.ts`), ending in `end`
 * (the store's watcher translates a terminal error with `toStoreError`). Without `fromIndex`
 * the first round reads the key (the initial events; a watch started during an outage waits for
 * it, reporting `disconnected`); after a 401 the source re-reads and the sink emits the
 * differences, then `resync`.
 */
export function runStoreWatch<V>(
  client: EtcdClient,
  keys: KeySpace,
  values: EtcdValues<V>,
  sink: WatchSink<V>,
  { path, recursive, fromIndex, initial }: WatchStart,
  end: WatchEnd,
): void {
  const handler = new StoreWatchHandler(keys, values, sink, fromIndex === undefined && initial, initial);
  const source = new EtcdPollSource<string>(
    client.waits,
    client.keys,
    path,
    { recursive, fromIndex, stop: sink.stop, valuesFirst: initial },
    handler,
  );
  handler.source = source;
  // From an index, the first wait may block until the next event: the watch is anchored now.
  if (fromIndex !== undefined) sink.connected();
  startWatchLoop(source, sink, { stop: sink.stop, timing: client.options }, end);
}

/**
 * The Store's side of a watch: etcd's events and reads become Store events. A class rather than
 * two closures over the watch's state (about 0.15 KB less per idle watcher, S6 in bench/).
 */
class StoreWatchHandler<V> implements EtcdSourceHandler<string> {
  /** The watch's source (set right after it is made): a directory deletion may make it re-read. */
  source: EtcdPollSource<string> | undefined = undefined;
  readonly #keys: KeySpace;
  readonly #values: EtcdValues<V>;
  readonly #sink: WatchSink<V>;
  readonly #initial: boolean;
  /**
   * etcd names only the directory when one is deleted (or expires): the watcher turns it into one
   * `delete` per key it delivered below it. Started from an index (or without the initial values),
   * it has not delivered every key there is, so such a deletion makes the source re-read: the
   * differences, then `resync`, after which it knows every key (a mirror resumed from its
   * checkpoint re-reads its tree on `resync`, and so deletes what went with the directory).
   */
  #knowsEveryKey: boolean;

  constructor(
    keys: KeySpace,
    values: EtcdValues<V>,
    sink: WatchSink<V>,
    knowsEveryKey: boolean,
    initial: boolean,
  ) {
    this.#keys = keys;
    this.#values = values;
    this.#sink = sink;
    this.#knowsEveryKey = knowsEveryKey;
    this.#initial = initial;
  }

  event(result: EtcdResult): void {
    emitEvent(this.#keys, this.#values, this.#sink, result);
    if (!this.#knowsEveryKey && result.node.dir && isDeletion(result.action))
      this.source?.reread(
        new EtcdError({
          code: 'ETCD_EVENT_INDEX_CLEARED',
          index: result.node.modifiedIndex,
          message: `directory ${result.node.key} went (${result.action}) with keys this watch may not have delivered`,
        }),
      );
  }

  read(nodes: EtcdNode[], index: number, cleared: EtcdError | undefined): void {
    const sink = this.#sink;
    sink.anchor(index);
    if (cleared) this.#knowsEveryKey = true;
    const entries: Entry<V>[] = [];
    for (const node of nodes) {
      const key = this.#keys.fromBackend(node.key);
      if (key !== undefined && !isReservedKey(key)) entries.push(this.#values.entry(node));
    }
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (cleared) sink.resync(entries, index);
    else if (this.#initial)
      for (const entry of entries) sink.emit({ type: 'put', ...entry, initial: true } as const);
  }
}

function emitEvent<V>(keys: KeySpace, values: EtcdValues<V>, sink: WatchSink<V>, result: EtcdResult): void {
  const { node } = result;
  if (isDeletion(result.action)) {
    const type = result.action === 'expire' ? 'expire' : 'delete';
    if (!node.dir) {
      const key = keys.fromBackend(node.key);
      if (key !== undefined && !isReservedKey(key)) sink.emit({ type, key, index: node.modifiedIndex });
      return;
    }
    // A directory went: one event per key below it that this watcher has delivered.
    const dirPath = trimSlashes(node.key);
    for (const key of [...sink.known.keys()]) {
      const backend = keys.toBackend(key);
      if (dirPath === '' || backend === dirPath || backend.startsWith(`${dirPath}/`))
        sink.emit({ type, key, index: node.modifiedIndex });
    }
    return;
  }
  if (node.dir) return;
  const key = keys.fromBackend(node.key);
  if (key === undefined || isReservedKey(key)) return;
  sink.emit({ type: 'put', ...values.entry(node) });
}
