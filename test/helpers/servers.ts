import { randomUUID } from 'node:crypto';
import { freePorts, makeDir, ManagedProcess, probe, repoPath, waitUntil } from './processes.js';

// The installer and the helpers share one cache layout (scripts/server-paths.mjs).
const paths = (await import(repoPath('scripts/server-paths.mjs'))) as { serverBinary(kind: string): string };

function binary(kind: 'etcd' | 'consul'): string {
  return paths.serverBinary(kind);
}

// ---------------------------------------------------------------------------------------------
// etcd

/** One etcd member, with the v2 API enabled. */
export class EtcdMember extends ManagedProcess {
  constructor(
    name: string,
    args: string[],
    workDir: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
  ) {
    super(name, binary('etcd'), args, workDir);
  }

  /** `127.0.0.1:port`, the form users pass as a host. */
  get host(): string {
    return this.clientUrl.replace('http://', '');
  }

  async healthy(): Promise<boolean> {
    const response = await probe(`${this.clientUrl}/health`);
    return response.status === 200 && (JSON.parse(response.body) as { health?: string }).health === 'true';
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => (await this.healthy()) && (await probe(`${this.clientUrl}/v2/keys/`)).status === 200,
      timeoutMs,
      () => `etcd ${this.name} at ${this.clientUrl}:\n${this.tail()}`,
    );
  }

  async restart(): Promise<void> {
    if (this.running) await this.stop();
    this.start();
    await this.waitReady();
  }
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member, e.g. `http://127.0.0.1:23790`. */
  clientUrls: string[];
  hosts: string[];
  /** The member that is leader now. */
  leader(): Promise<EtcdMember>;
  stop(): Promise<void>;
}

interface EtcdSpec {
  name: string;
  clientPort: number;
  peerPort: number;
}

async function launchEtcd(specs: EtcdSpec[], extraArgs: string[]): Promise<EtcdMember[]> {
  const token = `polykv-${randomUUID()}`;
  const initialCluster = specs.map((spec) => `${spec.name}=http://127.0.0.1:${spec.peerPort}`).join(',');
  const members = specs.map((spec) => {
    const workDir = makeDir(`etcd-${token.slice(7, 15)}-${spec.name}`);
    const clientUrl = `http://127.0.0.1:${spec.clientPort}`;
    const peerUrl = `http://127.0.0.1:${spec.peerPort}`;
    const args = [
      '--name',
      spec.name,
      '--data-dir',
      `${workDir}/data`,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      token,
      '--enable-v2=true',
      ...extraArgs,
    ];
    return new EtcdMember(spec.name, args, workDir, clientUrl, peerUrl);
  });
  for (const member of members) member.start();
  try {
    await Promise.all(members.map((member) => member.waitReady()));
  } catch (error) {
    await Promise.all(members.map((member) => member.kill()));
    throw error;
  }
  return members;
}

/** Starts one etcd member on free ports and waits until its v2 API answers. */
export async function startEtcd(options: { extraArgs?: string[] } = {}): Promise<EtcdMember> {
  const [clientPort, peerPort] = await freePorts(2);
  const [member] = await launchEtcd(
    [{ name: 'solo', clientPort: clientPort!, peerPort: peerPort! }],
    options.extraArgs ?? [],
  );
  return member!;
}

/** Starts an etcd cluster of `size` members on 127.0.0.1 and waits until every member is healthy. */
export async function startEtcdCluster(
  size = 3,
  options: { extraArgs?: string[] } = {},
): Promise<EtcdCluster> {
  const ports = await freePorts(size * 2);
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientPort: ports[i * 2]!,
    peerPort: ports[i * 2 + 1]!,
  }));
  const members = await launchEtcd(specs, options.extraArgs ?? []);
  return {
    members,
    clientUrls: members.map((member) => member.clientUrl),
    hosts: members.map((member) => member.host),
    async leader() {
      let found: EtcdMember | undefined;
      await waitUntil(
        async () => {
          for (const member of members.filter((m) => m.running)) {
            const self = JSON.parse((await probe(`${member.clientUrl}/v2/stats/self`)).body) as {
              state?: string;
            };
            if (self.state === 'StateLeader') {
              found = member;
              return true;
            }
          }
          return false;
        },
        30_000,
        () => 'an etcd leader',
      );
      return found!;
    },
    async stop() {
      await Promise.all(members.map((member) => member.stop()));
    },
  };
}

/**
 * One etcd member with its own client listeners: `build` gets two free ports and returns the
 * `--listen-client-urls` and `--advertise-client-urls` (and any extra flags). The member is ready
 * once a plain HTTP listener on `http://127.0.0.1:<http>` (which `build` must include; the
 * readiness probe uses it) answers.
 */
export async function startCustomEtcd(
  build: (ports: { http: number; extra: number }) => {
    listen: string[];
    advertise: string[];
    args?: string[];
  },
): Promise<{ member: EtcdMember; http: number; extra: number }> {
  const [http, extra, peer] = await freePorts(3);
  const spec = build({ http: http!, extra: extra! });
  const name = 'custom';
  const workDir = makeDir(`etcd-custom-${randomUUID().slice(0, 8)}`);
  const peerUrl = `http://127.0.0.1:${peer}`;
  const member = new EtcdMember(
    name,
    [
      '--name',
      name,
      '--data-dir',
      `${workDir}/data`,
      '--listen-client-urls',
      spec.listen.join(','),
      '--advertise-client-urls',
      spec.advertise.join(','),
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `${name}=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      '--enable-v2=true',
      ...(spec.args ?? []),
    ],
    workDir,
    `http://127.0.0.1:${http}`,
    peerUrl,
  );
  member.start();
  try {
    await member.waitReady();
  } catch (error) {
    await member.kill();
    throw error;
  }
  return { member, http: http!, extra: extra! };
}

// ---------------------------------------------------------------------------------------------
// Consul

export const CONSUL_MASTER_TOKEN = 'c0ffee00-0000-4000-8000-000000000001';

export interface ConsulOptions {
  /** Turn ACLs on with default policy `deny` and {@link CONSUL_MASTER_TOKEN} as the master token. */
  acl?: boolean;
  /** Extra HCL snippets, e.g. `session_ttl_min = "1s"`. */
  hcl?: string[];
}

/** One Consul agent (a dev agent, or a server of a cluster). */
export class ConsulAgent extends ManagedProcess {
  constructor(
    name: string,
    args: string[],
    workDir: string,
    readonly httpPort: number,
    readonly serfLanPort: number,
    readonly token: string | undefined,
  ) {
    super(name, binary('consul'), args, workDir);
  }

  get address(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get url(): string {
    return `http://${this.address}`;
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

/** Starts `consul agent -dev` on free ports (in-memory state: a restart resets its indexes). */
export async function startConsulDev(options: ConsulOptions = {}): Promise<ConsulAgent> {
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

export interface ConsulCluster {
  servers: ConsulAgent[];
  addresses: string[];
  /** The server that is raft leader now. */
  leader(): Promise<ConsulAgent>;
  stop(): Promise<void>;
}

/** Starts `size` Consul servers (with data folders, so a restart keeps state) that form one cluster. */
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
