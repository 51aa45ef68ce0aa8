import { callOptions, type EtcdCallOptions } from '../options.js';
import type { RequestFn } from '../request.js';

/** A v2 auth user. */
export interface EtcdUser {
  /** The user name. */
  user: string;
  /**
   * The user's roles: role objects with their permissions, or bare role names, depending on the
   * endpoint and the etcd version; may be absent.
   */
  roles?: (string | EtcdRole)[];
}

/** A v2 auth role with its key-space permissions. */
export interface EtcdRole {
  /** The role name (`root` and `guest` are built in). */
  role: string;
  /** What the role may access; may be absent. */
  permissions?: {
    /** Key-space permissions (the only kind etcd v2 has). */
    kv: {
      /**
       * Key patterns the role may read: an exact key or directory, or a prefix ending in `*`
       * (`/*` or `*`: everything); `null` for none.
       */
      read: string[] | null;
      /** Key patterns the role may write, in the same form; `null` for none. */
      write: string[] | null;
    };
  };
}

/** Changes to a user: a new password, roles to grant or revoke. */
export interface EtcdUserChange {
  /** The password: the first one when the user is created, a new one when it is changed. */
  password?: string;
  /** Role names to give the user. */
  grant?: string[];
  /** Role names to take from the user. */
  revoke?: string[];
}

/** A new role's permissions, or changes to a role's permissions (etcd creates with `permissions`, changes with `grant`/`revoke`). */
export interface EtcdRoleChange {
  /** The permissions of a role being created. */
  permissions?: {
    /** Key-space permissions (the only kind etcd v2 has). */
    kv: {
      /** Key patterns the role may read: an exact key or directory, or a prefix ending in `*`. */
      read?: string[];
      /** Key patterns the role may write, in the same form. */
      write?: string[];
    };
  };
  /** Permissions to add to an existing role. */
  grant?: {
    /** Key-space permissions (the only kind etcd v2 has). */
    kv: {
      /** Key patterns to allow reading (an exact key or directory, or a prefix ending in `*`). */
      read?: string[];
      /** Key patterns to allow writing, in the same form. */
      write?: string[];
    };
  };
  /** Permissions to take from an existing role. */
  revoke?: {
    /** Key-space permissions (the only kind etcd v2 has). */
    kv: {
      /** Key patterns to no longer allow reading, as granted. */
      read?: string[];
      /** Key patterns to no longer allow writing, as granted. */
      write?: string[];
    };
  };
}

/**
 * `/v2/auth`: enable/disable, users, roles.
 * @see https://etcd.io/docs/v2.3/auth_api/
 */
export class AuthApi {
  readonly #request: RequestFn;
  /** Made by {@link EtcdClient}: use `client.auth`. */
  constructor(request: RequestFn) {
    this.#request = request;
  }

  /** `GET /v2/auth/enable` */
  async enabled(options: EtcdCallOptions = {}): Promise<boolean> {
    return (
      await this.#request<{ enabled: boolean }>({
        method: 'GET',
        path: '/v2/auth/enable',
        idempotent: true,
        ...callOptions(options, 'auth.enabled'),
      })
    ).body.enabled;
  }

  /** Turns auth on (needs the `root` user). `PUT /v2/auth/enable` */
  async enable(options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'PUT',
      path: '/v2/auth/enable',
      idempotent: true,
      ...callOptions(options, 'auth.enable'),
    });
  }

  /** `DELETE /v2/auth/enable` (as root). */
  async disable(options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'DELETE',
      path: '/v2/auth/enable',
      idempotent: true,
      ...callOptions(options, 'auth.disable'),
    });
  }

  /** `GET /v2/auth/users` */
  async users(options: EtcdCallOptions = {}): Promise<EtcdUser[]> {
    const body = (
      await this.#request<{ users: EtcdUser[] | null }>({
        method: 'GET',
        path: '/v2/auth/users',
        idempotent: true,
        ...callOptions(options, 'auth.users'),
      })
    ).body;
    return body.users ?? [];
  }

  /** `GET /v2/auth/users/:user` */
  async user(name: string, options: EtcdCallOptions = {}): Promise<EtcdUser> {
    return (
      await this.#request<EtcdUser>({
        method: 'GET',
        path: `/v2/auth/users/${encodeURIComponent(name)}`,
        idempotent: true,
        ...callOptions(options, 'auth.user'),
      })
    ).body;
  }

  /** Creates or changes a user. `PUT /v2/auth/users/:user` */
  async putUser(name: string, change: EtcdUserChange, options: EtcdCallOptions = {}): Promise<EtcdUser> {
    return (
      await this.#request<EtcdUser>({
        method: 'PUT',
        path: `/v2/auth/users/${encodeURIComponent(name)}`,
        body: JSON.stringify({ user: name, ...change }),
        json: true,
        idempotent: change.grant === undefined && change.revoke === undefined,
        ...callOptions(options, 'auth.putUser'),
      })
    ).body;
  }

  /** `DELETE /v2/auth/users/:user` */
  async removeUser(name: string, options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'DELETE',
      path: `/v2/auth/users/${encodeURIComponent(name)}`,
      idempotent: true,
      ...callOptions(options, 'auth.removeUser'),
    });
  }

  /** `GET /v2/auth/roles` */
  async roles(options: EtcdCallOptions = {}): Promise<EtcdRole[]> {
    const body = (
      await this.#request<{ roles: EtcdRole[] | null }>({
        method: 'GET',
        path: '/v2/auth/roles',
        idempotent: true,
        ...callOptions(options, 'auth.roles'),
      })
    ).body;
    return body.roles ?? [];
  }

  /** `GET /v2/auth/roles/:role` */
  async role(name: string, options: EtcdCallOptions = {}): Promise<EtcdRole> {
    return (
      await this.#request<EtcdRole>({
        method: 'GET',
        path: `/v2/auth/roles/${encodeURIComponent(name)}`,
        idempotent: true,
        ...callOptions(options, 'auth.role'),
      })
    ).body;
  }

  /** Creates or changes a role. `PUT /v2/auth/roles/:role` */
  async putRole(name: string, change: EtcdRoleChange, options: EtcdCallOptions = {}): Promise<EtcdRole> {
    return (
      await this.#request<EtcdRole>({
        method: 'PUT',
        path: `/v2/auth/roles/${encodeURIComponent(name)}`,
        body: JSON.stringify({ role: name, ...change }),
        json: true,
        idempotent: false,
        ...callOptions(options, 'auth.putRole'),
      })
    ).body;
  }

  /** `DELETE /v2/auth/roles/:role` */
  async removeRole(name: string, options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'DELETE',
      path: `/v2/auth/roles/${encodeURIComponent(name)}`,
      idempotent: true,
      ...callOptions(options, 'auth.removeRole'),
    });
  }
}
