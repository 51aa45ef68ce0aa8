import { EventEmitter } from 'eventemitter3';
import { Etcd3Error, isEtcd3Error } from '../errors.js';
import type { Etcd3CallOptions } from '../options.js';
import {
  nested,
  readHeader,
  readHeaderOnly,
  type HeaderOnlyResponse,
  type ResponseHeader,
} from '../proto/kv.js';
import { Writer, type Reader } from '../proto/wire.js';
import { rpc, type CallFn } from '../request.js';

/** A lease's answer to grant and keep-alive. `ttl` is in seconds; 0 or less: the lease is gone. */
export interface LeaseGrant {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** The lease ID (decimal). */
  id: string;
  /**
   * Seconds the lease has: at a grant, the TTL etcd chose (it may raise a short one); at a keep-alive,
   * the renewed TTL. 0 or less: the lease is gone.
   */
  ttl: number;
}

/** `Lease/LeaseTimeToLive`. `ttl` -1: the lease is gone. */
export interface LeaseTimeToLive {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** The lease ID (decimal), as asked. */
  id: string;
  /** Seconds left before the lease expires (it expires in under `ttl` + 1 s); -1: the lease is gone. */
  ttl: number;
  /** The TTL in seconds the lease was granted (or last renewed) with. */
  grantedTtl: number;
  /** With `keys: true`: the keys attached to the lease. */
  keys: Buffer[];
}

function readGrant(r: Reader, end: number): LeaseGrant {
  const out: LeaseGrant = { header: undefined as unknown as ResponseHeader, id: '0', ttl: 0 };
  let error = '';
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 16) out.id = r.id();
    else if (tag === 24) out.ttl = r.varint();
    else if (tag === 34) error = r.string();
    else r.skip(tag & 7);
  }
  if (error) throw new Error(`lease grant: ${error}`);
  return out;
}

function readTimeToLive(r: Reader, end: number): LeaseTimeToLive {
  const out: LeaseTimeToLive = {
    header: undefined as unknown as ResponseHeader,
    id: '0',
    ttl: 0,
    grantedTtl: 0,
    keys: [],
  };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 16) out.id = r.id();
    else if (tag === 24) out.ttl = r.varint();
    else if (tag === 32) out.grantedTtl = r.varint();
    else if (tag === 42) out.keys.push(r.bytes());
    else r.skip(tag & 7);
  }
  return out;
}

function readLeases(r: Reader, end: number): { header: ResponseHeader; leases: string[] } {
  const out = { header: undefined as unknown as ResponseHeader, leases: [] as string[] };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18)
      out.leases.push(
        nested(r, (inner, innerEnd) => {
          let id = '0';
          for (let t = inner.tag(innerEnd); t !== -1; t = inner.tag(innerEnd)) {
            if (t === 8) id = inner.id();
            else inner.skip(t & 7);
          }
          return id;
        }),
      );
    else r.skip(tag & 7);
  }
  return out;
}

const GRANT = rpc('Lease', 'LeaseGrant', readGrant);
const REVOKE = rpc('Lease', 'LeaseRevoke', readHeaderOnly);
// A bidirectional stream used one request at a time: etcd answers a keep-alive before it reads
// the end of the stream, so "send one, half-close, read one" is a plain call with failover.
const KEEP_ALIVE = rpc('Lease', 'LeaseKeepAlive', readGrant);
const TIME_TO_LIVE = rpc('Lease', 'LeaseTimeToLive', readTimeToLive);
const LEASES = rpc('Lease', 'LeaseLeases', readLeases);

/** Events of a {@link LeaseKeeper}. */
export interface LeaseKeeperEvents {
  /** A renewal succeeded; the lease now has `ttl` seconds. */
  keepAlive: [ttl: number];
  /** The lease is gone (expired, revoked) or could not be renewed within its TTL. Then `end`. */
  lost: [error: Etcd3Error];
  /** The keeper stopped (after `stop()` or `lost`). */
  end: [];
}

/**
 * Keeps a lease alive: a keep-alive every third of its TTL, through the client's request function
 * (failover included). The lease is declared lost when etcd says it is gone, or when no renewal
 * succeeded for a whole TTL (the server may have let it expire meanwhile; a half-open connection
 * must not hide that).
 */
export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  /** The ID (decimal) of the lease kept alive. */
  readonly id: string;
  readonly #api: LeaseApi;
  readonly #stop = new AbortController();
  #ttlMs: number;
  #lastGood = Date.now();
  #timer: NodeJS.Timeout | undefined;

  /**
   * Starts at once: the first keep-alive goes after a third of the TTL. Made by {@link LeaseApi.keepAlive}.
   * @param api the lease service the keep-alives go through.
   * @param id the lease ID (decimal).
   * @param ttlSeconds the lease's TTL in seconds, which paces the keep-alives until etcd answers one.
   */
  constructor(api: LeaseApi, id: string, ttlSeconds: number) {
    super();
    this.#api = api;
    this.id = id;
    this.#ttlMs = ttlSeconds * 1000;
    this.#schedule(this.#ttlMs / 3);
  }

  /** True once the keeper stopped: after `stop()` or the lease's loss. */
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #schedule(ms: number): void {
    if (this.stopped) return;
    // Referenced on purpose: a kept lease keeps the process alive until it is stopped.
    this.#timer = setTimeout(() => void this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    const sentAt = Date.now();
    try {
      const { ttl } = await this.#api.keepAliveOnce(this.id, {
        signal: this.#stop.signal,
        timeout: Math.max(500, this.#ttlMs / 3),
      });
      if (this.stopped) return;
      if (ttl <= 0) return this.#lose(leaseGone(this.id));
      this.#lastGood = sentAt;
      this.#ttlMs = ttl * 1000;
      this.emit('keepAlive', ttl);
      this.#schedule(this.#ttlMs / 3);
    } catch (error) {
      if (this.stopped) return;
      if (isEtcd3Error(error) && error.code === 'ETCD3_LEASE_NOT_FOUND') return this.#lose(error);
      // Give up a little before the server could: the holder must hear of the loss first.
      const margin = Math.min(1000, this.#ttlMs / 10);
      if (Date.now() - this.#lastGood >= this.#ttlMs - margin)
        return this.#lose(
          new Etcd3Error({
            code: 'ETCD3_LEASE_NOT_FOUND',
            message: `lease ${this.id}: no keep-alive succeeded within its TTL`,
            cause: error,
          }),
        );
      this.#schedule(Math.min(1000, this.#ttlMs / 10));
    }
  }

  #lose(error: Etcd3Error): void {
    if (this.stopped) return;
    this.#end();
    this.emit('lost', error);
    this.emit('end');
  }

  #end(): void {
    this.#stop.abort();
    clearTimeout(this.#timer);
  }

  /** Stops renewing (the lease then expires by itself unless revoked). */
  stop(): void {
    if (this.stopped) return;
    this.#end();
    this.emit('end');
  }
}

function leaseGone(id: string): Etcd3Error {
  return new Etcd3Error({ code: 'ETCD3_LEASE_NOT_FOUND', message: `lease ${id} has expired or was revoked` });
}

/** The Lease service: grant, revoke, keep-alive, time-to-live, list. */
export class LeaseApi {
  readonly #call: CallFn;

  /** Made by {@link Etcd3Client} (its `lease`) over the client's request function. */
  constructor(call: CallFn) {
    this.#call = call;
  }

  /**
   * A new lease of `ttl` seconds (`Lease/LeaseGrant`). etcd may raise a short TTL to its minimum
   * (about 1.5 × the election timeout). Not replayed after it may have been sent (it would leak a lease).
   */
  grant(ttl: number, options: Etcd3CallOptions & { id?: string } = {}): Promise<LeaseGrant> {
    return this.#call(GRANT, new Writer().uint(1, ttl).id(2, options.id), { ...options, idempotent: false });
  }

  /** Revokes a lease and deletes its keys (`Lease/LeaseRevoke`); `ETCD3_LEASE_NOT_FOUND` when gone. */
  revoke(id: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#call(REVOKE, new Writer().id(1, id), { ...options, idempotent: true });
  }

  /** One renewal (`Lease/LeaseKeepAlive`). `ttl` 0: the lease is gone. */
  keepAliveOnce(id: string, options: Etcd3CallOptions = {}): Promise<LeaseGrant> {
    return this.#call(KEEP_ALIVE, new Writer().id(1, id), { ...options, idempotent: true });
  }

  /** Keeps a lease alive until `stop()` or its loss (see {@link LeaseKeeper}). */
  keepAlive(id: string, ttl: number): LeaseKeeper {
    return new LeaseKeeper(this, id, ttl);
  }

  /** A lease's remaining TTL (`Lease/LeaseTimeToLive`); -1 when it is gone. */
  timeToLive(id: string, options: Etcd3CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLive> {
    return this.#call(TIME_TO_LIVE, new Writer().id(1, id).bool(2, options.keys), {
      ...options,
      idempotent: true,
    });
  }

  /** Every lease's ID (`Lease/LeaseLeases`). */
  async list(options: Etcd3CallOptions = {}): Promise<string[]> {
    const { leases } = await this.#call(LEASES, new Writer(), { ...options, idempotent: true });
    return leases;
  }
}
