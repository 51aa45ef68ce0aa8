/** A policy or role as tokens and roles link to it: by `ID` or by `Name` (one is enough). */
export interface AclLink {
  /** The policy's or role's ID. */
  ID?: string;
  /** Its name; Consul resolves it to the ID when linking, so a later rename keeps the link. */
  Name?: string;
}

/** A service identity: grants the templated policy of a service (and its sidecar). */
export interface AclServiceIdentity {
  /** The service it grants: lowercase letters, digits, `-` and `_`, at most 256 characters. */
  ServiceName: string;
  /** Datacenters where it applies. @defaultValue all */
  Datacenters?: string[];
}

/** A node identity (Consul 1.8.1+): grants the templated policy of a node. */
export interface AclNodeIdentity {
  /** The node it grants: lowercase letters, digits, `-` and `_`, at most 256 characters. */
  NodeName: string;
  /** The node's datacenter, the only one where the granted policy applies. */
  Datacenter: string;
}

/** The fields a caller sends to create or update a token. */
export interface AclTokenWrite {
  /** Only when creating with a chosen accessor; must be a UUID. */
  AccessorID?: string;
  /** Only when creating with a chosen secret; Consul 1.8 rejects anything but a UUID (500). */
  SecretID?: string;
  /** Free-form text shown with the token. */
  Description?: string;
  /** Policies to link, each by ID or name. */
  Policies?: AclLink[];
  /** Roles to link, each by ID or name (Consul 1.5+). */
  Roles?: AclLink[];
  /** Service identities to grant (Consul 1.5+). */
  ServiceIdentities?: AclServiceIdentity[];
  /** Node identities to grant (Consul 1.8.1+). */
  NodeIdentities?: AclNodeIdentity[];
  /** Local to this datacenter (not replicated). */
  Local?: boolean;
  /** RFC 3339 time after which the token is deleted. */
  ExpirationTime?: string;
  /** A duration (`'1h'`) after which the token is deleted; only on create. */
  ExpirationTTL?: string;
  /** Legacy tokens only: the rules, for an upgrade to the new system. */
  Rules?: string;
  /** Enterprise: its namespace; absent on write means the call's `ns`, else the token's, else `default`. */
  Namespace?: string;
}

/** A token as Consul returns it. */
export interface AclToken {
  /** The token's public ID (a UUID): names it in the API and logs, grants nothing. */
  AccessorID: string;
  /** The credential to send as the token; `'<hidden>'` when read with only `acl:read`. */
  SecretID: string;
  /** Free-form text; empty when none was given. */
  Description: string;
  /** The linked policies; absent or `null` when none. */
  Policies?: {
    /** The policy's ID. */
    ID: string;
    /** The policy's current name. */
    Name: string;
  }[];
  /** The linked roles (Consul 1.5+); absent or `null` when none. */
  Roles?: {
    /** The role's ID. */
    ID: string;
    /** The role's current name. */
    Name: string;
  }[];
  /** The granted service identities (Consul 1.5+); absent when none. */
  ServiceIdentities?: AclServiceIdentity[];
  /** The granted node identities (Consul 1.8.1+); absent when none. */
  NodeIdentities?: AclNodeIdentity[];
  /** `true` for a token that lives only in this datacenter (not replicated). */
  Local: boolean;
  /** The auth method that created it (login tokens). */
  AuthMethod?: string;
  /** RFC 3339 time after which Consul revokes and deletes the token; absent when it never expires. */
  ExpirationTime?: string;
  /** Meaningful only on create: Consul turns it into `ExpirationTime` and does not keep it. */
  ExpirationTTL?: string;
  /** When the token was created (RFC 3339); `0001-01-01T00:00:00Z` for the built-in anonymous token. */
  CreateTime: string;
  /** Base64 hash of the token's content, which replication uses to detect changes. */
  Hash: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
  /** A token of the legacy ACL system. */
  Legacy?: boolean;
  /** Legacy tokens only: their inline rules, in the legacy syntax. */
  Rules?: string;
  /** Enterprise: its namespace; OSS leaves it out. */
  Namespace?: string;
}

/** A token as `GET /v1/acl/tokens` lists it. */
export type AclTokenListEntry = Omit<AclToken, 'SecretID' | 'ExpirationTTL' | 'Rules'> & {
  /** The credential: real for a caller with `acl:write`, `'<hidden>'` with only `acl:read`. */
  SecretID?: string;
};

/** The fields a caller sends to create or update a policy. */
export interface AclPolicyWrite {
  /** Only on update (the path carries it; Consul checks they agree). */
  ID?: string;
  /** Unique name: letters, digits, `-` and `_`. */
  Name: string;
  /** Free-form text shown with the policy. */
  Description?: string;
  /** HCL or JSON rules. */
  Rules?: string;
  /** Datacenters where the policy applies. @defaultValue all */
  Datacenters?: string[];
  /** Enterprise: its namespace; absent on write means the call's `ns`, else the token's, else `default`. */
  Namespace?: string;
}

/** A policy as Consul returns it. */
export interface AclPolicy {
  /** The policy's ID (a UUID); `global-management` is `00000000-0000-0000-0000-000000000001`. */
  ID: string;
  /** Unique name, by which tokens and roles may link it. */
  Name: string;
  /** Free-form text; empty when none was given. */
  Description: string;
  /** The rules, in HCL or JSON. */
  Rules: string;
  /** Datacenters where it applies; absent or `null` means all of them. */
  Datacenters?: string[];
  /** Base64 hash of the policy's content, which replication uses to detect changes. */
  Hash: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
  /** Enterprise: its namespace; OSS leaves it out. */
  Namespace?: string;
}

/** A policy as `GET /v1/acl/policies` lists it (without its rules). */
export type AclPolicyListEntry = Omit<AclPolicy, 'Rules'>;

/** The fields a caller sends to create or update a role. */
export interface AclRoleWrite {
  /** Only on update, and optional there: it must equal the ID in the path. */
  ID?: string;
  /** Unique name: letters, digits, `-` and `_`. */
  Name: string;
  /** Free-form text shown with the role. */
  Description?: string;
  /** Policies to link, each by ID or name. */
  Policies?: AclLink[];
  /** Service identities the role grants. */
  ServiceIdentities?: AclServiceIdentity[];
  /** Node identities the role grants (Consul 1.8.1+). */
  NodeIdentities?: AclNodeIdentity[];
  /** Enterprise: its namespace; absent on write means the call's `ns`, else the token's, else `default`. */
  Namespace?: string;
}

/** A role as Consul returns it. */
export interface AclRole {
  /** The role's ID (a UUID). */
  ID: string;
  /** Unique name, by which tokens may link it. */
  Name: string;
  /** Free-form text; empty when none was given. */
  Description: string;
  /** The linked policies; absent or `null` when none. */
  Policies?: {
    /** The policy's ID. */
    ID: string;
    /** The policy's current name. */
    Name: string;
  }[];
  /** The granted service identities; absent when none. */
  ServiceIdentities?: AclServiceIdentity[];
  /** The granted node identities (Consul 1.8.1+); absent when none. */
  NodeIdentities?: AclNodeIdentity[];
  /** Base64 hash of the role's content, which replication uses to detect changes. */
  Hash: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
  /** Enterprise: its namespace; OSS leaves it out. */
  Namespace?: string;
}

/** An auth method type: `jwt` and `kubernetes` in Consul 1.8 OSS (`oidc` is Enterprise). */
export type AclAuthMethodType = 'jwt' | 'kubernetes' | 'oidc' | (string & {});

/** The fields a caller sends to create or update an auth method. */
export interface AclAuthMethodWrite {
  /** Unique name (letters, digits, `-` and `_`); it cannot change after creation. */
  Name: string;
  /** The kind of method; it cannot change after creation. */
  Type: AclAuthMethodType;
  /** A name to show instead of `Name` (Consul 1.8+). */
  DisplayName?: string;
  /** Free-form text shown with the method. */
  Description?: string;
  /** The longest life of a token it creates, e.g. `'10m'`. */
  MaxTokenTTL?: string;
  /** `'local'` (default) or `'global'`. */
  TokenLocality?: 'local' | 'global' | '';
  /** Type-specific settings (`JWTValidationPubKeys`, `BoundAudiences`, `ClaimMappings`, ...). */
  Config?: Record<string, unknown>;
  /** Enterprise: its namespace; absent on write means the call's `ns`, else the token's, else `default`. */
  Namespace?: string;
}

/** An auth method as Consul returns it. */
export interface AclAuthMethod extends AclAuthMethodWrite {
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
}

/** An auth method as `GET /v1/acl/auth-methods` lists it (without its `Config`). */
export type AclAuthMethodListEntry = Omit<AclAuthMethod, 'Config'>;

/** The fields a caller sends to create or update a binding rule. */
export interface AclBindingRuleWrite {
  /** Only on update, and optional there: it must equal the ID in the path. */
  ID?: string;
  /** Free-form text shown with the rule. */
  Description?: string;
  /** The name of the auth method whose logins the rule applies to; it must exist. */
  AuthMethod: string;
  /** A filter expression over the verified claims; empty matches every login. */
  Selector?: string;
  /** What the login token gets: a service identity, a role by name, or (1.8.1+) a node identity. */
  BindType: 'service' | 'role' | 'node';
  /** The service/role/node name, with `${claim}` interpolation. */
  BindName: string;
  /** Enterprise: its namespace; absent on write means the call's `ns`, else the token's, else `default`. */
  Namespace?: string;
}

/** A binding rule as Consul returns it. */
export interface AclBindingRule extends AclBindingRuleWrite {
  /** The rule's ID (a UUID Consul generates). */
  ID: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
}

/** What `POST /v1/acl/login` takes. */
export interface AclLoginParams {
  /** The name of the auth method to log in through. */
  AuthMethod: string;
  /** The credential the auth method verifies (a JWT, a Kubernetes service account token). */
  BearerToken: string;
  /** Metadata stored on the created token. */
  Meta?: Record<string, string>;
}

/** ACL replication state of a secondary datacenter (`GET /v1/acl/replication`). */
export interface AclReplicationStatus {
  /** Whether ACL replication is enabled in this datacenter. */
  Enabled: boolean;
  /** Whether replication is running now; after a leader election it can take about a minute to start. */
  Running: boolean;
  /** The primary datacenter it replicates from; empty when replication is off. */
  SourceDatacenter: string;
  /** `legacy`, `policies` or `tokens`. */
  ReplicationType: string;
  /**
   * The last index replicated: of policies (of tokens in `legacy` mode); compare with the `X-Consul-Index`
   * of `GET /v1/acl/policies`.
   */
  ReplicatedIndex: number;
  /** The last role index replicated; compare with the `X-Consul-Index` of `GET /v1/acl/roles`. */
  ReplicatedRoleIndex: number;
  /** The last token index replicated; compare with the `X-Consul-Index` of `GET /v1/acl/tokens`. */
  ReplicatedTokenIndex: number;
  /**
   * UTC time of the last successful sync (`0001-01-01T00:00:00Z` if none). It may stay put for up to 5
   * minutes while there is nothing to replicate.
   */
  LastSuccess: string;
  /**
   * UTC time of the last failed sync (`0001-01-01T00:00:00Z` if none); later than `LastSuccess` means
   * replication is failing.
   */
  LastError: string;
  /** Newer Consul only. */
  LastErrorMessage?: string;
}

/** A token of the legacy ACL system (removed in Consul 1.11). */
export interface AclLegacyToken {
  /** The token's ID, which is also its secret: send it as the token. */
  ID: string;
  /** Free-form name; empty when none was given. */
  Name: string;
  /** `management` tokens may do anything; `client` tokens only what `Rules` grant. */
  Type: 'client' | 'management';
  /** The rules, in the legacy syntax; empty when none. */
  Rules: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
}

/** What the legacy create/update calls take. */
export interface AclLegacyTokenWrite {
  /** On create, a chosen secret (must be a UUID); required on update. */
  ID?: string;
  /** Free-form name. */
  Name?: string;
  /** @defaultValue `'client'` */
  Type?: 'client' | 'management';
  /** The rules, in the legacy syntax. */
  Rules?: string;
}
