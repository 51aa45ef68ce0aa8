import { after, before } from 'node:test';
import { EtcdClient } from '@polykv/etcd';
import { startEtcd, startEtcdCluster, type EtcdCluster, type EtcdMember } from '../helpers/servers.js';

export { startCustomEtcd } from '../helpers/servers.js';

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
 * A member and a client of it for the enclosing `describe`: started in a `before` and handed to
 * `use`, the client closed in an `after` (the member stops with the test process's servers).
 */
export function useMember(use: (member: EtcdMember, client: EtcdClient) => void): void {
  let client: EtcdClient | undefined;
  before(async () => {
    const member = await startEtcd();
    client = new EtcdClient({ hosts: member.host });
    use(member, client);
  });
  after(() => client?.close());
}
