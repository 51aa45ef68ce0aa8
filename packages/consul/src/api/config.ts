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
  Kind: ConfigEntryKind;
  Name: string;
  Namespace?: string;
  Meta?: Record<string, string>;
  /** Set by Consul; `ModifyIndex` is what `cas` compares against. */
  CreateIndex?: number;
  ModifyIndex?: number;
  [field: string]: unknown;
}

/** A `service-defaults` entry. */
export interface ServiceDefaultsConfigEntry extends ConfigEntry {
  Kind: 'service-defaults';
  /** `tcp`, `http`, `http2`, `grpc`. */
  Protocol?: string;
  MeshGateway?: { Mode?: string };
  Expose?: { Checks?: boolean; Paths?: Record<string, unknown>[] };
  ExternalSNI?: string;
}

/** A `proxy-defaults` entry (its `Name` is always `global`). */
export interface ProxyDefaultsConfigEntry extends ConfigEntry {
  Kind: 'proxy-defaults';
  Config?: Record<string, unknown>;
  MeshGateway?: { Mode?: string };
  Expose?: { Checks?: boolean; Paths?: Record<string, unknown>[] };
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
