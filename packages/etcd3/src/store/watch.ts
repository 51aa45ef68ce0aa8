import {
  compareKeyPaths,
  type Codec,
  type Entry,
  type KeyEvent,
  type KeySpace,
  type WatchSink,
} from '@polykv/core';
import type { Etcd3Client } from '../client.js';
import type { Etcd3Error } from '../errors.js';
import type { KeyValue } from '../proto/kv.js';
import type { WatchEvent } from '../proto/watch.js';
import { prefixEnd, type BytesLike } from '../proto/wire.js';
import type { Etcd3SourceHandler } from '../watch/source.js';
import { modelled } from './common.js';
import { leaseTtls, toEntry } from './entries.js';
import { keyText, readRange } from './list.js';

/**
 * The v3 key range a Store watch covers: the key alone, or (recursive) the key and every key
 * below it. One range serves both: `[path, path0)` holds `path`, `path/...` and the keys between
 * them (`path-x`, `path.x`: names that continue with a character sorting before `/`), which the
 * handler leaves out. The store's root with no prefix is the whole key space.
 */
export function watchRange(path: string, recursive: boolean): { key: string | Uint8Array; end?: Uint8Array } {
  if (!recursive) return { key: path };
  if (path === '') return { key: new Uint8Array([0]), end: new Uint8Array([0]) };
  return { key: path, end: prefixEnd(`${path}/`) };
}

/**
 * The Store's side of a watch (see `watch/source.ts` for the source): etcd's key-values and
 * events become Store entries and events. Keys outside the watched path, `dir/` markers, the
 * reserved `.polykv/` space and keys that are not of the portable key model are left out, as
 * `list` leaves them out.
 *
 * A lease expiry is a plain delete in etcd's history; it is told apart by the key's lease: the
 * handler remembers the lease of each key it delivered with one, and when such a key is deleted
 * and its lease is gone, the event is `expire`. (A key whose put the watch did not see, started
 * after it without the initial values, reports its expiry as `delete`.)
 */
export class StoreWatchHandler<V> implements Etcd3SourceHandler {
  readonly #sink: WatchSink<V>;
  readonly #client: Etcd3Client;
  readonly #codec: Codec<V>;
  readonly #keys: KeySpace;
  /** `path/`, or `''` for the root of a store without a prefix; `undefined`: the key alone. */
  readonly #below: string | undefined;
  readonly #path: string;
  readonly #initial: boolean;
  /** The lease of each delivered key that has one (made for the first such key). */
  #leases: Map<string, string> | undefined = undefined;

  constructor(
    sink: WatchSink<V>,
    client: Etcd3Client,
    codec: Codec<V>,
    keys: KeySpace,
    path: string,
    options: { recursive: boolean; initial: boolean },
  ) {
    this.#sink = sink;
    this.#client = client;
    this.#codec = codec;
    this.#keys = keys;
    this.#path = path;
    this.#below = !options.recursive ? undefined : path === '' ? '' : `${path}/`;
    this.#initial = options.initial;
  }

  async read(kvs: KeyValue[], revision: number, compacted: Etcd3Error | undefined): Promise<void> {
    const found: { kv: KeyValue; key: string }[] = [];
    for (const kv of kvs) {
      const key = this.#keyOf(kv);
      if (key !== undefined) found.push({ kv, key });
    }
    this.#sink.anchor(revision);
    if (!compacted && !this.#initial) return;
    const ttls = await this.#ttls(found.map(({ kv }) => kv.lease));
    const now = Date.now();
    const entries: Entry<V>[] = found.map(({ kv, key }) => toEntry(kv, key, this.#codec, ttls, now));
    entries.sort((a, b) => compareKeyPaths(a.key, b.key));
    this.#leases = undefined;
    for (const { kv, key } of found) this.#remember(key, kv.lease);
    if (compacted) this.#sink.resync(entries, revision);
    else for (const entry of entries) this.#sink.emit({ type: 'put', ...entry, initial: true });
  }

  async events(events: WatchEvent[]): Promise<void> {
    const mine: { event: WatchEvent; key: string }[] = [];
    const leases: string[] = [];
    for (const event of events) {
      const key = this.#keyOf(event.kv);
      if (key === undefined) continue;
      mine.push({ event, key });
      const lease = event.type === 'put' ? event.kv.lease : this.#leases?.get(key);
      if (lease !== undefined && lease !== '0') leases.push(lease);
    }
    if (mine.length === 0) return;
    // Every request first, then every event: a failed lookup delivers none of them (the source
    // watches again from the first), and a value the codec cannot read ends the watch before any.
    const ttls = await this.#ttls(leases);
    const now = Date.now();
    const out: { event: KeyEvent<V>; lease: string }[] = [];
    for (const { event, key } of mine) {
      if (event.type === 'put') {
        out.push({
          event: { type: 'put', ...toEntry(event.kv, key, this.#codec, ttls, now) },
          lease: event.kv.lease,
        });
        continue;
      }
      const lease = this.#leases?.get(key);
      const expired = lease !== undefined && (ttls?.get(lease) ?? 0) <= 0;
      out.push({
        event: { type: expired ? 'expire' : 'delete', key, index: event.kv.modRevision },
        lease: '0',
      });
    }
    for (const { event, lease } of out) {
      this.#remember(event.key, lease);
      this.#sink.emit(event);
    }
  }

  anchored(revision: number): void {
    this.#sink.anchor(revision);
  }

  /** The Store key of an etcd key this watch covers, or `undefined`. */
  #keyOf(kv: KeyValue): string | undefined {
    const text = keyText(kv);
    if (text === undefined) return undefined;
    if (this.#below === undefined ? text !== this.#path : !text.startsWith(this.#below)) return undefined;
    // A `dir/` marker is an empty directory, not a value.
    if (text.endsWith('/')) return undefined;
    const key = this.#keys.fromBackend(text);
    return key !== undefined && modelled(key) ? key : undefined;
  }

  #remember(key: string, lease: string): void {
    if (lease !== '0') (this.#leases ??= new Map()).set(key, lease);
    else this.#leases?.delete(key);
  }

  #ttls(leases: string[]): Promise<Map<string, number>> | undefined {
    if (leases.length === 0) return undefined;
    return leaseTtls(this.#client.lease, leases, { signal: this.#sink.signal });
  }
}

/**
 * Reads a watch's range (for its initial values, or the re-read after a compaction): one function
 * for every watch of a store, not one per watch.
 */
export function readWatched(
  client: Etcd3Client,
  serializable: boolean,
): (
  key: BytesLike,
  end: BytesLike | undefined,
  signal: AbortSignal,
) => Promise<{ kvs: KeyValue[]; revision: number }> {
  return (key, end, signal) => readRange(client.kv, key, end, { signal, serializable });
}
