import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/**
 * A Vivaldi network coordinate. The estimated round-trip time between nodes `a` and `b`, in seconds,
 * is `|a.Vec - b.Vec| + a.Height + b.Height`, plus `a.Adjustment + b.Adjustment` when that keeps it
 * positive.
 */
export interface NetworkCoordinate {
  /** The Euclidean part, in seconds (8 dimensions on Consul). */
  Vec: number[];
  /** How uncertain the estimate is (unitless; it starts at 1.5 and falls as the node measures). */
  Error: number;
  /** An offset in seconds learned from recent round trips, added to distances. */
  Adjustment: number;
  /** An offset in seconds for the node's own network link, added to every distance. */
  Height: number;
}

/** A node's coordinate in one network segment. */
export interface CoordinateEntry {
  /** The node's name. */
  Node: string;
  /** `''` for the default segment. */
  Segment: string;
  /** The node's coordinate in that segment. */
  Coord: NetworkCoordinate;
}

/** The WAN coordinates of the servers of one datacenter. */
export interface CoordinateDatacenterMap {
  /** The datacenter's name. */
  Datacenter: string;
  /** `'wan'` for the WAN gossip pool; otherwise the ID of a network area (Consul Enterprise). */
  AreaID: string;
  /** The WAN coordinates of the datacenter's servers. */
  Coordinates: CoordinateEntry[];
}

/**
 * `/v1/coordinate`: the network coordinates Consul uses to estimate round-trip times (`near`).
 * @see https://developer.hashicorp.com/consul/api-docs/coordinate
 */
export class Coordinate {
  /** Built by {@link ConsulClient}: use `client.coordinate` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/coordinate/datacenters`: the WAN coordinates of every datacenter's servers.
   * @see https://developer.hashicorp.com/consul/api-docs/coordinate#read-wan-coordinates
   */
  async datacenters(options?: QueryOptions): Promise<CoordinateDatacenterMap[]> {
    return (
      await this.transport.request<CoordinateDatacenterMap[]>({
        method: 'GET',
        path: '/v1/coordinate/datacenters',
        options,
      })
    ).data;
  }

  /**
   * `GET /v1/coordinate/nodes`: the LAN coordinates of every node (blocks with `index`/`wait`).
   * @see https://developer.hashicorp.com/consul/api-docs/coordinate#read-lan-coordinates-for-all-nodes
   */
  async nodes(options?: QueryOptions): Promise<ConsulResult<CoordinateEntry[]>> {
    const { data, meta } = await this.transport.request<CoordinateEntry[]>({
      method: 'GET',
      path: '/v1/coordinate/nodes',
      options,
    });
    return { data, meta };
  }

  /**
   * `GET /v1/coordinate/node/:node`: a node's LAN coordinates, one per segment; `data` is `null`
   * when the node has none (yet).
   * @see https://developer.hashicorp.com/consul/api-docs/coordinate#read-lan-coordinates-for-a-node
   */
  async node(node: string, options?: QueryOptions): Promise<ConsulResult<CoordinateEntry[] | null>> {
    const { data, meta } = await this.transport.request<CoordinateEntry[] | null>({
      method: 'GET',
      path: `/v1/coordinate/node/${encodeURIComponent(node)}`,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/coordinate/update`: sets a node's LAN coordinate, for nodes that do not run an agent
   * (`node:write`). Consul applies updates in batches, so a read right after may not show it yet.
   * @see https://developer.hashicorp.com/consul/api-docs/coordinate#update-lan-coordinates-for-a-node
   */
  async update(
    entry: Partial<CoordinateEntry> & { Node: string; Coord: NetworkCoordinate },
    options?: WriteOptions,
  ): Promise<void> {
    await this.transport.request<void>({
      method: 'PUT',
      path: '/v1/coordinate/update',
      body: entry,
      options,
      read: 'none',
      idempotent: true,
    });
  }
}
