import { randomUUID } from 'node:crypto';
import { resolveBinary } from './install.js';
import { freePorts, makeDir, ManagedProcess, probe, waitUntil } from './processes.js';

/**
 * One etcd member on 127.0.0.1, with the v2 API enabled (`--enable-v2`) and the v3 API (gRPC and
 * its JSON gateway) on the same client port.
 */
export class EtcdMember extends ManagedProcess {
  /**
   * Prepares a member; {@link startEtcd}, {@link startEtcdCluster} and {@link startCustomEtcd} make them.
   * @param clientUrl - its plain HTTP client URL, e.g. `http://127.0.0.1:23790`
   * @param peerUrl - its peer URL
   */
  constructor(
    name: string,
    args: string[],
    workDir: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
  ) {
    super(name, resolveBinary('etcd'), args, workDir);
  }

  /** `127.0.0.1:port`, the form users pass as a host. */
  get host(): string {
    return this.clientUrl.replace('http://', '');
  }

  /** The v2 store URL of this member: `etcd://127.0.0.1:port`. */
  get storeUrl(): string {
    return `etcd://${this.host}`;
  }

  /** The v3 store URL of this member: `etcd3://127.0.0.1:port` (same port as v2). */
  get v3StoreUrl(): string {
    return `etcd3://${this.host}`;
  }

  /** True when `/health` says so. */
  async healthy(): Promise<boolean> {
    const response = await probe(`${this.clientUrl}/health`);
    return response.status === 200 && (JSON.parse(response.body) as { health?: string }).health === 'true';
  }

  /** Resolves once the member is healthy and its v2 API answers; rejects with the log's tail after `timeoutMs`. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      async () => (await this.healthy()) && (await probe(`${this.clientUrl}/v2/keys/`)).status === 200,
      timeoutMs,
      () => `etcd ${this.name} at ${this.clientUrl}:\n${this.tail()}`,
    );
  }

  /** Stops the member if it runs, starts it with the same data folder and waits until it is ready. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    this.start();
    await this.waitReady();
  }
}

/** An etcd cluster, as {@link startEtcdCluster} returns it. */
export interface EtcdCluster {
  /** Every member, each with its own kill, stop, pause, resume and restart. */
  members: EtcdMember[];
  /** Client URLs of every member, e.g. `http://127.0.0.1:23790`. */
  clientUrls: string[];
  /** `127.0.0.1:port` of every member. */
  hosts: string[];
  /** The v2 store URL naming every member: `etcd://127.0.0.1:p1,127.0.0.1:p2,...`. */
  storeUrl: string;
  /** The v3 store URL naming every member: `etcd3://127.0.0.1:p1,...`. */
  v3StoreUrl: string;
  /** The member that is leader now (waits up to 30 s for one). */
  leader(): Promise<EtcdMember>;
  /** Stops every member. */
  stop(): Promise<void>;
}

/** Options of {@link startEtcd} and {@link startEtcdCluster}. */
export interface EtcdOptions {
  /** More etcd flags, e.g. `['--auto-compaction-retention', '1']`. */
  extraArgs?: string[];
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

/**
 * Starts one etcd member on free loopback ports and waits until its v2 API answers. Its v2 store
 * URL is `member.storeUrl`, its v3 one `member.v3StoreUrl`; `member.stop()` ends it (or
 * {@link stopAllServers} for every server of the process).
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdMember> {
  const [clientPort, peerPort] = await freePorts(2);
  const [member] = await launchEtcd(
    [{ name: 'solo', clientPort: clientPort!, peerPort: peerPort! }],
    options.extraArgs ?? [],
  );
  return member!;
}

/** Starts an etcd cluster of `size` members on 127.0.0.1 and waits until every member is healthy. */
export async function startEtcdCluster(size = 3, options: EtcdOptions = {}): Promise<EtcdCluster> {
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
    storeUrl: `etcd://${members.map((member) => member.host).join(',')}`,
    v3StoreUrl: `etcd3://${members.map((member) => member.host).join(',')}`,
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
): Promise<{
  /** The running member. */
  member: EtcdMember;
  /** The port of its plain HTTP client listener, `http://127.0.0.1:<http>`. */
  http: number;
  /** The second free port, used as `build` chose (e.g. for a TLS listener). */
  extra: number;
}> {
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
