import { callOptions, type EtcdCallOptions } from '../options.js';
import type { RequestFn } from '../request.js';

/** A cluster member, as `/v2/members` reports it. */
export interface EtcdMember {
  /** The member id, in hex: what `remove` and `update` take. */
  id: string;
  /** The member's name (its `--name`); empty for a member that was added but has not started yet. */
  name: string;
  /** The URLs the other members reach this one at (raft traffic; port 2380 by convention). */
  peerURLs: string[];
  /**
   * The URLs clients reach this member at (what the machine refresh adds as hosts); empty for a
   * member that was added but has not started yet.
   */
  clientURLs: string[];
}

/**
 * `/v2/members`: list, add, remove, update peer URLs; and the leader.
 * @see https://etcd.io/docs/v2.3/members_api/
 */
export class MembersApi {
  readonly #request: RequestFn;
  /** Made by {@link EtcdClient}: use `client.members`. */
  constructor(request: RequestFn) {
    this.#request = request;
  }

  /** `GET /v2/members` */
  async list(options: EtcdCallOptions = {}): Promise<EtcdMember[]> {
    const response = await this.#request<{ members: EtcdMember[] }>({
      method: 'GET',
      path: '/v2/members',
      idempotent: true,
      ...callOptions(options, 'members.list'),
    });
    return response.body.members ?? [];
  }

  /** `POST /v2/members` with `{ peerURLs }`. Not replayed after it may have reached a server. */
  async add(peerURLs: string[], options: EtcdCallOptions = {}): Promise<EtcdMember> {
    const response = await this.#request<EtcdMember>({
      method: 'POST',
      path: '/v2/members',
      body: JSON.stringify({ peerURLs }),
      json: true,
      idempotent: false,
      ...callOptions(options, 'members.add'),
    });
    return response.body;
  }

  /** `DELETE /v2/members/:id` */
  async remove(id: string, options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'DELETE',
      path: `/v2/members/${encodeURIComponent(id)}`,
      idempotent: false,
      ...callOptions(options, 'members.remove'),
    });
  }

  /** `PUT /v2/members/:id` with `{ peerURLs }`. */
  async update(id: string, peerURLs: string[], options: EtcdCallOptions = {}): Promise<void> {
    await this.#request({
      method: 'PUT',
      path: `/v2/members/${encodeURIComponent(id)}`,
      body: JSON.stringify({ peerURLs }),
      json: true,
      idempotent: true,
      ...callOptions(options, 'members.update'),
    });
  }

  /** The leader member. `GET /v2/members/leader` */
  async leader(options: EtcdCallOptions = {}): Promise<EtcdMember> {
    const response = await this.#request<EtcdMember>({
      method: 'GET',
      path: '/v2/members/leader',
      idempotent: true,
      ...callOptions(options, 'members.leader'),
    });
    return response.body;
  }
}
