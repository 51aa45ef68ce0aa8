import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AclBindingRule, AclBindingRuleWrite } from './types.js';

/** Filters of {@link AclBindingRules.list}. */
export interface AclBindingRuleListOptions extends QueryOptions {
  /** Only the rules of this auth method. */
  authMethod?: string;
}

/**
 * `/v1/acl/binding-rule`: what a login through an auth method binds to its token (1.5+).
 * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
 */
export class AclBindingRules {
  /** Made by {@link ConsulClient}; use it as `consul.acl.bindingRules`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/acl/binding-rule`: creates a rule; its auth method must exist (else 500).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
   */
  async create(rule: AclBindingRuleWrite, options?: WriteOptions): Promise<AclBindingRule> {
    const path = '/v1/acl/binding-rule';
    return (await this.transport.request<AclBindingRule>({ method: 'PUT', path, body: rule, options })).data;
  }

  /**
   * `GET /v1/acl/binding-rule/:id`: one rule, `data: null` when it does not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
   */
  async read(id: string, options?: QueryOptions): Promise<ConsulResult<AclBindingRule | null>> {
    const path = `/v1/acl/binding-rule/${encodeURIComponent(id)}`;
    const { data, meta } = await this.transport.request<AclBindingRule | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/acl/binding-rule/:id`: replaces the rule's fields (an unknown ID answers 500).
   * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
   */
  async update(id: string, rule: AclBindingRuleWrite, options?: WriteOptions): Promise<AclBindingRule> {
    const path = `/v1/acl/binding-rule/${encodeURIComponent(id)}`;
    return (await this.transport.request<AclBindingRule>({ method: 'PUT', path, body: rule, options })).data;
  }

  /**
   * `DELETE /v1/acl/binding-rule/:id`: `true`, also when the rule did not exist.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
   */
  async delete(id: string, options?: WriteOptions): Promise<boolean> {
    const path = `/v1/acl/binding-rule/${encodeURIComponent(id)}`;
    return (await this.transport.request<boolean>({ method: 'DELETE', path, options, read: 'bool' })).data;
  }

  /**
   * `GET /v1/acl/binding-rules`: every rule, or those of one auth method.
   * @see https://developer.hashicorp.com/consul/api-docs/acl/binding-rules
   */
  async list(options?: AclBindingRuleListOptions): Promise<ConsulResult<AclBindingRule[]>> {
    const { authMethod, ...rest } = options ?? {};
    const { data, meta } = await this.transport.request<AclBindingRule[]>({
      method: 'GET',
      path: '/v1/acl/binding-rules',
      query: { authmethod: authMethod },
      options: rest,
    });
    return { data, meta };
  }
}
