import type { QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One server of the raft configuration. */
export interface RaftServer {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  ProtocolVersion: string;
  Voter: boolean;
}

/** `GET /v1/operator/raft/configuration`. */
export interface RaftConfiguration {
  Servers: RaftServer[];
  Index: number;
}

/** The autopilot settings. `PUT` replaces all of them: read, change, write back. */
export interface AutopilotConfiguration {
  CleanupDeadServers: boolean;
  /** A duration, e.g. `'200ms'`. */
  LastContactThreshold: string;
  MaxTrailingLogs: number;
  MinQuorum: number;
  /** A duration, e.g. `'10s'`. */
  ServerStabilizationTime: string;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** One server as autopilot sees it. */
export interface AutopilotServerHealth {
  ID: string;
  Name: string;
  Address: string;
  SerfStatus: string;
  Version: string;
  Leader: boolean;
  LastContact: string;
  LastTerm: number;
  LastIndex: number;
  Healthy: boolean;
  Voter: boolean;
  StableSince: string;
}

/** `GET /v1/operator/autopilot/health`. */
export interface AutopilotHealth {
  Healthy: boolean;
  FailureTolerance: number;
  /** `null` until autopilot has checked the servers once (seconds after a leader is elected). */
  Servers: AutopilotServerHealth[] | null;
}

/** The keys of one gossip pool (`WAN`, or the LAN of a datacenter or segment). */
export interface KeyringPool {
  WAN: boolean;
  Datacenter: string;
  Segment: string;
  /** Each key and how many nodes have it installed. */
  Keys: Record<string, number>;
  /** Each key and how many nodes use it as their primary (Consul 1.8+). */
  PrimaryKeys?: Record<string, number>;
  NumNodes: number;
}

/** Options of the keyring calls. */
export interface KeyringOptions extends WriteOptions {
  /** Relay the answers through this many extra nodes (0..5) (`?relay-factor=`). */
  relayFactor?: number;
  /** List the LAN keys of this datacenter only (`?local-only`; list only; Consul 1.10+, 1.8 ignores it). */
  localOnly?: boolean;
}

/** The options of {@link KeyringOptions} the keyring calls read themselves. */
const KEYRING_OPTIONS = ['relayFactor', 'localOnly'];

/**
 * `/v1/operator/raft`: the raft peer set.
 * @see https://developer.hashicorp.com/consul/api-docs/operator/raft
 */
export class OperatorRaft {
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/operator/raft/configuration`: the servers in the raft configuration and which one leads
   * (`operator:read`; `stale: true` asks any server).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/raft#read-configuration
   */
  async configuration(options?: QueryOptions): Promise<RaftConfiguration> {
    return (
      await this.transport.request<RaftConfiguration>({
        method: 'GET',
        path: '/v1/operator/raft/configuration',
        options,
      })
    ).data;
  }

  /**
   * `DELETE /v1/operator/raft/peer`: removes a server from the raft peers, by `id` or by `address`
   * (`ip:port`). For dead servers that did not leave; an unknown peer fails with a 500.
   * @see https://developer.hashicorp.com/consul/api-docs/operator/raft#delete-raft-peer
   */
  async removePeer(peer: { id: string } | { address: string }, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'DELETE',
      path: '/v1/operator/raft/peer',
      query: 'id' in peer ? { id: peer.id } : { address: peer.address },
      options,
      read: 'none',
    });
  }
}

/**
 * `/v1/operator/autopilot`: automatic server management.
 * @see https://developer.hashicorp.com/consul/api-docs/operator/autopilot
 */
export class OperatorAutopilot {
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/operator/autopilot/configuration`: the autopilot settings (`operator:read`).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/autopilot#read-configuration
   */
  async getConfiguration(options?: QueryOptions): Promise<AutopilotConfiguration> {
    return (
      await this.transport.request<AutopilotConfiguration>({
        method: 'GET',
        path: '/v1/operator/autopilot/configuration',
        options,
      })
    ).data;
  }

  /**
   * `PUT /v1/operator/autopilot/configuration`: replaces the settings (fields left out are reset to
   * zero). Resolves `true`, or `false` when `cas` (a `ModifyIndex`) did not match.
   * @see https://developer.hashicorp.com/consul/api-docs/operator/autopilot#update-configuration
   */
  async setConfiguration(
    config: Partial<AutopilotConfiguration>,
    options?: WriteOptions & { cas?: number },
  ): Promise<boolean> {
    return (
      await this.transport.request<boolean>({
        method: 'PUT',
        path: '/v1/operator/autopilot/configuration',
        query: { cas: options?.cas },
        body: config,
        options,
        extraOptions: ['cas'],
        read: 'bool',
        idempotent: options?.cas === undefined,
      })
    ).data;
  }

  /**
   * `GET /v1/operator/autopilot/health`: the health of the servers. Consul answers 429 when the
   * cluster is unhealthy; both 200 and 429 resolve the body, so look at `Healthy`.
   * @see https://developer.hashicorp.com/consul/api-docs/operator/autopilot#read-health
   */
  async health(options?: QueryOptions): Promise<AutopilotHealth> {
    return (
      await this.transport.request<AutopilotHealth>({
        method: 'GET',
        path: '/v1/operator/autopilot/health',
        options,
        ok: [200, 429],
      })
    ).data;
  }
}

/**
 * `/v1/operator/keyring`: the gossip encryption keys. An agent without gossip encryption answers
 * every call with a 500 (`Keyring is empty (encryption not enabled)`), kept as
 * `CONSUL_HTTP_STATUS` with the body; a token without keyring rights gets
 * `CONSUL_PERMISSION_DENIED` (Consul 1.8 sends a 500 for it).
 * @see https://developer.hashicorp.com/consul/api-docs/operator/keyring
 */
export class OperatorKeyring {
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/operator/keyring`: the keys of each gossip pool (`keyring:read`).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/keyring#list-gossip-encryption-keys
   */
  async list(options?: KeyringOptions): Promise<KeyringPool[]> {
    const response = await this.transport.request<KeyringPool[]>({
      method: 'GET',
      path: '/v1/operator/keyring',
      query: { 'relay-factor': options?.relayFactor, 'local-only': options?.localOnly },
      options,
      extraOptions: KEYRING_OPTIONS,
    });
    return response.data;
  }

  /**
   * `POST /v1/operator/keyring`: installs a new key (base64 of 32 bytes) on every member, without
   * using it yet (`keyring:write`).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/keyring#add-new-gossip-encryption-key
   */
  async install(key: string, options?: KeyringOptions): Promise<void> {
    await this.#write('POST', key, options);
  }

  /**
   * `PUT /v1/operator/keyring`: makes an installed key the primary one (`keyring:write`).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/keyring#change-primary-gossip-encryption-key
   */
  async use(key: string, options?: KeyringOptions): Promise<void> {
    await this.#write('PUT', key, options);
  }

  /**
   * `DELETE /v1/operator/keyring`: removes a key that is not the primary one (`keyring:write`).
   * @see https://developer.hashicorp.com/consul/api-docs/operator/keyring#delete-gossip-encryption-key
   */
  async remove(key: string, options?: KeyringOptions): Promise<void> {
    await this.#write('DELETE', key, options);
  }

  async #write(method: 'POST' | 'PUT' | 'DELETE', key: string, options?: KeyringOptions): Promise<void> {
    await this.transport.request<void>({
      method,
      path: '/v1/operator/keyring',
      query: { 'relay-factor': options?.relayFactor },
      body: { Key: key },
      options,
      extraOptions: KEYRING_OPTIONS,
      read: 'none',
      idempotent: true,
    });
  }
}

/**
 * `/v1/operator`: cluster operations: `operator.raft`, `operator.autopilot`, `operator.keyring`.
 * (Areas, segments and licenses are Consul Enterprise; `autopilot/state` came with 1.10.)
 * @see https://developer.hashicorp.com/consul/api-docs/operator
 */
export class Operator {
  /** `/v1/operator/raft`. */
  readonly raft: OperatorRaft;
  /** `/v1/operator/autopilot`. */
  readonly autopilot: OperatorAutopilot;
  /** `/v1/operator/keyring`. */
  readonly keyring: OperatorKeyring;

  constructor(transport: Transport) {
    this.raft = new OperatorRaft(transport);
    this.autopilot = new OperatorAutopilot(transport);
    this.keyring = new OperatorKeyring(transport);
  }
}
