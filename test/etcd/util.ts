import { after, before } from 'node:test';
import { EtcdClient } from '@polykv/etcd';
import { startEtcd, startEtcdCluster, type EtcdCluster, type EtcdMember } from '../helpers/servers.js';
import { eventually as waitUntil } from '../helpers/eventually.js';

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

export const eventually = (
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> => waitUntil(check, what, { ms });

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
