import { startEtcdCluster, type EtcdCluster } from '../helpers/servers.js';

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
