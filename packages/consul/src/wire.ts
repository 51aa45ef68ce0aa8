import { ConsulError } from './errors.js';
import { formatDuration } from './codec.js';
import type { QueryMeta, QueryOptions } from './options.js';

// What a call looks like on the wire: the spec an endpoint method hands to the request function,
// the query string made from it and the caller's options, and the metadata headers read back.

export type QueryValue = string | number | boolean | bigint | undefined | null | readonly string[];

/** One Consul HTTP call, as an endpoint method describes it to the client's request function ({@link ConsulClient.request}). */
export interface RequestSpec {
  /** The HTTP method; Consul's writes are mostly `PUT`, and GETs count as idempotent (see `idempotent`). */
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path with every dynamic segment already escaped (see `escapePath`), e.g. `/v1/kv/a%20b`. */
  path: string;
  /** Endpoint parameters. `true` sends a bare flag (`?recurse`), `false`/`undefined`/`null` nothing. */
  query?: Record<string, QueryValue>;
  /**
   * An object is sent as JSON; a string or bytes as they are (with Content-Length); a `Readable`
   * is streamed (chunked, so it can be sent only once).
   */
  body?: unknown;
  /** The caller's options (merged over the client's defaults here, and only here). */
  options?: QueryOptions | undefined;
  /** Statuses that count as success. @defaultValue [200] */
  ok?: readonly number[];
  /** Resolve `data: null` on 404, where the API means "absent". */
  nullOn404?: boolean;
  /**
   * How to read a successful body: JSON (default), text, bytes, the `true`/`false` body of CAS and
   * lock calls (`bool`), nothing, or the undici body stream for the caller to consume (`stream`).
   */
  read?: 'json' | 'text' | 'bytes' | 'bool' | 'none' | 'stream';
  /** Parses JSON text (e.g. losslessly for uint64 fields) instead of `JSON.parse`. */
  parse?: (text: string) => unknown;
  /**
   * Checks the shape of the parsed JSON answer: returns what is wrong with it, or `undefined`. A
   * wrong shape is `CONSUL_BAD_RESPONSE`: nothing the agent did not confirm passes as a success.
   */
  check?: (data: unknown, status: number) => string | undefined;
  /**
   * Safe to send again to another agent even if the first may have applied it. Reads are; most
   * writes are not (session create, event fire, CAS). Only used with the client's `failover`.
   * @defaultValue true for GET, false otherwise
   */
  idempotent?: boolean;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** The body is JSON text already: sent as it is, with `content-type: application/json`. */
  json?: boolean;
  /**
   * Options of the endpoint's own that `options` may carry (the endpoint reads them itself, e.g.
   * `tag`): any other key than these and the query options (`dc`, `token`, `consistency`, `index`, `wait`, `filter`, ...) is `CONSUL_INVALID_ARGUMENT`.
   */
  extraOptions?: readonly string[];
}

/** What {@link ConsulClient.request} resolves. */
export interface ResponseOf<T> {
  /** The HTTP status, one of the spec's `ok` statuses (or 404 with `nullOn404`). */
  status: number;
  /** The body, read as the spec's `read` says (`null` for a 404 with `nullOn404`). */
  data: T;
  /** The metadata headers (`X-Consul-Index`, ...), parsed. */
  meta: QueryMeta;
  /** Every response header, by lower-case name (a repeated header as an array). */
  headers: Record<string, string | string[] | undefined>;
}

/** Whether the merged options send anything in the query string (most calls send nothing). */
export function hasQuery(options: QueryOptions): boolean {
  return (
    options.dc !== undefined ||
    options.ns !== undefined ||
    options.partition !== undefined ||
    options.consistent !== undefined ||
    options.stale !== undefined ||
    options.cached !== undefined ||
    options.index !== undefined ||
    options.wait !== undefined ||
    options.hash !== undefined ||
    options.filter !== undefined ||
    options.near !== undefined ||
    options.nodeMeta !== undefined
  );
}

/** Appends `name=value` (`name` alone for `true`; nothing for `false`/`undefined`/`null`). */
function param(query: string, name: string, value: QueryValue): string {
  if (value === undefined || value === null || value === false) return query;
  if (Array.isArray(value)) {
    for (const item of value as readonly string[]) query = param(query, name, item);
    return query;
  }
  query += `${query === '' ? '?' : '&'}${encodeURIComponent(name)}`;
  if (value !== true) query += `=${encodeURIComponent(String(value))}`;
  return query;
}

export function queryString(spec: RequestSpec, options: QueryOptions): string {
  let query = '';
  if (spec.query) for (const name in spec.query) query = param(query, name, spec.query[name]);
  if (options.consistent && options.stale) {
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', 'consistent and stale cannot be combined', {
      method: spec.method,
      path: spec.path,
    });
  }
  query = param(query, 'dc', options.dc);
  query = param(query, 'ns', options.ns);
  query = param(query, 'partition', options.partition);
  query = param(query, 'consistent', options.consistent);
  query = param(query, 'stale', options.stale);
  query = param(query, 'cached', options.cached);
  // An endpoint may send the index itself, as exact uint64 digits (event list indexes exceed 2^53).
  if (spec.query?.index === undefined || spec.query.index === null)
    query = param(query, 'index', options.index);
  if (options.wait !== undefined) query = param(query, 'wait', formatDuration(options.wait));
  query = param(query, 'hash', options.hash);
  query = param(query, 'filter', options.filter);
  query = param(query, 'near', options.near);
  if (options.nodeMeta)
    for (const name in options.nodeMeta)
      query = param(query, 'node-meta', `${name}:${options.nodeMeta[name]}`);
  return query;
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return typeof value === 'string' || value === undefined ? value : value[0];
}

export function readMeta(
  headers: Record<string, string | string[] | undefined>,
  requestTime: number,
  agent: string,
): QueryMeta {
  const index = headerValue(headers, 'x-consul-index');
  const knownLeader = headerValue(headers, 'x-consul-knownleader');
  const lastContact = headerValue(headers, 'x-consul-lastcontact');
  const cache = headerValue(headers, 'x-cache');
  const age = headerValue(headers, 'age');
  return {
    index: index === undefined ? undefined : Number(index),
    knownLeader: knownLeader === undefined ? undefined : knownLeader === 'true',
    lastContact: lastContact === undefined ? undefined : Number(lastContact),
    effectiveConsistency: headerValue(headers, 'x-consul-effective-consistency'),
    cacheHit: cache === undefined ? undefined : cache === 'HIT',
    cacheAge: age === undefined ? undefined : Number(age),
    contentHash: headerValue(headers, 'x-consul-contenthash'),
    requestTime,
    agent,
  };
}
