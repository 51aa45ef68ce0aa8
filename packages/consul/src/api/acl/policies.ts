import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclPolicy, AclPolicyListEntry, AclPolicyWrite } from './types.js';

/**
 * `/v1/acl/policy`: ACL policies (rules that tokens and roles link to).
 * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
 */
export class AclPolicies {
  /** Made by {@link ConsulClient}; use it as `consul.acl.policies`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/policy`: creates a policy. Bad rules or a missing name answer 500 (plain text).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async create(policy: AclPolicyWrite, options?: WriteOptions): Promise<AclPolicy> {
    return (
      await this.transport.request<AclPolicy>({
        method: 'PUT',
        path: '/v1/acl/policy',
        body: policy,
        options,
      })
    ).data;
  }

  /**
   * `GET /v1/acl/policy/:id`: one policy, `data: null` on 404. Consul 1.8.7 answers an unknown ID
   * with `403 ACL not found` (`CONSUL_PERMISSION_DENIED`) instead.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async read(id: string, options?: QueryOptions): Promise<ConsulResult<AclPolicy | null>> {
    const path = `/v1/acl/policy/${encodeURIComponent(id)}`;
    const { data, meta } = await this.transport.request<AclPolicy | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/acl/policy/name/:name`: one policy by name, `data: null` on 404. Consul 1.8.7 answers
   * an unknown name with `403 ACL not found` (`CONSUL_PERMISSION_DENIED`) instead.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async readByName(name: string, options?: QueryOptions): Promise<ConsulResult<AclPolicy | null>> {
    const path = `/v1/acl/policy/name/${encodeURIComponent(name)}`;
    const { data, meta } = await this.transport.request<AclPolicy | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/acl/policy/:id`: replaces the policy's fields.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async update(id: string, policy: AclPolicyWrite, options?: WriteOptions): Promise<AclPolicy> {
    const path = `/v1/acl/policy/${encodeURIComponent(id)}`;
    return (await this.transport.request<AclPolicy>({ method: 'PUT', path, body: policy, options })).data;
  }

  /**
   * `DELETE /v1/acl/policy/:id`: `true`, also when the policy did not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async delete(id: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/policy/${encodeURIComponent(id)}`;
    return (await this.transport.request<boolean>({ method: 'DELETE', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/policies`: every policy, without rules.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/policies
   */
  async list(options?: QueryOptions): Promise<ConsulResult<AclPolicyListEntry[]>> {
    const { data, meta } = await this.transport.request<AclPolicyListEntry[]>({
      method: 'GET',
      path: '/v1/acl/policies',
      options,
    });
    return { data, meta };
  }
}
