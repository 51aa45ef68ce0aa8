import type { Readable } from 'node:stream';
import type { ConsulResult, QueryOptions, WriteOptions } from '../options.js';
import type { Transport } from '../request.js';

/**
 * `/v1/snapshot`: save and restore the servers' whole state (a gzipped tar archive).
 * @see https://developer.hashicorp.com/consul/api-docs/snapshot
 */
export class Snapshot {
  /** Built by {@link ConsulClient}: use `client.snapshot` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/snapshot`: the snapshot as bytes; `meta.index` is the raft index it was taken at.
   * Pass `stale` to let a follower answer.
   * @see https://developer.hashicorp.com/consul/api-docs/snapshot#generate-snapshot
   */
  async save(options?: QueryOptions): Promise<ConsulResult<Uint8Array>> {
    const { data, meta } = await this.transport.request<Uint8Array>({
      method: 'GET',
      path: '/v1/snapshot',
      options,
      read: 'bytes',
    });
    return { data, meta };
  }

  /**
   * `GET /v1/snapshot`, as a stream to consume (or destroy) while it arrives: for large states.
   * The call's `timeout` covers only the wait for the response headers.
   * @see https://developer.hashicorp.com/consul/api-docs/snapshot#generate-snapshot
   */
  async saveStream(options?: QueryOptions): Promise<ConsulResult<Readable>> {
    const { data, meta } = await this.transport.request<Readable>({
      method: 'GET',
      path: '/v1/snapshot',
      options,
      read: 'stream',
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/snapshot`: replaces the servers' whole state with a snapshot (bytes or a stream).
   * Never replayed on another agent.
   * @see https://developer.hashicorp.com/consul/api-docs/snapshot#restore-snapshot
   */
  async restore(snapshot: Uint8Array | Readable, options?: WriteOptions): Promise<void> {
    await this.transport.request<void>({
      method: 'PUT',
      path: '/v1/snapshot',
      body: snapshot,
      options,
      read: 'none',
    });
  }
}
