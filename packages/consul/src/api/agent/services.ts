import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type {
  AgentHealthResult,
  AgentHealthStatus,
  AgentService,
  AgentServiceChecksInfo,
  AgentServiceRegistration,
} from './types.js';

/** Consul encodes the aggregate health of agent services in the status code. */
const HEALTH_STATUS: Record<number, AgentHealthStatus> = { 200: 'passing', 429: 'warning', 503: 'critical' };
const HEALTH_OK = [200, 429, 503];

/** Options of {@link AgentServices.register}. */
export interface AgentServiceRegisterOptions extends WriteOptions {
  /** Drop the service's checks that the new definition no longer has (`?replace-existing-checks`). */
  replaceExistingChecks?: boolean;
}

/**
 * `/v1/agent/service`: the services registered with this agent and their local health.
 * @see https://developer.hashicorp.com/consul/api-docs/agent/service
 */
export class AgentServices {
  /** Built by {@link ConsulClient}: use `client.agent.services` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/agent/services`: this agent's services by ID (`filter` supported).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async list(options?: QueryOptions): Promise<Record<string, AgentService>> {
    const path = '/v1/agent/services';
    return (await this.transport.request<Record<string, AgentService>>({ method: 'GET', path, options }))
      .data;
  }

  /**
   * `GET /v1/agent/service/:service_id`: one service, `data: null` when unknown. Blocks on
   * `hash` (from `meta.contentHash`) with `wait`.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async get(serviceId: string, options?: QueryOptions): Promise<ConsulResult<AgentService | null>> {
    const path = `/v1/agent/service/${encodeURIComponent(serviceId)}`;
    const { data, meta } = await this.transport.request<AgentService | null>({
      method: 'GET',
      path,
      options,
      nullOn404: true,
    });
    return { data, meta };
  }

  /**
   * `PUT /v1/agent/service/register`: adds or replaces a service (and its checks).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async register(service: AgentServiceRegistration, options?: AgentServiceRegisterOptions): Promise<void> {
    const { replaceExistingChecks, ...rest } = options ?? {};
    const query = { 'replace-existing-checks': replaceExistingChecks };
    const path = '/v1/agent/service/register';
    await this.transport.request({ method: 'PUT', path, query, body: service, options: rest, read: 'none' });
  }

  /**
   * `PUT /v1/agent/service/deregister/:service_id`: removes a service (an unknown ID answers 500).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async deregister(serviceId: string, options?: WriteOptions): Promise<void> {
    const path = `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`;
    await this.transport.request({ method: 'PUT', path, options, read: 'none', idempotent: true });
  }

  /**
   * `PUT /v1/agent/service/maintenance/:service_id`: turns a service's maintenance mode on or off.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async maintenance(
    serviceId: string,
    enable: boolean,
    reason?: string,
    options?: WriteOptions,
  ): Promise<void> {
    const path = `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}`;
    const query = { enable: String(enable), reason };
    await this.transport.request({ method: 'PUT', path, query, options, read: 'none', idempotent: true });
  }

  /**
   * `GET /v1/agent/health/service/id/:service_id`: the service's local health; `null` when the
   * agent has no such service (404). Warning (429) and critical (503) answers resolve too.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async healthById(
    serviceId: string,
    options?: QueryOptions,
  ): Promise<AgentHealthResult<AgentServiceChecksInfo> | null> {
    const path = `/v1/agent/health/service/id/${encodeURIComponent(serviceId)}`;
    const spec = { method: 'GET', path, options, ok: HEALTH_OK, nullOn404: true } as const;
    const { status, data } = await this.transport.request<AgentServiceChecksInfo | null>(spec);
    if (data === null) return null;
    return { status: data.AggregatedStatus ?? HEALTH_STATUS[status] ?? 'critical', data };
  }

  /**
   * `GET /v1/agent/health/service/name/:service_name`: the local health of every instance of a
   * service, with the worst status as `status`; `null` when the agent has none (404).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/service
   */
  async healthByName(
    serviceName: string,
    options?: QueryOptions,
  ): Promise<AgentHealthResult<AgentServiceChecksInfo[]> | null> {
    const path = `/v1/agent/health/service/name/${encodeURIComponent(serviceName)}`;
    const spec = { method: 'GET', path, options, ok: HEALTH_OK, nullOn404: true } as const;
    const { status, data } = await this.transport.request<AgentServiceChecksInfo[] | null>(spec);
    if (data === null) return null;
    const all = data.map((entry) => entry.AggregatedStatus);
    const aggregate = all.length > 0 && all.every((s) => s === 'maintenance') ? 'maintenance' : undefined;
    return { status: aggregate ?? HEALTH_STATUS[status] ?? 'critical', data };
  }
}
