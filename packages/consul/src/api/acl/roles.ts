import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclRole, AclRoleWrite } from './types.js';

/** Filters of {@link AclRoles.list}. */
export interface AclRoleListOptions extends QueryOptions {
  /** Only roles that link this policy ID. */
  policy?: string;
}

/**
 * `/v1/acl/role`: ACL roles (named sets of policies and identities, 1.5+).
 * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
 */
export class AclRoles {
  /** Made by {@link ConsulClient}; use it as `consul.acl.roles`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/role`: creates a role.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async create(role: AclRoleWrite, options?: WriteOptions): Promise<AclRole> {
    return (
      await this.transport.request<AclRole>({ method: 'PUT', path: '/v1/acl/role', body: role, options })
    ).data;
  }

  /**
   * `GET /v1/acl/role/:id`: one role, `data: null` when it does not exist (404).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async read(id: string, options?: QueryOptions): Promise<ConsulResult<AclRole | null>> {
    const path = `/v1/acl/role/${encodeURIComponent(id)}`;
    const { data, meta } = await this.transport.request<AclRole | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/acl/role/name/:name`: one role by name, `data: null` when it does not exist (404).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async readByName(name: string, options?: QueryOptions): Promise<ConsulResult<AclRole | null>> {
    const path = `/v1/acl/role/name/${encodeURIComponent(name)}`;
    const { data, meta } = await this.transport.request<AclRole | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/acl/role/:id`: replaces the role's fields.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async update(id: string, role: AclRoleWrite, options?: WriteOptions): Promise<AclRole> {
    const path = `/v1/acl/role/${encodeURIComponent(id)}`;
    return (await this.transport.request<AclRole>({ method: 'PUT', path, body: role, options })).data;
  }

  /**
   * `DELETE /v1/acl/role/:id`: `true`, also when the role did not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async delete(id: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/role/${encodeURIComponent(id)}`;
    return (await this.transport.request<boolean>({ method: 'DELETE', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/roles`: every role.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/roles
   */
  async list(options?: AclRoleListOptions): Promise<ConsulResult<AclRole[]>> {
    const { policy, ...rest } = options ?? {};
    const { data, meta } = await this.transport.request<AclRole[]>({
      method: 'GET',
      path: '/v1/acl/roles',
      query: { policy },
      options: rest,
    });
    return { data, meta };
  }
}
