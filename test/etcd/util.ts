import { randomUUID } from 'node:crypto';
import { freePorts, makeDir } from '../helpers/processes.js';
import { EtcdMember, startEtcdCluster, type EtcdCluster } from '../helpers/servers.js';

/**
 * A 3-member cluster; a second try when the first start times out (two test files start clusters
 * at once on two cores). A cluster that cannot start still fails the test.
 */
export async function startCluster(size = 3): Promise<EtcdCluster> {
  try {
    return await startEtcdCluster(size);
  } catch {
    return startEtcdCluster(size);
  }
}

/** Polls until `check` is true; fails with `what` after `ms` (a liveness bound, not a timing assertion). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function portOf(host: string): number {
  return Number(host.slice(host.lastIndexOf(':') + 1));
}

/**
 * One etcd member with extra client listeners: `clientUrls(httpPort, extraPort)` gives the
 * `--listen-client-urls` / `--advertise-client-urls` pair. The member is ready once its plain
 * HTTP listener (`http://127.0.0.1:httpPort`, which the readiness probe uses) answers.
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
