import { ConsulClient, type ConsulError } from '@polykv/consul';
import { startConsulDev, type ConsulAgent, type ConsulOptions } from '../helpers/servers.js';

/** A real dev agent with ACLs on, a client with the master token, and one with a token that has no policy. */
export interface AclFixture {
  agent: ConsulAgent;
  consul: ConsulClient;
  /** A real token with no policy: the default policy (deny) applies to it. */
  noRights: ConsulClient;
}

export async function startAclFixture(options: Omit<ConsulOptions, 'acl'> = {}): Promise<AclFixture> {
  const agent = await startConsulDev({ ...options, acl: true });
  const consul = new ConsulClient({ address: agent.address, token: agent.token });
  const token = await consul.request<{ SecretID: string }>({
    method: 'PUT',
    path: '/v1/acl/token',
    body: { Description: 'no policies' },
  });
  const noRights = new ConsulClient({ address: agent.address, token: token.data.SecretID });
  return { agent, consul, noRights };
}

/** Closes clients that a `before()` may or may not have made. */
export async function closeClients(...clients: (ConsulClient | undefined)[]): Promise<void> {
  await Promise.all(clients.filter((client) => client !== undefined).map((client) => client.close()));
}

/** For `assert.rejects`: the error is a ConsulError with this code. */
export const hasCode =
  (code: string) =>
  (error: unknown): boolean =>
    (error as ConsulError).code === code;
