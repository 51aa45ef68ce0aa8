import type { QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/** One server of the raft configuration. */
export interface RaftServer {
  /** The server's raft ID: its node ID (a UUID) under raft protocol 3, its address under older ones. */
  ID: string;
  /** The server's node name, or `(unknown)` when the cluster no longer knows the node. */
  Node: string;
  /** The server's raft address (`ip:port`, port 8300 by default). */
  Address: string;
  /** True for the current leader. */
  Leader: boolean;
  /** The raft protocol version the server speaks (`'3'`). */
  ProtocolVersion: string;
  /** True when the server votes (false while a new server is still staging, not yet promoted). */
  Voter: boolean;
}

/** `GET /v1/operator/raft/configuration`. */
export interface RaftConfiguration {
  /** Every server in the raft peer set. */
  Servers: RaftServer[];
  /** The raft index of this configuration (a newer one may still be uncommitted). */
  Index: number;
}

/** The autopilot settings. `PUT` replaces all of them: read, change, write back. */
export interface AutopilotConfiguration {
  /** Remove dead servers from the peer set when a new server joins, and periodically. */
  CleanupDeadServers: boolean;
  /** A duration, e.g. `'200ms'`. */
  LastContactThreshold: string;
  /** How many raft log entries a server may lag behind the leader and still count as healthy. */
  MaxTrailingLogs: number;
  /** The fewest servers the cluster must have before autopilot removes dead ones (0: no minimum). */
  MinQuorum: number;
  /** A duration, e.g. `'10s'`. */
  ServerStabilizationTime: string;
  /** The node-meta key whose value names a server's redundancy zone (Consul Enterprise; `''`: off). */
  RedundancyZoneTag: string;
  /**
   * Turn off upgrade migrations (Consul Enterprise), which promote servers of a new version only once
   * enough of them have joined.
   */
  DisableUpgradeMigration: boolean;
  /**
   * The node-meta key that holds a server's version for upgrade migrations (Consul Enterprise; `''`:
   * the Consul version).
   */
  UpgradeVersionTag: string;
  /** The raft index at which the settings were first stored. */
  CreateIndex?: number;
  /** The raft index of the settings' last change: what `cas` compares against. */
  ModifyIndex?: number;
}

/** One server as autopilot sees it. */
export interface AutopilotServerHealth {
  /** The server's raft ID (see {@link RaftServer.ID}). */
  ID: string;
  /** The server's node name. */
  Name: string;
  /** The server's raft address (`ip:port`). */
  Address: string;
  /** The server's gossip (serf) state: `alive`, `leaving`, `left`, `failed`. */
  SerfStatus: string;
  /** The server's Consul version (`'1.8.7'`). */
  Version: string;
  /** True for the current leader. */
  Leader: boolean;
  /** A duration (`'27.3ms'`, `'0s'` on the leader): how long since the leader last contacted it. */
  LastContact: string;
  /** The last raft term the server knows of. */
  LastTerm: number;
  /** The index of the server's last raft log entry. */
  LastIndex: number;
  /** Whether the server passes autopilot's checks (alive, in contact, not lagging), per the settings. */
  Healthy: boolean;
  /** True when the server votes. */
  Voter: boolean;
  /** When the server entered its current `Healthy` state (an RFC 3339 time). */
  StableSince: string;
}

/** `GET /v1/operator/autopilot/health`. */
export interface AutopilotHealth {
  /** True when every server is healthy (Consul then answers 200, otherwise 429). */
  Healthy: boolean;
  /** How many servers could fail without losing quorum (2 in a healthy cluster of 5). */
  FailureTolerance: number;
  /** `null` until autopilot has checked the servers once (seconds after a leader is elected). */
  Servers: AutopilotServerHealth[] | null;
}

/** The keys of one gossip pool (`WAN`, or the LAN of a datacenter or segment). */
export interface KeyringPool {
  /** True for the WAN pool (the servers of every datacenter), false for a datacenter's LAN pool. */
  WAN: boolean;
  /** The datacenter the entry is about. */
  Datacenter: string;
  /** The network segment of a LAN pool (Consul Enterprise); `''` for the default one. */
  Segment: string;
  /** Each key and how many nodes have it installed. */
  Keys: Record<string, number>;
  /** Each key and how many nodes use it as their primary (Consul 1.8+). */
  PrimaryKeys?: Record<string, number>;
  /** How many nodes the pool has: the total the counts of `Keys` compare with. */
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
  /** Made by the client: use `client.operator.raft`. */
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
  /** Made by the client: use `client.operator.autopilot`. */
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
  /** Made by the client: use `client.operator.keyring`. */
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

  /** Made by the client: use `client.operator`. */
  constructor(transport: Transport) {
    this.raft = new OperatorRaft(transport);
    this.autopilot = new OperatorAutopilot(transport);
    this.keyring = new OperatorKeyring(transport);
  }
}
