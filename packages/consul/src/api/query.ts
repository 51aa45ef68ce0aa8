import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { HealthServiceEntry } from './health.js';

/** The service part of a prepared query. */
export interface PreparedQueryService {
  /** The service to look up (may use `${name.full}`-style interpolation with a `Template`). */
  Service: string;
  /** Where to look when no healthy instance is found in the queried datacenter. */
  Failover?: {
    /** Try up to this many other datacenters, nearest first (by WAN round-trip time). @defaultValue 0 */
    NearestN?: number;
    /** Then these datacenters, in this order (a datacenter is tried once, even if named twice). */
    Datacenters?: string[];
  };
  /** Only instances whose checks pass (warning counts as passing unless this is set). */
  OnlyPassing?: boolean;
  /** Checks whose state is ignored when leaving out unhealthy instances (e.g. a flaky check). */
  IgnoreCheckIDs?: string[];
  /** Only nodes near this one (`_agent` for the agent's node). */
  Near?: string;
  /** Tag filters; `!tag` excludes. */
  Tags?: string[];
  /** Only instances on nodes whose metadata has all these values. */
  NodeMeta?: Record<string, string>;
  /** Only instances whose service metadata has all these values. */
  ServiceMeta?: Record<string, string>;
  /** Only Connect-capable instances. */
  Connect?: boolean;
  /** The namespace to look the service up in (Consul Enterprise; absent: `default`). */
  Namespace?: string;
}

/** The writable fields of a prepared query (create and update bodies). */
export interface PreparedQueryInput {
  /**
   * A name to execute the query by instead of its ID; for a template, the prefix of the names it
   * serves (`''`: every name).
   */
  Name?: string;
  /** Bind the query to a session: it is deleted with it. */
  Session?: string;
  /** The token the query runs with (`''`: the executing caller's). */
  Token?: string;
  /** The service to look up and how to filter its instances. */
  Service: PreparedQueryService;
  /** How answers are served over DNS. */
  DNS?: {
    /** The TTL of DNS answers, a duration (`'10s'`); it overrides the agent's DNS TTL settings. */
    TTL?: string;
  };
  /** Makes the query a template: it then serves every name that starts with `Name`. */
  Template?: {
    /**
     * The only kind: match names by prefix (the longest `Name` that matches wins, and queries that
     * are not templates are matched first).
     */
    Type: 'name_prefix_match';
    /** An RE2 expression applied to the whole name; `${match(N)}` in `Service`'s fields is its group N. */
    Regexp?: string;
    /** Remove empty strings from `Service.Tags` after interpolation. @defaultValue false */
    RemoveEmptyTags?: boolean;
  };
}

/** A stored prepared query. */
export interface PreparedQuery extends PreparedQueryInput {
  /** The query's UUID, given by Consul. */
  ID: string;
  /** The name it is executed by; `''` when it has none. */
  Name: string;
  Session: string;
  Token: string;
  /** How answers are served over DNS. */
  DNS: {
    /** The TTL of DNS answers, a duration; `''` when the query sets none (the agent's applies). */
    TTL: string;
  };
  /** The raft index at which the query was created. */
  CreateIndex: number;
  /** The raft index of the query's last change. */
  ModifyIndex: number;
}

/** What executing a prepared query resolves. */
export interface PreparedQueryExecuteResult {
  /** The service looked up (after template interpolation); set also when `Nodes` is empty. */
  Service: string;
  /** The namespace the service was looked up in (Consul Enterprise). */
  Namespace?: string;
  /**
   * The healthy instances, each with its node and checks: shuffled, or sorted by round-trip time
   * with `near`; `[]` when there is none.
   */
  Nodes: HealthServiceEntry[];
  /** The query's DNS settings, as stored. */
  DNS: {
    /** The TTL of DNS answers, a duration; `''` when the query sets none. */
    TTL: string;
  };
  /** The datacenter that answered (another one after a failover). */
  Datacenter: string;
  /** How many datacenters were tried before this one. */
  Failovers: number;
  /** The raft index of the answer (also sent as `X-Consul-Index`: `meta.index`). */
  Index: number;
  /**
   * How long since the answering server last heard from the leader, in nanoseconds (0 when the
   * leader answered).
   */
  LastContact: number;
  /** Whether the answering server knew of a leader. */
  KnownLeader: boolean;
  /** The consistency mode that served the query (`leader`, `stale`, `consistent`). */
  ConsistencyLevel?: string;
}

/** Options of {@link Query.execute}. */
export interface PreparedQueryExecuteOptions extends QueryOptions {
  /** Return at most this many nodes (`?limit=`). */
  limit?: number;
  /** Only Connect-capable instances (`?connect`). */
  connect?: boolean;
}

/**
 * `/v1/query`: prepared queries, stored service lookups with failover (also served over DNS as
 * `<name>.query.consul`).
 * @see https://developer.hashicorp.com/consul/api-docs/query
 */
export class Query {
  /** Made by the client: use `client.query`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v1/query`: stores a prepared query and resolves its `ID`.
   * @see https://developer.hashicorp.com/consul/api-docs/query#create-prepared-query
   */
  async create(
    query: PreparedQueryInput,
    options?: WriteOptions,
  ): Promise<{
    /** The new query's UUID. */
    ID: string;
  }> {
    return (
      await this.transport.request<{ ID: string }>({
        method: 'POST',
        path: '/v1/query',
        body: query,
        options,
      })
    ).data;
  }

  /**
   * `GET /v1/query`: every prepared query the token may read.
   * @see https://developer.hashicorp.com/consul/api-docs/query#read-prepared-query
   */
  async list(options?: QueryOptions): Promise<ConsulResult<PreparedQuery[]>> {
    const { data, meta } = await this.transport.request<PreparedQuery[]>({
      method: 'GET',
      path: '/v1/query',
      options,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/query/:uuid`: one prepared query; `data` is `null` when there is none (Consul answers
   * a one-element list, or 404 `Query not found`).
   * @see https://developer.hashicorp.com/consul/api-docs/query#read-prepared-query-1
   */
  async get(id: string, options?: QueryOptions): Promise<ConsulResult<PreparedQuery | null>> {
    const { data, meta } = await this.transport.request<PreparedQuery[] | null>({
      method: 'GET',
      path: `/v1/query/${encodeURIComponent(id)}`,
      options,
      nullOn404: true,
    });
    return { data: data?.[0] ?? null, meta };
  }

  /**
   * `PUT /v1/query/:uuid`: replaces a prepared query.
   * @see https://developer.hashicorp.com/consul/api-docs/query#update-prepared-query
   */
  async update(id: string, query: PreparedQueryInput, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'PUT',
      path: `/v1/query/${encodeURIComponent(id)}`,
      body: query,
      options,
      read: 'none',
      idempotent: true,
    });
  }

  /**
   * `DELETE /v1/query/:uuid`: deletes a prepared query (an unknown ID fails with a 500).
   * @see https://developer.hashicorp.com/consul/api-docs/query#delete-prepared-query
   */
  async delete(id: string, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'DELETE',
      path: `/v1/query/${encodeURIComponent(id)}`,
      options,
      read: 'none',
    });
  }

  /**
   * `GET /v1/query/:uuid/execute`: runs a prepared query, by ID or by name; `near` sorts the nodes
   * by round-trip time (`_agent`, or a node name), `limit` caps how many come back.
   * @see https://developer.hashicorp.com/consul/api-docs/query#execute-prepared-query
   */
  async execute(
    idOrName: string,
    options?: PreparedQueryExecuteOptions,
  ): Promise<ConsulResult<PreparedQueryExecuteResult>> {
    const { data, meta } = await this.transport.request<PreparedQueryExecuteResult>({
      method: 'GET',
      path: `/v1/query/${encodeURIComponent(idOrName)}/execute`,
      query: { limit: options?.limit, connect: options?.connect },
      options,
      extraOptions: ['limit', 'connect'],
    });
    return { data, meta };
  }

  /**
   * `GET /v1/query/:uuid/explain`: the query as it would run, after template interpolation.
   * @see https://developer.hashicorp.com/consul/api-docs/query#explain-prepared-query
   */
  async explain(
    idOrName: string,
    options?: QueryOptions,
  ): Promise<{
    /** The query that would run, its template fields filled in for `idOrName`. */
    Query: PreparedQuery;
  }> {
    return (
      await this.transport.request<{ Query: PreparedQuery }>({
        method: 'GET',
        path: `/v1/query/${encodeURIComponent(idOrName)}/explain`,
        options,
      })
    ).data;
  }
}
