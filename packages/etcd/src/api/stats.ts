import { callOptions, HOST_CALL_OPTIONS, type EtcdCallOptions } from '../options.js';
import type { RequestFn } from '../request.js';

/** `/v2/stats/self`. */
export interface EtcdSelfStats {
  name: string;
  id: string;
  state: string;
  startTime: string;
  leaderInfo: { leader: string; uptime: string; startTime: string };
  recvAppendRequestCnt: number;
  sendAppendRequestCnt: number;
  [field: string]: unknown;
}

/**
 * `/v2/stats`: self, store, leader.
 * @see https://etcd.io/docs/v2.3/api/#statistics
 */
export class StatsApi {
  readonly #request: RequestFn;
  constructor(request: RequestFn) {
    this.#request = request;
  }

  /** The stats of one member: the pinned one, or `host` (an origin such as `http://h:2379`). `GET /v2/stats/self` */
  async self(options: EtcdCallOptions & { host?: string } = {}): Promise<EtcdSelfStats> {
    return (
      await this.#request<EtcdSelfStats>({
        method: 'GET',
        path: '/v2/stats/self',
        idempotent: true,
        ...callOptions(options, 'stats.self', HOST_CALL_OPTIONS),
      })
    ).body;
  }

  /** Store operation counters. `GET /v2/stats/store` */
  async store(options: EtcdCallOptions & { host?: string } = {}): Promise<Record<string, number>> {
    return (
      await this.#request<Record<string, number>>({
        method: 'GET',
        path: '/v2/stats/store',
        idempotent: true,
        ...callOptions(options, 'stats.store', HOST_CALL_OPTIONS),
      })
    ).body;
  }

  /** The leader's view of its followers (only the leader answers). `GET /v2/stats/leader` */
  async leader(
    options: EtcdCallOptions & { host?: string } = {},
  ): Promise<{ leader: string; followers: Record<string, unknown> }> {
    return (
      await this.#request<{ leader: string; followers: Record<string, unknown> }>({
        method: 'GET',
        path: '/v2/stats/leader',
        idempotent: true,
        ...callOptions(options, 'stats.leader', HOST_CALL_OPTIONS),
      })
    ).body;
  }
}
