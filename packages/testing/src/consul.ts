import { randomUUID } from 'node:crypto';
import { resolveBinary } from './install.js';
import { freePorts, makeDir, ManagedProcess, probe, waitUntil } from './processes.js';

/** The ACL master token of every agent started with `acl: true`. */
export const CONSUL_MASTER_TOKEN = 'c0ffee00-0000-4000-8000-000000000001';

/** Options of {@link startConsul} and {@link startConsulCluster}. */
export interface ConsulOptions {
  /** Turn ACLs on with default policy `deny` and {@link CONSUL_MASTER_TOKEN} as the master token. */
  acl?: boolean;
  /** Extra HCL snippets, e.g. `session_ttl_min = "1s"`. */
  hcl?: string[];
}

/** One Consul agent (a dev agent, or a server of a cluster). */
export class ConsulAgent extends ManagedProcess {
  /**
   * Prepares an agent; {@link startConsul} and {@link startConsulCluster} make them.
   * @param httpPort - its HTTP API port
   * @param serfLanPort - its Serf LAN port (others join it there)
   * @param token - the master token when ACLs are on
   */
  constructor(
    name: string,
    args: string[],
    workDir: string,
    readonly httpPort: number,
    readonly serfLanPort: number,
    readonly token: string | undefined,
  ) {
    super(name, resolveBinary('consul'), args, workDir);
  }

  /** `127.0.0.1:port` of the HTTP API. */
  get address(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  /** `http://127.0.0.1:port`, the HTTP API's base URL. */
  get url(): string {
    return `http://${this.address}`;
  }

  /** The store URL of this agent: `consul://127.0.0.1:port`, with `?token=` the master token when ACLs are on. */
  get storeUrl(): string {
    return `consul://${this.address}${this.token ? `?token=${this.token}` : ''}`;
  }

  /** Ready: a leader is known and the KV store answers (with the master token when ACLs are on). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const headers: Record<string, string> = this.token ? { 'X-Consul-Token': this.token } : {};
    await waitUntil(
      async () => {
        const leader = await probe(`${this.url}/v1/status/leader`);
        if (leader.status !== 200 || leader.body.length <= 2) return false;
        const kv = await probe(`${this.url}/v1/kv/polykv-readiness-probe`, { headers });
        return kv.status === 404;
      },
      timeoutMs,
      () => `consul ${this.name} at ${this.url}:\n${this.tail()}`,
    );
  }

  /**
   * Until the leader has registered a node's `serfHealth` check, Consul refuses to create sessions
   * on it (500 "Missing check 'serfHealth' registration", seen once in CI on a fresh 3-server
   * cluster), and TTL keys and locks need sessions.
   */
  async waitSerfHealth(timeoutMs = 60_000): Promise<void> {
    const headers: Record<string, string> = this.token ? { 'X-Consul-Token': this.token } : {};
    await waitUntil(
      async () => {
        const self = await probe(`${this.url}/v1/agent/self`, { headers });
        if (self.status !== 200) return false;
        const node = (JSON.parse(self.body) as { Config: { NodeName: string } }).Config.NodeName;
        const checks = await probe(`${this.url}/v1/health/node/${encodeURIComponent(node)}`, { headers });
        return checks.status === 200 && checks.body.includes('"CheckID":"serfHealth"');
      },
      timeoutMs,
      () => `serfHealth of consul ${this.name} at ${this.url}:\n${this.tail()}`,
    );
  }

  /**
   * Stops the agent if it runs, starts it again and waits until it is ready. A dev agent keeps
   * nothing (its indexes start over); a cluster server keeps its data folder.
   */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    this.start();
    await this.waitReady();
  }
}

async function consulArgs(
  name: string,
  workDir: string,
  options: ConsulOptions,
): Promise<{ args: string[]; http: number; serfLan: number }> {
  const [http, serfLan, serfWan, server] = await freePorts(4);
  const hcl = [
    'disable_update_check = true',
    'ports { dns = -1, grpc = -1 }',
    ...(options.acl
      ? [
          `acl { enabled = true, default_policy = "deny", enable_token_persistence = false, tokens { master = "${CONSUL_MASTER_TOKEN}", agent = "${CONSUL_MASTER_TOKEN}" } }`,
        ]
      : []),
    ...(options.hcl ?? []),
  ];
  const args = [
    'agent',
    '-node',
    `${name}-${randomUUID().slice(0, 8)}`,
    '-node-id',
    randomUUID(),
    '-bind',
    '127.0.0.1',
    '-client',
    '127.0.0.1',
    '-http-port',
    String(http),
    '-serf-lan-port',
    String(serfLan),
    '-serf-wan-port',
    String(serfWan),
    '-server-port',
    String(server),
    '-log-level',
    'info',
    ...hcl.flatMap((snippet) => ['-hcl', snippet]),
  ];
  void workDir;
  return { args, http: http!, serfLan: serfLan! };
}

/**
 * Starts `consul agent -dev` on free loopback ports (in-memory state: a restart resets its indexes)
 * and waits until it has a leader and its KV store answers. With `acl: true`, ACLs are on with
 * default policy `deny` and {@link CONSUL_MASTER_TOKEN} as the master token, which `agent.token`
 * holds and `agent.storeUrl` carries.
 */
export async function startConsul(options: ConsulOptions = {}): Promise<ConsulAgent> {
  const workDir = makeDir(`consul-dev-${randomUUID().slice(0, 8)}`);
  const { args, http, serfLan } = await consulArgs('dev', workDir, options);
  const agent = new ConsulAgent(
    'dev',
    ['agent', '-dev', ...args.slice(1)],
    workDir,
    http,
    serfLan,
    options.acl ? CONSUL_MASTER_TOKEN : undefined,
  );
  agent.start();
  try {
    await agent.waitReady();
  } catch (error) {
    await agent.kill();
    throw error;
  }
  return agent;
}

/** A Consul cluster, as {@link startConsulCluster} returns it. */
export interface ConsulCluster {
  /** Every server, each with its own kill, stop, pause, resume and restart. */
  servers: ConsulAgent[];
  /** `127.0.0.1:port` of every server's HTTP API. */
  addresses: string[];
  /** The store URL naming every server (the client fails over between them), with the token when ACLs are on. */
  storeUrl: string;
  /** The server that is raft leader now (waits up to 30 s for one). */
  leader(): Promise<ConsulAgent>;
  /** Stops every server. */
  stop(): Promise<void>;
}

/**
 * Starts `size` Consul servers on free loopback ports (with data folders, so a restart keeps state)
 * that form one cluster, and waits until every one is ready and registered its `serfHealth` check.
 */
export async function startConsulCluster(size = 3, options: ConsulOptions = {}): Promise<ConsulCluster> {
  const tag = randomUUID().slice(0, 8);
  const prepared = await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const workDir = makeDir(`consul-${tag}-s${i}`);
      return { workDir, ...(await consulArgs(`s${i}`, workDir, options)) };
    }),
  );
  const servers = prepared.map((spec, i) => {
    const joins = prepared
      .filter((_, j) => j !== i)
      .flatMap((other) => ['-retry-join', `127.0.0.1:${other.serfLan}`]);
    const args = [
      ...spec.args,
      '-server',
      '-bootstrap-expect',
      String(size),
      '-data-dir',
      `${spec.workDir}/data`,
      '-hcl',
      'performance { raft_multiplier = 1 }',
      ...joins,
    ];
    return new ConsulAgent(
      `s${i}`,
      args,
      spec.workDir,
      spec.http,
      spec.serfLan,
      options.acl ? CONSUL_MASTER_TOKEN : undefined,
    );
  });
  for (const server of servers) server.start();
  try {
    await Promise.all(servers.map((server) => server.waitReady(90_000)));
    await Promise.all(servers.map((server) => server.waitSerfHealth()));
  } catch (error) {
    await Promise.all(servers.map((server) => server.kill()));
    throw error;
  }
  return {
    servers,
    addresses: servers.map((server) => server.address),
    storeUrl: `consul://${servers.map((server) => server.address).join(',')}${options.acl ? `?token=${CONSUL_MASTER_TOKEN}` : ''}`,
    async leader() {
      let found: ConsulAgent | undefined;
      await waitUntil(
        async () => {
          const running = servers.filter((server) => server.running);
          const leader = JSON.parse((await probe(`${running[0]!.url}/v1/status/leader`)).body) as string;
          const serverPorts = await Promise.all(
            running.map(async (server) => {
              const self = JSON.parse(
                (
                  await probe(`${server.url}/v1/agent/self`, {
                    headers: server.token ? { 'X-Consul-Token': server.token } : {},
                  })
                ).body,
              ) as { Config?: { ServerPort?: number }; DebugConfig?: { ServerPort?: number } };
              return { server, port: self.DebugConfig?.ServerPort ?? self.Config?.ServerPort };
            }),
          );
          found = serverPorts.find(({ port }) => leader === `127.0.0.1:${port}`)?.server;
          return found !== undefined;
        },
        30_000,
        () => 'a consul leader',
      );
      return found!;
    },
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}
