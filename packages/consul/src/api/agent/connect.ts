import type { ConsulResult, QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AgentAuthorizeParams, AgentAuthorizeResult, AgentCaRoots, AgentLeafCert } from './types.js';

/**
 * `/v1/agent/connect`: the agent's cached Connect CA roots and leaf certificates, and authorization.
 * @see https://developer.hashicorp.com/consul/api-docs/agent/connect
 */
export class AgentConnect {
  /** Built by {@link ConsulClient}: use `client.agent.connect` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `POST /v1/agent/connect/authorize`: may this client certificate connect to `Target`?
   * @see https://developer.hashicorp.com/consul/api-docs/agent/connect
   */
  async authorize(params: AgentAuthorizeParams, options?: WriteOptions): Promise<AgentAuthorizeResult> {
    const spec = { method: 'POST', path: '/v1/agent/connect/authorize', body: params, options } as const;
    return (await this.transport.request<AgentAuthorizeResult>({ ...spec, idempotent: true })).data;
  }

  /**
   * `GET /v1/agent/connect/ca/roots`: the trusted CA roots (blocking with `index`).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/connect
   */
  async caRoots(options?: QueryOptions): Promise<ConsulResult<AgentCaRoots>> {
    const path = '/v1/agent/connect/ca/roots';
    const { data, meta } = await this.transport.request<AgentCaRoots>({ method: 'GET', path, options });
    return { data, meta };
  }

  /**
   * `GET /v1/agent/connect/ca/leaf/:service`: a leaf certificate for a service (blocking with `index`).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/connect
   */
  async leafCert(service: string, options?: QueryOptions): Promise<ConsulResult<AgentLeafCert>> {
    const path = `/v1/agent/connect/ca/leaf/${encodeURIComponent(service)}`;
    const { data, meta } = await this.transport.request<AgentLeafCert>({ method: 'GET', path, options });
    return { data, meta };
  }
}
