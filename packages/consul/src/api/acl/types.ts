/** A policy or role as tokens and roles link to it: by `ID` or by `Name` (one is enough). */
export interface AclLink {
  ID?: string;
  Name?: string;
}

/** A service identity: grants the templated policy of a service (and its sidecar). */
export interface AclServiceIdentity {
  ServiceName: string;
  /** Datacenters where it applies. @defaultValue all */
  Datacenters?: string[];
}

/** A node identity (Consul 1.8.1+): grants the templated policy of a node. */
export interface AclNodeIdentity {
  NodeName: string;
  Datacenter: string;
}

/** The fields a caller sends to create or update a token. */
export interface AclTokenWrite {
  /** Only when creating with a chosen accessor; must be a UUID. */
  AccessorID?: string;
  /** Only when creating with a chosen secret; Consul 1.8 rejects anything but a UUID (500). */
  SecretID?: string;
  Description?: string;
  Policies?: AclLink[];
  Roles?: AclLink[];
  ServiceIdentities?: AclServiceIdentity[];
  NodeIdentities?: AclNodeIdentity[];
  /** Local to this datacenter (not replicated). */
  Local?: boolean;
  /** RFC 3339 time after which the token is deleted. */
  ExpirationTime?: string;
  /** A duration (`'1h'`) after which the token is deleted; only on create. */
  ExpirationTTL?: string;
  /** Legacy tokens only: the rules, for an upgrade to the new system. */
  Rules?: string;
  Namespace?: string;
}

/** A token as Consul returns it. */
export interface AclToken {
  AccessorID: string;
  SecretID: string;
  Description: string;
  Policies?: { ID: string; Name: string }[];
  Roles?: { ID: string; Name: string }[];
  ServiceIdentities?: AclServiceIdentity[];
  NodeIdentities?: AclNodeIdentity[];
  Local: boolean;
  /** The auth method that created it (login tokens). */
  AuthMethod?: string;
  ExpirationTime?: string;
  ExpirationTTL?: string;
  CreateTime: string;
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
  /** A token of the legacy ACL system. */
  Legacy?: boolean;
  Rules?: string;
  Namespace?: string;
}

/** A token as `GET /v1/acl/tokens` lists it. */
export type AclTokenListEntry = Omit<AclToken, 'SecretID' | 'ExpirationTTL' | 'Rules'> & {
  SecretID?: string;
};

/** The fields a caller sends to create or update a policy. */
export interface AclPolicyWrite {
  /** Only on update (the path carries it; Consul checks they agree). */
  ID?: string;
  Name: string;
  Description?: string;
  /** HCL or JSON rules. */
  Rules?: string;
  /** Datacenters where the policy applies. @defaultValue all */
  Datacenters?: string[];
  Namespace?: string;
}

/** A policy as Consul returns it. */
export interface AclPolicy {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters?: string[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
  Namespace?: string;
}

/** A policy as `GET /v1/acl/policies` lists it (without its rules). */
export type AclPolicyListEntry = Omit<AclPolicy, 'Rules'>;

/** The fields a caller sends to create or update a role. */
export interface AclRoleWrite {
  ID?: string;
  Name: string;
  Description?: string;
  Policies?: AclLink[];
  ServiceIdentities?: AclServiceIdentity[];
  NodeIdentities?: AclNodeIdentity[];
  Namespace?: string;
}

/** A role as Consul returns it. */
export interface AclRole {
  ID: string;
  Name: string;
  Description: string;
  Policies?: { ID: string; Name: string }[];
  ServiceIdentities?: AclServiceIdentity[];
  NodeIdentities?: AclNodeIdentity[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
  Namespace?: string;
}

/** An auth method type: `jwt` and `kubernetes` in Consul 1.8 OSS (`oidc` is Enterprise). */
export type AclAuthMethodType = 'jwt' | 'kubernetes' | 'oidc' | (string & {});

/** The fields a caller sends to create or update an auth method. */
export interface AclAuthMethodWrite {
  Name: string;
  Type: AclAuthMethodType;
  DisplayName?: string;
  Description?: string;
  /** The longest life of a token it creates, e.g. `'10m'`. */
  MaxTokenTTL?: string;
  /** `'local'` (default) or `'global'`. */
  TokenLocality?: 'local' | 'global' | '';
  /** Type-specific settings (`JWTValidationPubKeys`, `BoundAudiences`, `ClaimMappings`, ...). */
  Config?: Record<string, unknown>;
  Namespace?: string;
}

/** An auth method as Consul returns it. */
export interface AclAuthMethod extends AclAuthMethodWrite {
  CreateIndex: number;
  ModifyIndex: number;
}

/** An auth method as `GET /v1/acl/auth-methods` lists it (without its `Config`). */
export type AclAuthMethodListEntry = Omit<AclAuthMethod, 'Config'>;

/** The fields a caller sends to create or update a binding rule. */
export interface AclBindingRuleWrite {
  ID?: string;
  Description?: string;
  AuthMethod: string;
  /** A filter expression over the verified claims; empty matches every login. */
  Selector?: string;
  /** What the login token gets: a service identity, a role by name, or (1.8.1+) a node identity. */
  BindType: 'service' | 'role' | 'node';
  /** The service/role/node name, with `${claim}` interpolation. */
  BindName: string;
  Namespace?: string;
}

/** A binding rule as Consul returns it. */
export interface AclBindingRule extends AclBindingRuleWrite {
  ID: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What `POST /v1/acl/login` takes. */
export interface AclLoginParams {
  AuthMethod: string;
  /** The credential the auth method verifies (a JWT, a Kubernetes service account token). */
  BearerToken: string;
  /** Metadata stored on the created token. */
  Meta?: Record<string, string>;
}

/** ACL replication state of a secondary datacenter (`GET /v1/acl/replication`). */
export interface AclReplicationStatus {
  Enabled: boolean;
  Running: boolean;
  SourceDatacenter: string;
  /** `legacy`, `policies` or `tokens`. */
  ReplicationType: string;
  ReplicatedIndex: number;
  ReplicatedRoleIndex: number;
  ReplicatedTokenIndex: number;
  LastSuccess: string;
  LastError: string;
  /** Newer Consul only. */
  LastErrorMessage?: string;
}

/** A token of the legacy ACL system (removed in Consul 1.11). */
export interface AclLegacyToken {
  ID: string;
  Name: string;
  Type: 'client' | 'management';
  Rules: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What the legacy create/update calls take. */
export interface AclLegacyTokenWrite {
  /** On create, a chosen secret (must be a UUID); required on update. */
  ID?: string;
  Name?: string;
  /** @defaultValue `'client'` */
  Type?: 'client' | 'management';
  Rules?: string;
}
