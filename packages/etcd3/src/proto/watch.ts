import { nested, readHeader, readKeyValue, type KeyValue, type ResponseHeader } from './kv.js';
import { Reader, Writer, type BytesLike } from './wire.js';

/** etcd's Watch messages (`WatchRequest`, `WatchResponse`, `mvccpb.Event`). */

/** A change (`mvccpb.Event`). A delete's `kv` has the key and the deleting revision as `modRevision`. */
export interface WatchEvent {
  /** `'put'`: the key was created or changed; `'delete'`: it was deleted (also by its lease's end). */
  type: 'put' | 'delete';
  /** The key after the change; for a delete, the key and the deleting revision only. */
  kv: KeyValue;
  /** With `prevKv`: the key before the change (when not compacted away). */
  prevKv: KeyValue | undefined;
}

/** `WatchCreateRequest`. */
export interface WatchCreate {
  key: BytesLike;
  rangeEnd?: BytesLike;
  startRevision?: number;
  progressNotify?: boolean;
  /** Leave out put or delete events on the server. */
  filters?: ('noPut' | 'noDelete')[];
  prevKv?: boolean;
  /** The watcher's ID on the stream, chosen by the client (etcd 3.4+). */
  watchId: number;
}

/** `WatchResponse`. */
export interface WatchResponse {
  header: ResponseHeader;
  /** -1 for a progress answer that covers the whole stream. */
  watchId: number;
  created: boolean;
  canceled: boolean;
  /** Set when the watcher's start revision was compacted away: the oldest revision still kept. */
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: WatchEvent[];
}

export function watchCreateFrame(c: WatchCreate): Buffer {
  return new Writer()
    .message(1, (m) => {
      m.bytes(1, c.key).bytes(2, c.rangeEnd).uint(3, c.startRevision).bool(4, c.progressNotify);
      for (const filter of c.filters ?? []) m.uintAlways(5, filter === 'noPut' ? 0 : 1);
      m.bool(6, c.prevKv).uint(7, c.watchId);
    })
    .frame();
}

export function watchCancelFrame(watchId: number): Buffer {
  // watch_id 0 is a valid ID, so it is always written.
  return new Writer().message(2, (m) => m.uintAlways(1, watchId)).frame();
}

export function watchProgressFrame(): Buffer {
  return new Writer().message(3, () => undefined).frame();
}

function readEvent(r: Reader, end: number): WatchEvent {
  const event: WatchEvent = { type: 'put', kv: undefined as unknown as KeyValue, prevKv: undefined };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 8) event.type = r.varint() === 1 ? 'delete' : 'put';
    else if (tag === 18) event.kv = nested(r, readKeyValue);
    else if (tag === 26) event.prevKv = nested(r, readKeyValue);
    else r.skip(tag & 7);
  }
  event.kv ??= readKeyValue(r, r.pos);
  return event;
}

export function readWatchResponse(r: Reader, end: number): WatchResponse {
  const out: WatchResponse = {
    header: { clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 },
    watchId: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    fragment: false,
    events: [],
  };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 16) out.watchId = r.varint();
    else if (tag === 24) out.created = r.varint() !== 0;
    else if (tag === 32) out.canceled = r.varint() !== 0;
    else if (tag === 40) out.compactRevision = r.varint();
    else if (tag === 50) out.cancelReason = r.string();
    else if (tag === 56) out.fragment = r.varint() !== 0;
    else if (tag === 90) out.events.push(nested(r, readEvent));
    else r.skip(tag & 7);
  }
  return out;
}
