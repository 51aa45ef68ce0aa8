import type { Dispatcher } from 'undici';
import { ConsulError } from '../../errors.js';
import type { ConsulCallOptions, WriteOptions } from '../../options.js';
import type { Transport } from '../../request.js';
import { AgentChecks } from './checks.js';
import { AgentConnect } from './connect.js';
import { AgentServices } from './services.js';
import type { AgentHostInfo, AgentMember, AgentMetrics, AgentSelf, AgentTokenType } from './types.js';

export * from './types.js';
export { AgentChecks } from './checks.js';
export { AgentServices, type AgentServiceRegisterOptions } from './services.js';
export { AgentConnect } from './connect.js';

/** Options of {@link Agent.members}. */
export interface AgentMembersOptions extends ConsulCallOptions {
  /** The WAN pool (servers of every datacenter) instead of the LAN pool. */
  wan?: boolean;
  /** A network segment (Enterprise); `'_all'` for every segment. */
  segment?: string;
}

/** Options of {@link Agent.monitor}. */
export interface AgentMonitorOptions extends ConsulCallOptions {
  /** The lowest level to stream: `trace`, `debug`, `info`, `warn`, `error`. @defaultValue `'info'` */
  logLevel?: string;
  /** Lines as JSON objects (`?logjson`). */
  logJson?: boolean;
}

/**
 * `/v1/agent`: the local agent. Its checks, services and Connect endpoints are in `checks`,
 * `services` and `connect`.
 *
 * ```ts
 * await consul.agent.services.register({ Name: 'web', Port: 8080, Check: { TTL: '15s' } });
 * await consul.agent.checks.pass('service:web');
 * ```
 * @see https://developer.hashicorp.com/consul/api-docs/agent
 */
export class Agent {
  /** `/v1/agent/check*`: this agent's checks, and TTL check updates. */
  readonly checks: AgentChecks;
  /** `/v1/agent/service*`: this agent's services, their maintenance mode and local health. */
  readonly services: AgentServices;
  /** `/v1/agent/connect/*`: this agent's cached CA roots and leaf certificates, and authorization. */
  readonly connect: AgentConnect;

  /** Built by {@link ConsulClient}: use `client.agent` rather than constructing this. */
  constructor(private readonly transport: Transport) {
    this.checks = new AgentChecks(transport);
    this.services = new AgentServices(transport);
    this.connect = new AgentConnect(transport);
  }

  /**
   * `GET /v1/agent/self`: the agent's configuration, member entry and stats (needs `agent:read`).
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async self(options?: ConsulCallOptions): Promise<AgentSelf> {
    return (await this.transport.request<AgentSelf>({ method: 'GET', path: '/v1/agent/self', options })).data;
  }

  /**
   * `GET /v1/agent/members`: the gossip pool as this agent sees it.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async members(options?: AgentMembersOptions): Promise<AgentMember[]> {
    const { wan, segment, ...rest } = options ?? {};
    const spec = {
      method: 'GET',
      path: '/v1/agent/members',
      query: { wan: wan ? '1' : undefined, segment },
    } as const;
    return (await this.transport.request<AgentMember[]>({ ...spec, options: rest })).data;
  }

  /**
   * `GET /v1/agent/host` (1.7+): host facts (memory, CPU, disk); needs `operator:read`.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async host(options?: ConsulCallOptions): Promise<AgentHostInfo> {
    return (await this.transport.request<AgentHostInfo>({ method: 'GET', path: '/v1/agent/host', options }))
      .data;
  }

  /**
   * `GET /v1/agent/metrics`: the latest telemetry interval, as JSON.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async metrics(options?: ConsulCallOptions): Promise<AgentMetrics> {
    return (await this.transport.request<AgentMetrics>({ method: 'GET', path: '/v1/agent/metrics', options }))
      .data;
  }

  /**
   * `GET /v1/agent/metrics?format=prometheus`: the metrics as Prometheus text; the agent needs
   * `telemetry { prometheus_retention_time }` set.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async metricsPrometheus(options?: ConsulCallOptions): Promise<string> {
    const spec = { method: 'GET', path: '/v1/agent/metrics', query: { format: 'prometheus' } } as const;
    return (await this.transport.request<string>({ ...spec, options, read: 'text' })).data;
  }

  /**
   * `GET /v1/agent/monitor`: the agent's log, as an async iterable of lines that runs until
   * `options.signal` aborts (the iteration then ends quietly and the connection closes) or the
   * loop breaks. The request is sent on the first iteration; `timeout` bounds only the wait for
   * the response headers.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async *monitor(options?: AgentMonitorOptions): AsyncGenerator<string, void, undefined> {
    const { logLevel, logJson, ...rest } = options ?? {};
    const query = { loglevel: logLevel, logjson: logJson };
    const path = '/v1/agent/monitor';
    const { data: body } = await this.transport.request<Dispatcher.ResponseData['body']>({
      method: 'GET',
      path,
      query,
      options: rest,
      read: 'stream',
    });
    const signal = rest.signal;
    const stop = (): void => void body.destroy();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      let pending = '';
      for await (const chunk of body) {
        pending += (chunk as Buffer).toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line !== '') yield line;
      }
      if (pending !== '') yield pending;
    } catch (cause) {
      if (signal?.aborted) return;
      throw new ConsulError('CONSUL_BAD_RESPONSE', `GET ${path}: the log stream broke off`, {
        method: 'GET',
        path,
        cause,
      });
    } finally {
      signal?.removeEventListener('abort', stop);
      body.destroy();
    }
  }

  /**
   * `PUT /v1/agent/join/:address`: joins another agent's gossip pool (`wan` for the WAN pool).
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async join(address: string, options?: WriteOptions & { wan?: boolean }): Promise<void> {
    const { wan, ...rest } = options ?? {};
    const path = `/v1/agent/join/${encodeURIComponent(address)}`;
    const query = { wan: wan ? '1' : undefined };
    await this.transport.request({
      method: 'PUT',
      path,
      query,
      options: rest,
      read: 'none',
      idempotent: true,
    });
  }

  /**
   * `PUT /v1/agent/leave`: the agent leaves the cluster gracefully and shuts down.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async leave(options?: WriteOptions): Promise<void> {
    await this.transport.request({ method: 'PUT', path: '/v1/agent/leave', options, read: 'none' });
  }

  /**
   * `PUT /v1/agent/force-leave/:node_name`: marks a failed member as left (`prune` removes it from
   * the member list at once). An unknown node answers 500.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async forceLeave(node: string, options?: WriteOptions & { prune?: boolean }): Promise<void> {
    const { prune, ...rest } = options ?? {};
    const path = `/v1/agent/force-leave/${encodeURIComponent(node)}`;
    await this.transport.request({ method: 'PUT', path, query: { prune }, options: rest, read: 'none' });
  }

  /**
   * `PUT /v1/agent/reload`: reloads the configuration files. A `-dev` agent without a data dir
   * forgets the services and checks registered through the API.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async reload(options?: WriteOptions): Promise<void> {
    await this.transport.request({ method: 'PUT', path: '/v1/agent/reload', options, read: 'none' });
  }

  /**
   * `PUT /v1/agent/maintenance`: turns node maintenance mode on or off, with an optional reason.
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async maintenance(enable: boolean, reason?: string, options?: WriteOptions): Promise<void> {
    const query = { enable: String(enable), reason };
    const spec = { method: 'PUT', path: '/v1/agent/maintenance', query, options } as const;
    await this.transport.request({ ...spec, read: 'none', idempotent: true });
  }

  /**
   * `PUT /v1/agent/token/:type`: sets one of the agent's ACL tokens at runtime (`default`, `agent`,
   * `agent_master`, `replication`, or the legacy `acl_*` names).
   * @see https://developer.hashicorp.com/consul/api-docs/agent
   */
  async updateToken(type: AgentTokenType, token: string, options?: WriteOptions): Promise<void> {
    const path = `/v1/agent/token/${encodeURIComponent(type)}`;
    const spec = { method: 'PUT', path, body: { Token: token }, options } as const;
    await this.transport.request({ ...spec, read: 'none', idempotent: true });
  }
}
