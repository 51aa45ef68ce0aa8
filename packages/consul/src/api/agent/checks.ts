import type { QueryOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import type { AgentCheck, AgentCheckRegistration } from './types.js';

/**
 * `/v1/agent/check`: the checks registered with this agent, and TTL check updates.
 * @see https://developer.hashicorp.com/consul/api-docs/agent/check
 */
export class AgentChecks {
  /** Built by {@link ConsulClient}: use `client.agent.checks` rather than constructing this. */
  constructor(private readonly transport: Transport) {}

  /**
   * `GET /v1/agent/checks`: this agent's checks by ID (`filter` supported).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async list(options?: QueryOptions): Promise<Record<string, AgentCheck>> {
    const path = '/v1/agent/checks';
    return (await this.transport.request<Record<string, AgentCheck>>({ method: 'GET', path, options })).data;
  }

  /**
   * `PUT /v1/agent/check/register`: adds (or replaces) a check; 400 without a name.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async register(check: AgentCheckRegistration, options?: WriteOptions): Promise<void> {
    const spec = { method: 'PUT', path: '/v1/agent/check/register', body: check, options } as const;
    await this.transport.request({ ...spec, read: 'none', idempotent: true });
  }

  /**
   * `PUT /v1/agent/check/deregister/:check_id`: removes a check (an unknown ID answers 500).
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async deregister(checkId: string, options?: WriteOptions): Promise<void> {
    const path = `/v1/agent/check/deregister/${encodeURIComponent(checkId)}`;
    await this.transport.request({ method: 'PUT', path, options, read: 'none', idempotent: true });
  }

  /**
   * `PUT /v1/agent/check/pass/:check_id`: marks a TTL check passing, with an optional note.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async pass(checkId: string, note?: string, options?: WriteOptions): Promise<void> {
    await this.#mark('pass', checkId, note, options);
  }

  /**
   * `PUT /v1/agent/check/warn/:check_id`: marks a TTL check warning, with an optional note.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async warn(checkId: string, note?: string, options?: WriteOptions): Promise<void> {
    await this.#mark('warn', checkId, note, options);
  }

  /**
   * `PUT /v1/agent/check/fail/:check_id`: marks a TTL check critical, with an optional note.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async fail(checkId: string, note?: string, options?: WriteOptions): Promise<void> {
    await this.#mark('fail', checkId, note, options);
  }

  /**
   * `PUT /v1/agent/check/update/:check_id`: sets a TTL check's status and output.
   * @see https://developer.hashicorp.com/consul/api-docs/agent/check
   */
  async update(
    checkId: string,
    update: { Status: 'passing' | 'warning' | 'critical'; Output?: string },
    options?: WriteOptions,
  ): Promise<void> {
    const path = `/v1/agent/check/update/${encodeURIComponent(checkId)}`;
    await this.transport.request({
      method: 'PUT',
      path,
      body: update,
      options,
      read: 'none',
      idempotent: true,
    });
  }

  async #mark(
    kind: string,
    checkId: string,
    note: string | undefined,
    options?: WriteOptions,
  ): Promise<void> {
    const path = `/v1/agent/check/${kind}/${encodeURIComponent(checkId)}`;
    const query = { note };
    await this.transport.request({ method: 'PUT', path, query, options, read: 'none', idempotent: true });
  }
}
