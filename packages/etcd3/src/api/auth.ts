import type { Etcd3CallOptions } from '../options.js';
import {
  nested,
  readHeader,
  readHeaderOnly,
  type HeaderOnlyResponse,
  type ResponseHeader,
} from '../proto/kv.js';
import { Writer, prefixEnd, type BytesLike, type Reader } from '../proto/wire.js';
import { rpc, type CallFn } from '../request.js';

/** What a role may do on a key or range (`authpb.Permission`). */
export interface Etcd3Permission {
  /** What it allows: reads, writes, or both. */
  type: 'read' | 'write' | 'readwrite';
  /** The key, or the first key of the range. */
  key: Buffer;
  /** Empty: `key` alone; `\0`: every key from `key` on. */
  rangeEnd: Buffer;
}

/** A permission to grant: a key, a prefix (`prefix: true`) or a range (`end`). */
export interface Etcd3PermissionGrant {
  /** What it allows: reads, writes, or both. */
  type: 'read' | 'write' | 'readwrite';
  /** The key, or the first key of the prefix or range. */
  key: BytesLike;
  /** Cover every key that starts with `key`. */
  prefix?: boolean;
  /** Cover every key in `[key, end)`; `'\0'`: every key from `key` on. Wins over `prefix`. */
  end?: BytesLike;
}

const PERM_TYPES = ['read', 'write', 'readwrite'] as const;

function readStrings(field: number) {
  return (r: Reader, end: number): { header: ResponseHeader; items: string[] } => {
    const out = { header: undefined as unknown as ResponseHeader, items: [] as string[] };
    for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
      if (tag === 10) out.header = nested(r, readHeader);
      else if (tag === field * 8 + 2) out.items.push(r.string());
      else r.skip(tag & 7);
    }
    return out;
  };
}

function readPermission(r: Reader, end: number): Etcd3Permission {
  const perm: Etcd3Permission = { type: 'read', key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 8) perm.type = PERM_TYPES[r.varint()] ?? 'read';
    else if (tag === 18) perm.key = r.bytes();
    else if (tag === 26) perm.rangeEnd = r.bytes();
    else r.skip(tag & 7);
  }
  return perm;
}

function readRole(r: Reader, end: number): { header: ResponseHeader; perms: Etcd3Permission[] } {
  const out = { header: undefined as unknown as ResponseHeader, perms: [] as Etcd3Permission[] };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18) out.perms.push(nested(r, readPermission));
    else r.skip(tag & 7);
  }
  return out;
}

const call = (method: string) => rpc('Auth', method, readHeaderOnly);
const ENABLE = call('AuthEnable');
const DISABLE = call('AuthDisable');
const USER_ADD = call('UserAdd');
const USER_GET = rpc('Auth', 'UserGet', readStrings(2));
const USER_LIST = rpc('Auth', 'UserList', readStrings(2));
const USER_DELETE = call('UserDelete');
const USER_PASSWORD = call('UserChangePassword');
const USER_GRANT = call('UserGrantRole');
const USER_REVOKE = call('UserRevokeRole');
const ROLE_ADD = call('RoleAdd');
const ROLE_GET = rpc('Auth', 'RoleGet', readRole);
const ROLE_LIST = rpc('Auth', 'RoleList', readStrings(2));
const ROLE_DELETE = call('RoleDelete');
const ROLE_GRANT = call('RoleGrantPermission');
const ROLE_REVOKE = call('RoleRevokePermission');

/**
 * The Auth service: turning auth on and off, users and roles. Authentication itself is the
 * client's (its `auth` option); these calls need a user with the `root` role once auth is on.
 * Changes are not replayed on another host after they may have been sent.
 */
export class AuthApi {
  readonly #call: CallFn;

  /** Made by {@link Etcd3Client} (its `auth`) over the client's request function. */
  constructor(call: CallFn) {
    this.#call = call;
  }

  #write(target: typeof ENABLE, message: Writer, options: Etcd3CallOptions): Promise<HeaderOnlyResponse> {
    return this.#call(target, message, { ...options, idempotent: false });
  }

  /** `Auth/AuthEnable`: needs a `root` user with the `root` role. */
  enable(options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(ENABLE, new Writer(), options);
  }

  /** `Auth/AuthDisable`. */
  disable(options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(DISABLE, new Writer(), options);
  }

  /** `Auth/UserAdd`. */
  addUser(name: string, password: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(USER_ADD, new Writer().bytes(1, name).bytes(2, password), options);
  }

  /** The user's roles (`Auth/UserGet`). */
  async getUser(
    name: string,
    options: Etcd3CallOptions = {},
  ): Promise<{
    /** Names of the roles granted to the user. */
    roles: string[];
  }> {
    const { items } = await this.#call(USER_GET, new Writer().bytes(1, name), {
      ...options,
      idempotent: true,
    });
    return { roles: items };
  }

  /** `Auth/UserList`. */
  async users(options: Etcd3CallOptions = {}): Promise<string[]> {
    const { items } = await this.#call(USER_LIST, new Writer(), { ...options, idempotent: true });
    return items;
  }

  /** `Auth/UserDelete`. */
  deleteUser(name: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(USER_DELETE, new Writer().bytes(1, name), options);
  }

  /** `Auth/UserChangePassword`. */
  changePassword(
    name: string,
    password: string,
    options: Etcd3CallOptions = {},
  ): Promise<HeaderOnlyResponse> {
    return this.#write(USER_PASSWORD, new Writer().bytes(1, name).bytes(2, password), options);
  }

  /** `Auth/UserGrantRole`. */
  grantRole(user: string, role: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(USER_GRANT, new Writer().bytes(1, user).bytes(2, role), options);
  }

  /** `Auth/UserRevokeRole`. */
  revokeRole(user: string, role: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(USER_REVOKE, new Writer().bytes(1, user).bytes(2, role), options);
  }

  /** `Auth/RoleAdd`. */
  addRole(name: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(ROLE_ADD, new Writer().bytes(1, name), options);
  }

  /** The role's permissions (`Auth/RoleGet`). */
  async getRole(
    name: string,
    options: Etcd3CallOptions = {},
  ): Promise<{
    /** The role's permissions, as etcd holds them. */
    permissions: Etcd3Permission[];
  }> {
    const { perms } = await this.#call(ROLE_GET, new Writer().bytes(1, name), {
      ...options,
      idempotent: true,
    });
    return { permissions: perms };
  }

  /** `Auth/RoleList`. */
  async roles(options: Etcd3CallOptions = {}): Promise<string[]> {
    const { items } = await this.#call(ROLE_LIST, new Writer(), { ...options, idempotent: true });
    return items;
  }

  /** `Auth/RoleDelete`. */
  deleteRole(name: string, options: Etcd3CallOptions = {}): Promise<HeaderOnlyResponse> {
    return this.#write(ROLE_DELETE, new Writer().bytes(1, name), options);
  }

  /** `Auth/RoleGrantPermission`. */
  grantPermission(
    role: string,
    permission: Etcd3PermissionGrant,
    options: Etcd3CallOptions = {},
  ): Promise<HeaderOnlyResponse> {
    const end = permission.end ?? (permission.prefix ? prefixEnd(permission.key) : undefined);
    const message = new Writer()
      .bytes(1, role)
      .message(2, (m) =>
        m.uint(1, PERM_TYPES.indexOf(permission.type)).bytes(2, permission.key).bytes(3, end),
      );
    return this.#write(ROLE_GRANT, message, options);
  }

  /** `Auth/RoleRevokePermission`: the permission on exactly `key` (and `end` / `prefix`). */
  revokePermission(
    role: string,
    permission: Omit<Etcd3PermissionGrant, 'type'>,
    options: Etcd3CallOptions = {},
  ): Promise<HeaderOnlyResponse> {
    const end = permission.end ?? (permission.prefix ? prefixEnd(permission.key) : undefined);
    return this.#write(
      ROLE_REVOKE,
      new Writer().bytes(1, role).bytes(2, permission.key).bytes(3, end),
      options,
    );
  }
}
