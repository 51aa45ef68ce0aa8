import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One root certificate of the Connect CA. */
export interface ConnectCaRoot {
  ID: string;
  Name: string;
  SerialNumber: number;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  IntermediateCerts: string[] | null;
  Active: boolean;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `GET /v1/connect/ca/roots`. */
export interface ConnectCaRoots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: ConnectCaRoot[];
}

/** The Connect CA configuration: the provider and its settings. */
export interface ConnectCaConfig {
  /** `consul`, `vault`, `aws-pca`. */
  Provider: string;
  /** Provider settings, e.g. `LeafCertTTL`, `RotationPeriod`, `PrivateKey`. */
  Config: Record<string, unknown>;
  State?: Record<string, string> | null;
  ForceWithoutCrossSigning?: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** A service-to-service intention. */
export interface Intention {
  ID: string;
  Description: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourceType: string;
  Action: 'allow' | 'deny';
  DefaultAddr: string;
  DefaultPort: number;
  Meta: Record<string, string> | null;
  Precedence: number;
  CreatedAt: string;
  UpdatedAt: string;
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** The writable fields of an intention (create and update bodies). */
export interface IntentionInput {
  SourceName: string;
  DestinationName: string;
  Action: 'allow' | 'deny';
  SourceNS?: string;
  DestinationNS?: string;
  /** @defaultValue `'consul'` */
  SourceType?: string;
  Description?: string;
  Meta?: Record<string, string>;
}

/**
 * `/v1/connect/ca`: the Connect certificate authority.
 * @see https://developer.hashicorp.com/consul/api-docs/connect/ca
 */
export class ConnectCa {
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
   * `GET /v1/connect/ca/configuration`: the CA provider and its settings (`operator:read`).
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
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v1/connect/intentions`: creates an intention and resolves its `ID`. A second intention
   * for the same source and destination fails with a 500.
   * @see https://developer.hashicorp.com/consul/api-docs/connect/intentions#create-intention-with-id
   */
  async create(intention: IntentionInput, options?: WriteOptions): Promise<{ ID: string }> {
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
  async update(id: string, intention: IntentionInput, options?: WriteOptions): Promise<{ ID: string }> {
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
  ): Promise<{ Allowed: boolean }> {
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

  constructor(transport: Transport) {
    this.ca = new ConnectCa(transport);
    this.intentions = new ConnectIntentions(transport);
  }
}
