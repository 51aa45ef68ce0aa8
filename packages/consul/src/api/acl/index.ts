import type { QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import { AclAuthMethods } from './auth-methods.js';
import { AclBindingRules } from './binding-rules.js';
import { AclLegacy } from './legacy.js';
import { AclPolicies } from './policies.js';
import { AclRoles } from './roles.js';
import { AclTokens } from './tokens.js';
import type { AclLoginParams, AclReplicationStatus, AclToken } from './types.js';

export * from './types.js';
export { AclTokens, type AclTokenListOptions } from './tokens.js';
export { AclPolicies } from './policies.js';
export { AclRoles, type AclRoleListOptions } from './roles.js';
export { AclAuthMethods } from './auth-methods.js';
export { AclBindingRules, type AclBindingRuleListOptions } from './binding-rules.js';
export { AclLegacy } from './legacy.js';

/**
 * `/v1/acl`: bootstrap, replication, login/logout and rule translation here; the objects in
 * `tokens`, `policies`, `roles`, `authMethods`, `bindingRules` and (removed in 1.11) `legacy`.
 *
 * ```ts
 * const policy = await consul.acl.policies.create({ Name: 'kv-read', Rules: 'key_prefix "" { policy = "read" }' });
 * const token = await consul.acl.tokens.create({ Policies: [{ ID: policy.ID }] });
 * ```
 * @see https://developer.hashicorp.com/consul/api-docs/acl
 */
export class Acl {
  /** `/v1/acl/token` and `/v1/acl/tokens`: tokens (1.4+). */
  readonly tokens: AclTokens;
  /** `/v1/acl/policy` and `/v1/acl/policies`: policies (1.4+). */
  readonly policies: AclPolicies;
  /** `/v1/acl/role` and `/v1/acl/roles`: roles (1.5+). */
  readonly roles: AclRoles;
  /** `/v1/acl/auth-method` and `/v1/acl/auth-methods`: auth methods for `login` (1.5+). */
  readonly authMethods: AclAuthMethods;
  /** `/v1/acl/binding-rule` and `/v1/acl/binding-rules`: what a login grants (1.5+). */
  readonly bindingRules: AclBindingRules;
  /** The legacy token routes (`/v1/acl/create`, `/v1/acl/list`, ...): removed in Consul 1.11. */
  readonly legacy: AclLegacy;

  /** Made by {@link ConsulClient}; use it as `consul.acl`. */
  constructor(private readonly transport: Transport) {
    this.tokens = new AclTokens(transport);
    this.policies = new AclPolicies(transport);
    this.roles = new AclRoles(transport);
    this.authMethods = new AclAuthMethods(transport);
    this.bindingRules = new AclBindingRules(transport);
    this.legacy = new AclLegacy(transport);
  }

  /**
   * `PUT /v1/acl/bootstrap`: creates the first management token, once. Afterwards (or when a
   * master token is configured) Consul answers 403 `ACL bootstrap no longer allowed` (`CONSUL_PERMISSION_DENIED`).
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async bootstrap(options?: WriteOptions): Promise<AclToken> {
    return (await this.transport.request<AclToken>({ method: 'PUT', path: '/v1/acl/bootstrap', options }))
      .data;
  }

  /**
   * `GET /v1/acl/replication`: the ACL replication state of this datacenter.
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async replication(options?: QueryOptions): Promise<AclReplicationStatus> {
    return (
      await this.transport.request<AclReplicationStatus>({
        method: 'GET',
        path: '/v1/acl/replication',
        options,
      })
    ).data;
  }

  /**
   * `POST /v1/acl/rules/translate`: legacy rules (`key "" { policy = "read" }`) in the new syntax.
   * Removed in Consul 1.11.
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async translateRules(rules: string, options?: WriteOptions): Promise<string> {
    const path = '/v1/acl/rules/translate';
    const spec = { method: 'POST', path, body: rules, options, read: 'text', idempotent: true } as const;
    return (await this.transport.request<string>(spec)).data;
  }

  /**
   * `GET /v1/acl/rules/translate/:accessor_id`: a legacy token's rules in the new syntax (500 when
   * the token has no rules). Removed in Consul 1.11.
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async translateTokenRules(accessorId: string, options?: QueryOptions): Promise<string> {
    const path = `/v1/acl/rules/translate/${encodeURIComponent(accessorId)}`;
    return (await this.transport.request<string>({ method: 'GET', path, options, read: 'text' })).data;
  }

  /**
   * `POST /v1/acl/login`: trades an auth method's credential for a new local token. An unknown
   * auth method answers 403 `ACL not found`.
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async login(params: AclLoginParams, options?: WriteOptions): Promise<AclToken> {
    return (
      await this.transport.request<AclToken>({ method: 'POST', path: '/v1/acl/login', body: params, options })
    ).data;
  }

  /**
   * `POST /v1/acl/logout`: deletes the token of the call (`options.token`), which must come from
   * `login`; other tokens answer 403.
   * @see https://developer.hashicorp.com/consul/api-docs/acl
   */
  async logout(options?: WriteOptions): Promise<void> {
    await this.transport.request({ method: 'POST', path: '/v1/acl/logout', options, read: 'none' });
  }
}
