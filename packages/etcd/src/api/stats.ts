import { callOptions, HOST_CALL_OPTIONS, type EtcdCallOptions } from '../options.js';
import type { RequestFn } from '../request.js';

/** `/v2/stats/self`. */
export interface EtcdSelfStats {
  /** The member's name (its `--name`). */
  name: string;
  /** The member's id, in hex (as in {@link EtcdMember.id}). */
  id: string;
  /** The member's raft role: `StateLeader` or `StateFollower`. */
  state: string;
  /** When the member started (RFC 3339). */
  startTime: string;
  /** The leader as this member knows it. */
  leaderInfo: {
    /** The leader's member id, in hex (this member's own id on the leader). */
    leader: string;
    /** Time since `startTime`, as a Go duration such as `10m59.322358947s`. */
    uptime: string;
    /** When this member first heard from that leader, or, on the leader, became leader (RFC 3339). */
    startTime: string;
  };
  /** Raft append requests this member has received from a leader since it started. */
  recvAppendRequestCnt: number;
  /** Raft append requests this member has sent as leader since it started. */
  sendAppendRequestCnt: number;
  [field: string]: unknown;
}

/**
 * `/v2/stats`: self, store, leader.
 * @see https://etcd.io/docs/v2.3/api/#statistics
 */
export class StatsApi {
  readonly #request: RequestFn;
  /** Made by {@link EtcdClient}: use `client.stats`. */
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
  async leader(options: EtcdCallOptions & { host?: string } = {}): Promise<{
    /** The leader's member id, in hex. */
    leader: string;
    /**
     * Per follower id (hex): `counts` (`success`, `fail`: raft requests sent to it) and `latency`
     * (`current`, `average`, `minimum`, `maximum`, `standardDeviation`, in milliseconds).
     */
    followers: Record<string, unknown>;
  }> {
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
