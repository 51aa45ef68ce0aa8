import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** The config entry kinds Consul 1.8 knows. */
export type ConfigEntryKind =
  | 'service-defaults'
  | 'proxy-defaults'
  | 'service-router'
  | 'service-splitter'
  | 'service-resolver'
  | 'ingress-gateway'
  | 'terminating-gateway'
  | (string & {});

/**
 * A config entry: `Kind` and `Name` plus the fields of its kind, as Consul spells them (e.g.
 * `Protocol` of `service-defaults`, `Config` of `proxy-defaults`).
 */
export interface ConfigEntry {
  /** The entry's kind, which decides its other fields. */
  Kind: ConfigEntryKind;
  /** What the entry configures: a service's name for most kinds, `global` for `proxy-defaults`. */
  Name: string;
  /** Enterprise: the namespace the entry applies to; OSS leaves it out. */
  Namespace?: string;
  /** Free-form key/value metadata (Consul 1.8.4+). */
  Meta?: Record<string, string>;
  /** Set by Consul; `ModifyIndex` is what `cas` compares against. */
  CreateIndex?: number;
  /** The Raft index of the entry's last write; pass it as `cas` to apply only if nothing changed since. */
  ModifyIndex?: number;
  [field: string]: unknown;
}

/** A `service-defaults` entry. */
export interface ServiceDefaultsConfigEntry extends ConfigEntry {
  /** Always `service-defaults`. */
  Kind: 'service-defaults';
  /** `tcp`, `http`, `http2`, `grpc`. */
  Protocol?: string;
  /** The default mesh gateway use for this service (Consul 1.6+). */
  MeshGateway?: {
    /** `none`, `local` or `remote`; empty leaves the choice to another layer of configuration. */
    Mode?: string;
  };
  /** Default paths that Envoy sidecars of this service expose to clients outside Connect (Consul 1.6.2+). */
  Expose?: {
    /** Expose every HTTP and gRPC check of the agent through Envoy. @defaultValue `false` */
    Checks?: boolean;
    /** Paths to expose, each `{ Path, LocalPathPort, ListenerPort, Protocol }` (`http` or `http2`). */
    Paths?: Record<string, unknown>[];
  };
  /** A TLS SNI to use instead of Consul's, for a service federated with an external system (Consul 1.6+). */
  ExternalSNI?: string;
}

/** A `proxy-defaults` entry (its `Name` is always `global`). */
export interface ProxyDefaultsConfigEntry extends ConfigEntry {
  /** Always `proxy-defaults`. */
  Kind: 'proxy-defaults';
  /** Opaque settings for every Connect proxy (e.g. `protocol`); which keys count depends on the proxy. */
  Config?: Record<string, unknown>;
  /** The default mesh gateway use for all proxies (Consul 1.6+). */
  MeshGateway?: {
    /** `none`, `local` or `remote`; empty leaves the choice to another layer of configuration. */
    Mode?: string;
  };
  /** Default paths that Envoy sidecars expose to clients outside Connect (Consul 1.6.2+). */
  Expose?: {
    /** Expose every HTTP and gRPC check of the agent through Envoy. @defaultValue `false` */
    Checks?: boolean;
    /** Paths to expose, each `{ Path, LocalPathPort, ListenerPort, Protocol }` (`http` or `http2`). */
    Paths?: Record<string, unknown>[];
  };
}

/** Options of {@link Config.apply}. */
export interface ConfigApplyOptions extends WriteOptions {
  /** Apply only if the entry's `ModifyIndex` is still this (`0`: only if it does not exist yet). */
  cas?: number;
}

/**
 * `/v1/config`: centralized config entries (service defaults, proxy defaults, routers, splitters,
 * resolvers, gateways).
 * @see https://developer.hashicorp.com/consul/api-docs/config
 */
export class Config {
  /** Made by {@link ConsulClient}; use it as `consul.config`. */
  constructor(private readonly transport: Transport) {}

  /**
   * `PUT /v1/config`: creates or replaces an entry. Resolves `true`, or `false` when `cas` did not
   * match (a CAS miss is not an error).
   * @see https://developer.hashicorp.com/consul/api-docs/config#apply-configuration
   */
  async apply(entry: ConfigEntry, options?: ConfigApplyOptions): Promise<boolean> {
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path: '/v1/config',
        query: { cas: options?.cas },
        body: entry,
        options,
        extraOptions: ['cas'],
        read: 'bool',
        idempotent: options?.cas === undefined,
      })
    ).data;
  }

  /**
   * `GET /v1/config/:kind/:name`: one entry; `data` is `null` when there is none.
   * @see https://developer.hashicorp.com/consul/api-docs/config#get-configuration
   */
  async get<T extends ConfigEntry = ConfigEntry>(
    kind: ConfigEntryKind,
    name: string,
    options?: QueryOptions,
  ): Promise<ConsulResult<T | null>> {
    const { data, meta } = await this.transport.request<T | null>({
      method: 'GET',
      path: `/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/config/:kind`: every entry of a kind.
   * @see https://developer.hashicorp.com/consul/api-docs/config#list-configurations
   */
  async list<T extends ConfigEntry = ConfigEntry>(
    kind: ConfigEntryKind,
    options?: QueryOptions,
  ): Promise<ConsulResult<T[]>> {
    const { data, meta } = await this.transport.request<T[]>({
      method: 'GET',
      path: `/v1/config/${encodeURIComponent(kind)}`,
      options,
    });
    return { data, meta };
  }

  /**
   * `DELETE /v1/config/:kind/:name`: deletes an entry (deleting one that does not exist succeeds).
   * @see https://developer.hashicorp.com/consul/api-docs/config#delete-configuration
   */
  async delete(kind: ConfigEntryKind, name: string, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'DELETE',
      path: `/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`,
      options,
      read: 'none',
      idempotent: true,
    });
  }
}
