import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclLegacyToken, AclLegacyTokenWrite } from './types.js';

/**
 * `/v1/acl/create`, `update`, `destroy`, `info`, `clone`, `list`: the legacy ACL system (tokens
 * with inline rules). Deprecated since Consul 1.4 and removed in 1.11; served by 1.8.
 * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
 */
export class AclLegacy {
  /** Made by {@link ConsulClient}; use it as `consul.acl.legacy`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/create`: creates a legacy token; resolves its ID (the secret).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async create(token: AclLegacyTokenWrite, options?: WriteOptions): Promise<string> {
    const path = '/v1/acl/create';
    return (await this.transport.request<{ ID: string }>({ method: 'PUT', path, body: token, options })).data
      .ID;
  }

  /**
   * `PUT /v1/acl/update`: replaces a legacy token's name, type and rules (`ID` required).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async update(token: AclLegacyTokenWrite & { ID: string }, options?: WriteOptions): Promise<void> {
    const path = '/v1/acl/update';
    await this.transport.request({
      method: 'PUT',
      path,
      body: token,
      options,
      read: 'none',
      idempotent: true,
    });
  }

  /**
   * `PUT /v1/acl/destroy/:uuid`: deletes a legacy token; `true`, also when it did not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async destroy(id: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/destroy/${encodeURIComponent(id)}`;
    return (await this.transport.request<boolean>({ method: 'PUT', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/info/:uuid`: one legacy token, `data: null` when it does not exist (Consul sends `[]`).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async info(id: string, options?: QueryOptions): Promise<ConsulResult<AclLegacyToken | null>> {
    const path = `/v1/acl/info/${encodeURIComponent(id)}`;
    const { data, meta } = await this.transport.request<AclLegacyToken[] | null>({
      method: 'GET',
      path,
      options,
    });
    return { data: data?.[0] ?? null, meta };
  }

  /**
   * `PUT /v1/acl/clone/:uuid`: copies a legacy token; resolves the new ID.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async clone(id: string, options?: WriteOptions): Promise<string> {
    const path = `/v1/acl/clone/${encodeURIComponent(id)}`;
    return (await this.transport.request<{ ID: string }>({ method: 'PUT', path, options })).data.ID;
  }

  /**
   * `GET /v1/acl/list`: every token in legacy form.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/legacy
   */
  async list(options?: QueryOptions): Promise<ConsulResult<AclLegacyToken[]>> {
    const { data, meta } = await this.transport.request<AclLegacyToken[]>({
      method: 'GET',
      path: '/v1/acl/list',
      options,
    });
    return { data, meta };
  }
}
