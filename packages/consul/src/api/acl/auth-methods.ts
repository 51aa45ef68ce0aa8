import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclAuthMethod, AclAuthMethodListEntry, AclAuthMethodWrite } from './types.js';

/**
 * `/v1/acl/auth-method`: auth methods that `acl.login` trades credentials with (1.5+).
 * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
 */
export class AclAuthMethods {
  /** Made by {@link ConsulClient}; use it as `consul.acl.authMethods`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/auth-method`: creates an auth method (`jwt` or `kubernetes` in 1.8 OSS).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
   */
  async create(method: AclAuthMethodWrite, options?: WriteOptions): Promise<AclAuthMethod> {
    const path = '/v1/acl/auth-method';
    return (await this.transport.request<AclAuthMethod>({ method: 'PUT', path, body: method, options })).data;
  }

  /**
   * `GET /v1/acl/auth-method/:name`: one auth method, `data: null` when it does not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
   */
  async read(name: string, options?: QueryOptions): Promise<ConsulResult<AclAuthMethod | null>> {
    const path = `/v1/acl/auth-method/${encodeURIComponent(name)}`;
    const { data, meta } = await this.transport.request<AclAuthMethod | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/acl/auth-method/:name`: replaces the auth method's fields (`Type` cannot change).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
   */
  async update(name: string, method: AclAuthMethodWrite, options?: WriteOptions): Promise<AclAuthMethod> {
    const path = `/v1/acl/auth-method/${encodeURIComponent(name)}`;
    return (await this.transport.request<AclAuthMethod>({ method: 'PUT', path, body: method, options })).data;
  }

  /**
   * `DELETE /v1/acl/auth-method/:name`: `true`, also when it did not exist; its login tokens go too.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
   */
  async delete(name: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/auth-method/${encodeURIComponent(name)}`;
    return (await this.transport.request<boolean>({ method: 'DELETE', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/auth-methods`: every auth method, without `Config`.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/auth-methods
   */
  async list(options?: QueryOptions): Promise<ConsulResult<AclAuthMethodListEntry[]>> {
    const { data, meta } = await this.transport.request<AclAuthMethodListEntry[]>({
      method: 'GET',
      path: '/v1/acl/auth-methods',
      options,
    });
    return { data, meta };
  }
}
