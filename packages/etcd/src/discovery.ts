import { openConnection } from './connection.js';
import { EtcdError } from './errors.js';
import type { EtcdClientOptions } from './options.js';
import type { EtcdMember } from './api/members.js';
import type { EtcdResult } from './api/keys.js';

/**
 * Resolves an etcd discovery URL (`https://discovery.etcd.io/<token>`, or a key URL of any etcd
 * that holds a discovery registry, `http://h:2379/v2/keys/_etcd/registry/<token>`) to the
 * cluster's client URLs.
 *
 * The registry holds one key per member whose value is `name=peerURL[,peerURL...]`: peer URLs,
 * not client URLs. So each peer is asked for the member list on its peer port (`GET /members`,
 * which every etcd member serves there), and the members' client URLs are returned. Peers that do
 * not answer are skipped; when none answers, the call rejects.
 */
export async function discoverHosts(
  url: string,
  options: Omit<EtcdClientOptions, 'hosts' | 'refresh'> & { timeout?: number } = {},
): Promise<string[]> {
  const target = new URL(url);
  const client = openConnection(
    { ...options, hosts: target.origin, maxRetries: options.maxRetries ?? 1 },
    () => false,
  );
  try {
    const registry = await client.request<EtcdResult>({
      method: 'GET',
      path: `${target.pathname}${target.search}`,
      idempotent: true,
      timeout: options.timeout ?? 10_000,
    });
    const peers = (registry.body.node?.nodes ?? [])
      .flatMap((node) => {
        const value = node.value ?? '';
        const equals = value.indexOf('=');
        return (equals === -1 ? value : value.slice(equals + 1)).split(',');
      })
      .map((peer) => peer.trim())
      .filter((peer) => peer !== '');
    if (peers.length === 0)
      throw new EtcdError({
        code: 'ETCD_UNAVAILABLE',
        message: `the discovery registry ${target.origin}${target.pathname} lists no member`,
      });
    const failures: string[] = [];
    const clientUrls = new Set<string>();
    for (const peer of peers) {
      try {
        const response = await client.request<EtcdMember[] | { members: EtcdMember[] }>({
          method: 'GET',
          path: '/members',
          idempotent: true,
          host: new URL(peer).origin,
          timeout: options.timeout ?? 5000,
        });
        const members = Array.isArray(response.body) ? response.body : (response.body.members ?? []);
        for (const member of members)
          for (const clientUrl of member.clientURLs ?? []) clientUrls.add(clientUrl);
        if (clientUrls.size > 0) break;
      } catch (error) {
        failures.push(`${peer}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (clientUrls.size === 0)
      throw new EtcdError({
        code: 'ETCD_UNAVAILABLE',
        message: `no discovered peer answered: ${failures.join('; ')}`,
      });
    return [...clientUrls];
  } finally {
    if (client.ownDispatcher) await client.dispatcher.destroy();
  }
}
