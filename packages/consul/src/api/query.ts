import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';
import type { HealthServiceEntry } from './health.js';

/** The service part of a prepared query. */
export interface PreparedQueryService {
  /** The service to look up (may use `${name.full}`-style interpolation with a `Template`). */
  Service: string;
  Failover?: { NearestN?: number; Datacenters?: string[] };
  /** Only instances whose checks pass (warning counts as passing unless this is set). */
  OnlyPassing?: boolean;
  IgnoreCheckIDs?: string[];
  /** Only nodes near this one (`_agent` for the agent's node). */
  Near?: string;
  /** Tag filters; `!tag` excludes. */
  Tags?: string[];
  NodeMeta?: Record<string, string>;
  ServiceMeta?: Record<string, string>;
  /** Only Connect-capable instances. */
  Connect?: boolean;
  Namespace?: string;
}

/** The writable fields of a prepared query (create and update bodies). */
export interface PreparedQueryInput {
  Name?: string;
  /** Bind the query to a session: it is deleted with it. */
  Session?: string;
  /** The token the query runs with (`''`: the executing caller's). */
  Token?: string;
  Service: PreparedQueryService;
  DNS?: { TTL?: string };
  Template?: { Type: 'name_prefix_match'; Regexp?: string; RemoveEmptyTags?: boolean };
}

/** A stored prepared query. */
export interface PreparedQuery extends PreparedQueryInput {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

/** What executing a prepared query resolves. */
export interface PreparedQueryExecuteResult {
  Service: string;
  Namespace?: string;
  Nodes: HealthServiceEntry[];
  DNS: { TTL: string };
  /** The datacenter that answered (another one after a failover). */
  Datacenter: string;
  /** How many datacenters were tried before this one. */
  Failovers: number;
  Index: number;
  LastContact: number;
  KnownLeader: boolean;
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
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v1/query`: stores a prepared query and resolves its `ID`.
   * @see https://developer.hashicorp.com/consul/api-docs/query#create-prepared-query
   */
  async create(query: PreparedQueryInput, options?: WriteOptions): Promise<{ ID: string }> {
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
  async explain(idOrName: string, options?: QueryOptions): Promise<{ Query: PreparedQuery }> {
    return (
      await this.transport.request<{ Query: PreparedQuery }>({
        method: 'GET',
        path: `/v1/query/${encodeURIComponent(idOrName)}/explain`,
        options,
      })
    ).data;
  }
}
