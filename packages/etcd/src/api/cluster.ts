import { callOptions, HOST_CALL_OPTIONS, type EtcdCallOptions } from '../options.js';
import type { RequestFn } from '../request.js';

/**
 * The endpoints outside `/v2/keys`: `/version`, `/health`, `/v2/machines`.
 */
export class ClusterApi {
  readonly #request: RequestFn;
  /** Made by {@link EtcdClient}: use `client.cluster`. */
  constructor(request: RequestFn) {
    this.#request = request;
  }

  /** `GET /version`: `{ etcdserver, etcdcluster }`. */
  async version(options: EtcdCallOptions & { host?: string } = {}): Promise<{
    /** The etcd version of the member that answered, e.g. `3.4.13`. */
    etcdserver: string;
    /**
     * The cluster version: the lowest `major.minor` among the members, as `3.4.0`; `not_decided`
     * until the leader has settled it.
     */
    etcdcluster: string;
  }> {
    return (
      await this.#request<{ etcdserver: string; etcdcluster: string }>({
        method: 'GET',
        path: '/version',
        idempotent: true,
        ...callOptions(options, 'cluster.version', HOST_CALL_OPTIONS),
      })
    ).body;
  }

  /** `GET /health`: true when the member (and the cluster, through it) is healthy. */
  async health(options: EtcdCallOptions & { host?: string } = {}): Promise<boolean> {
    const response = await this.#request<{ health?: string | boolean }>({
      method: 'GET',
      path: '/health',
      idempotent: true,
      okStatuses: [503],
      ...callOptions(options, 'cluster.health', HOST_CALL_OPTIONS),
    });
    return response.statusCode === 200 && String(response.body?.health) === 'true';
  }

  /** The client URLs of every member. `GET /v2/machines` (a comma-separated list). */
  async machines(options: EtcdCallOptions & { host?: string } = {}): Promise<string[]> {
    const response = await this.#request<string>({
      method: 'GET',
      path: '/v2/machines',
      idempotent: true,
      ...callOptions(options, 'cluster.machines', HOST_CALL_OPTIONS),
    });
    return String(response.body ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter((host) => host !== '');
  }
}
