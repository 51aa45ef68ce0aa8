import type { ConsulCallOptions } from '../options.js';
import type { Transport } from '../request.js';

/**
 * `/v1/status`: the raft leader and peers.
 * @see https://developer.hashicorp.com/consul/api-docs/status
 */
export class Status {
  /** Built by {@link ConsulClient}: use `client.status` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /** `GET /v1/status/leader`: the leader's server address (`'10.0.0.1:8300'`), `''` when there is none. */
  async leader(options?: ConsulCallOptions): Promise<string> {
    return (await this.transport.request<string>({ method: 'GET', path: '/v1/status/leader', options })).data;
  }

  /** `GET /v1/status/peers`: the raft peers' server addresses. */
  async peers(options?: ConsulCallOptions): Promise<string[]> {
    return (await this.transport.request<string[]>({ method: 'GET', path: '/v1/status/peers', options }))
      .data;
  }
}
