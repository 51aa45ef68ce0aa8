import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclToken, AclTokenListEntry, AclTokenWrite } from './types.js';

/** Filters of {@link AclTokens.list}. */
export interface AclTokenListOptions extends QueryOptions {
  /** Only tokens that link this policy ID. */
  policy?: string;
  /** Only tokens that link this role ID. */
  role?: string;
  /** Only tokens created by this auth method. */
  authMethod?: string;
}

/**
 * `/v1/acl/token`: tokens of the ACL system (1.4+).
 * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
 */
export class AclTokens {
  /** Made by {@link ConsulClient}; use it as `consul.acl.tokens`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/token`: creates a token; Consul generates the IDs unless given (as UUIDs).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async create(token: AclTokenWrite, options?: WriteOptions): Promise<AclToken> {
    return (
      await this.transport.request<AclToken>({ method: 'PUT', path: '/v1/acl/token', body: token, options })
    ).data;
  }

  /**
   * `GET /v1/acl/token/:AccessorID`: one token, `data: null` when Consul answers 404. Consul 1.8
   * answers an unknown accessor with `403 ACL not found` (`CONSUL_PERMISSION_DENIED`), not 404.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async read(accessorId: string, options?: QueryOptions): Promise<ConsulResult<AclToken | null>> {
    const { data, meta } = await this.transport.request<AclToken | null>({
      method: 'GET',
      path: `/v1/acl/token/${encodeURIComponent(accessorId)}`,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/acl/token/self`: the token of the call (`options.token`, else the client's).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async self(options?: QueryOptions): Promise<AclToken> {
    return (await this.transport.request<AclToken>({ method: 'GET', path: '/v1/acl/token/self', options }))
      .data;
  }

  /**
   * `PUT /v1/acl/token/:AccessorID`: replaces the token's fields (those left out are cleared).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async update(accessorId: string, token: AclTokenWrite, options?: WriteOptions): Promise<AclToken> {
    const path = `/v1/acl/token/${encodeURIComponent(accessorId)}`;
    return (await this.transport.request<AclToken>({ method: 'PUT', path, body: token, options })).data;
  }

  /**
   * `PUT /v1/acl/token/:AccessorID/clone`: a new token with the same links and new IDs.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async clone(accessorId: string, description?: string, options?: WriteOptions): Promise<AclToken> {
    const path = `/v1/acl/token/${encodeURIComponent(accessorId)}/clone`;
    const body = description === undefined ? {} : { Description: description };
    return (await this.transport.request<AclToken>({ method: 'PUT', path, body, options })).data;
  }

  /**
   * `DELETE /v1/acl/token/:AccessorID`: `true`, also when the token did not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async delete(accessorId: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/token/${encodeURIComponent(accessorId)}`;
    return (await this.transport.request<boolean>({ method: 'DELETE', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/tokens`: every token the caller may see (without secrets unless `acl:write`).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/tokens
   */
  async list(options?: AclTokenListOptions): Promise<ConsulResult<AclTokenListEntry[]>> {
    const { policy, role, authMethod, ...rest } = options ?? {};
    const { data, meta } = await this.transport.request<AclTokenListEntry[]>({
      method: 'GET',
      path: '/v1/acl/tokens',
      query: { policy, role, authmethod: authMethod },
      options: rest,
    });
    return { data, meta };
  }
}
