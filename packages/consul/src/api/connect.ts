import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One root certificate of the Connect CA. */
export interface ConnectCaRoot {
  /** The root's ID: the SHA-1 fingerprint of its certificate, in colon-separated hex. */
  ID: string;
  /** A display name (e.g. `Consul CA Root Cert`); Consul itself does not use it. */
  Name: string;
  /** The x509 serial number of the root certificate. */
  SerialNumber: number;
  /** Colon-separated hex ID of the public key whose private key signs under this root. */
  SigningKeyID: string;
  /** The trust domain it was made under; empty means the cluster's current `TrustDomain`. */
  ExternalTrustDomain: string;
  /** Start of the certificate's validity (RFC 3339). */
  NotBefore: string;
  /** End of the certificate's validity (RFC 3339). */
  NotAfter: string;
  /** The root certificate, PEM-encoded. */
  RootCert: string;
  /** PEM intermediates to attach to leaf certificates signed by this CA; `null` when none. */
  IntermediateCerts: string[] | null;
  /** `true` for the one root that signs now; the others stay trusted while they rotate out. */
  Active: boolean;
  /** The key algorithm: `ec` or `rsa`. */
  PrivateKeyType: string;
  /** The key size in bits (e.g. 256 for `ec`, 2048 for `rsa`). */
  PrivateKeyBits: number;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
}

/** `GET /v1/connect/ca/roots`. */
export interface ConnectCaRoots {
  /** The `ID` of the root in `Roots` that signs now. */
  ActiveRootID: string;
  /** The cluster's trust domain (`<uuid>.consul`): the host part of every SPIFFE ID its CA signs. */
  TrustDomain: string;
  /** Every root to trust: the active one and any still rotating out. */
  Roots: ConnectCaRoot[];
}

/** The Connect CA configuration: the provider and its settings. */
export interface ConnectCaConfig {
  /** `consul`, `vault`, `aws-pca`. */
  Provider: string;
  /** Provider settings, e.g. `LeafCertTTL`, `RotationPeriod`, `PrivateKey`. */
  Config: Record<string, unknown>;
  /** Read-only data the provider persists (e.g. IDs of what it created); sending it on write is an error. */
  State?: Record<string, string> | null;
  /**
   * Write only: change the CA even if the current one cannot cross-sign the new root; connections may
   * then fail until every proxy has the new root.
   */
  ForceWithoutCrossSigning?: boolean;
  /** The Raft index at which it was created; absent on write. */
  CreateIndex?: number;
  /** The Raft index of its last change; absent on write. */
  ModifyIndex?: number;
}

/** A service-to-service intention. */
export interface Intention {
  /** The intention's ID (a UUID Consul generates). */
  ID: string;
  /** Free-form text; Consul does not use it. */
  Description: string;
  /** The source's namespace: `default` on OSS, `*` for all (Enterprise). */
  SourceNS: string;
  /** The source service's name, or `*` for every service; it need not be registered. */
  SourceName: string;
  /** The destination's namespace: `default` on OSS, `*` for all (Enterprise). */
  DestinationNS: string;
  /** The destination service's name, or `*` for every service; it need not be registered. */
  DestinationName: string;
  /** What `SourceName` names; `consul` (a Consul service) is the only type. */
  SourceType: string;
  /** What happens to a matching connection. */
  Action: 'allow' | 'deny';
  /** Unused by Consul; normally empty. */
  DefaultAddr: string;
  /** Unused by Consul; normally 0. */
  DefaultPort: number;
  /** Free-form key/value metadata; `null` or `{}` when none. */
  Meta: Record<string, string> | null;
  /** Order of evaluation, which Consul computes from the wildcards: higher values apply first. */
  Precedence: number;
  /** When the intention was created (RFC 3339). */
  CreatedAt: string;
  /** When it last changed (RFC 3339). */
  UpdatedAt: string;
  /** Base64 hash of the intention's content, which replication uses to detect changes. */
  Hash: string;
  /** The Raft index at which it was created. */
  CreateIndex: number;
  /** The Raft index of its last change. */
  ModifyIndex: number;
}

/** The writable fields of an intention (create and update bodies). */
export interface IntentionInput {
  /** The source service, or `*` for every service; it need not be registered. */
  SourceName: string;
  /** The destination service, or `*` for every service; it need not be registered. */
  DestinationName: string;
  /** What happens to a matching connection. */
  Action: 'allow' | 'deny';
  /** Enterprise: the source's namespace. */
  SourceNS?: string;
  /** Enterprise: the destination's namespace. */
  DestinationNS?: string;
  /** @defaultValue `'consul'` */
  SourceType?: string;
  /** Free-form text; Consul does not use it. */
  Description?: string;
  /** Free-form key/value metadata. */
  Meta?: Record<string, string>;
}

/**
 * `/v1/connect/ca`: the Connect certificate authority.
 * @see https://developer.hashicorp.com/consul/api-docs/connect/ca
 */
export class ConnectCa {
  /** Made by {@link ConsulClient}; use it as `consul.connect.ca`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/connect/ca/roots`: the trusted root certificates (blocks with `index`/`wait`; with
   * `cached`, from the agent's cache).
   * @see https://developer.hashicorp.com/consul/api-docs/connect/ca#list-ca-root-certificates
   */
  async roots(options?: QueryOptions): Promise<ConsulResult<ConnectCaRoots>> {
    const { data, meta } = await this.transport.request<ConnectCaRoots>({
      method: 'GET',
      path: '/v1/connect/ca/roots',
      options,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/connect/ca/configuration`: the CA provider and its settings (`operator:write` since Consul
   * 1.8.6, `operator:read` before).
   * @see https://developer.hashicorp.com/consul/api-docs/connect/ca#get-ca-configuration
   */
  async getConfiguration(options?: QueryOptions): Promise<ConnectCaConfig> {
    return (
      await this.transport.request<ConnectCaConfig>({
        method: 'GET',
        path: '/v1/connect/ca/configuration',
        options,
      })
    ).data;
  }

  /**
   * `PUT /v1/connect/ca/configuration`: changes the CA provider or its settings (`operator:write`);
   * a new provider or key rotates the roots.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/ca#update-ca-configuration
   */
  async setConfiguration(config: ConnectCaConfig, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'PUT',
      path: '/v1/connect/ca/configuration',
      body: config,
      options,
      read: 'none',
    });
  }
}

/** Options of {@link ConnectIntentions.check}. */
export interface IntentionCheckOptions extends QueryOptions {
  /** The source's type. @defaultValue `'consul'` */
  sourceType?: string;
}

/**
 * `/v1/connect/intentions`: which services may talk to which. (Consul 1.8 addresses intentions by
 * ID; the `exact` routes by source and destination came with 1.9.)
 * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions
 */
export class ConnectIntentions {
  /** Made by {@link ConsulClient}; use it as `consul.connect.intentions`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v1/connect/intentions`: creates an intention and resolves its `ID`. A second intention
   * for the same source and destination fails with a 500.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#create-intention-with-id
   */
  async create(
    intention: IntentionInput,
    options?: WriteOptions,
  ): Promise<{
    /** The new intention's ID. */
    ID: string;
  }> {
    return (
      await this.transport.request<{ ID: string }>({
        method: 'POST',
        path: '/v1/connect/intentions',
        body: intention,
        options,
      })
    ).data;
  }

  /**
   * `PUT /v1/connect/intentions/:uuid`: replaces an intention's fields; resolves its `ID`.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#update-intention-by-id
   */
  async update(
    id: string,
    intention: IntentionInput,
    options?: WriteOptions,
  ): Promise<{
    /** The intention's ID. */
    ID: string;
  }> {
    return (
      await this.transport.request<{ ID: string }>({
        method: 'PUT',
        path: `/v1/connect/intentions/${encodeURIComponent(id)}`,
        body: intention,
        options,
        idempotent: true,
      })
    ).data;
  }

  /**
   * `GET /v1/connect/intentions/:uuid`: one intention; `data` is `null` when there is none.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#read-specific-intention-by-id
   */
  async get(id: string, options?: QueryOptions): Promise<ConsulResult<Intention | null>> {
    const { data, meta } = await this.transport.request<Intention | null>({
      method: 'GET',
      path: `/v1/connect/intentions/${encodeURIComponent(id)}`,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/connect/intentions`: every intention the token may read, in precedence order.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#list-intentions
   */
  async list(options?: QueryOptions): Promise<ConsulResult<Intention[]>> {
    const { data, meta } = await this.transport.request<Intention[]>({
      method: 'GET',
      path: '/v1/connect/intentions',
      options,
    });
    return { data, meta };
  }

  /**
   * `DELETE /v1/connect/intentions/:uuid`: deletes an intention. Resolves `true`; an unknown ID
   * fails with a 500 (`Cannot delete non-existent intention`).
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#delete-intention-by-id
   */
  async delete(id: string, options?: WriteOptions): Promise<boolean> {
    return (
      await this.transport.request<boolean>({
        method: 'DELETE',
        path: `/v1/connect/intentions/${encodeURIComponent(id)}`,
        options,
        read: 'bool',
      })
    ).data;
  }

  /**
   * `GET /v1/connect/intentions/check`: whether `source` may connect to `destination`, as the
   * intentions (and the default ACL policy) decide.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#check-intention-result
   */
  async check(
    source: string,
    destination: string,
    options?: IntentionCheckOptions,
  ): Promise<{
    /** `true` if the connection would be allowed. */
    Allowed: boolean;
  }> {
    const query = { source, destination, 'source-type': options?.sourceType };
    return (
      await this.transport.request<{ Allowed: boolean }>({
        method: 'GET',
        path: '/v1/connect/intentions/check',
        query,
        options,
        extraOptions: ['sourceType'],
      })
    ).data;
  }

  /**
   * `GET /v1/connect/intentions/match`: the intentions that apply to each name, by source or by
   * destination, in precedence order; keyed by the names asked for (`null` for a name that no
   * intention matches).
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#list-matching-intentions
   */
  async match(
    by: 'source' | 'destination',
    names: string | string[],
    options?: QueryOptions,
  ): Promise<ConsulResult<Record<string, Intention[] | null>>> {
    const { data, meta } = await this.transport.request<Record<string, Intention[] | null>>({
      method: 'GET',
      path: '/v1/connect/intentions/match',
      query: { by, name: names },
      options,
    });
    return { data, meta };
  }
}

/**
 * `/v1/connect`: the Connect CA (`connect.ca`) and intentions (`connect.intentions`).
 * @see https://developer.hashicorp.com/consul/api-docs/connect
 */
export class Connect {
  /** `/v1/connect/ca`. */
  readonly ca: ConnectCa;
  /** `/v1/connect/intentions`. */
  readonly intentions: ConnectIntentions;

  /** Made by {@link ConsulClient}; use it as `consul.connect`. */
  constructor(transport: Transport) {
    this.ca = new ConnectCa(transport);
    this.intentions = new ConnectIntentions(transport);
  }
}
