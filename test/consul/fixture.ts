import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { ConsulClient, isConsulError, type ConsulClientOptions, type ConsulError } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';
import { startConsulDev, type ConsulAgent, type ConsulOptions } from '../helpers/servers.js';

/** A real dev agent with ACLs on, a client with the master token, and one with a token that has no policy. */
export interface AclFixture {
  agent: ConsulAgent;
  consul: ConsulClient;
  /** A real token with no policy: the default policy (deny) applies to it. */
  noRights: ConsulClient;
  /** The secret of `noRights`' token. */
  noRightsToken: string;
  /** Another client of the agent (with the master token unless `token`), closed with the fixture. */
  client(token?: string): ConsulClient;
  /** Closes every client of the fixture (the agent stops with the test process's servers). */
  close(): Promise<void>;
}

export async function startAclFixture(options: Omit<ConsulOptions, 'acl'> = {}): Promise<AclFixture> {
  const agent = await startConsulDev({ ...options, acl: true });
  const consul = new ConsulClient({ address: agent.address, token: agent.token });
  const token = await consul.request<{ SecretID: string }>({
    method: 'PUT',
    path: '/v1/acl/token',
    body: { Description: 'no policies' },
  });
  const noRightsToken = token.data.SecretID;
  const clients = [consul, new ConsulClient({ address: agent.address, token: noRightsToken })];
  return {
    agent,
    consul,
    noRights: clients[1]!,
    noRightsToken,
    client(secret = agent.token) {
      const made = new ConsulClient({
        address: agent.address,
        ...(secret !== undefined ? { token: secret } : {}),
      });
      clients.push(made);
      return made;
    },
    close: () => closeClients(...clients),
  };
}

/**
 * An ACL fixture for the enclosing `describe`: started in a `before` and handed to `use` (to fill
 * the suite's variables), its clients closed in an `after`.
 */
export function useAclFixture(
  use: (fixture: AclFixture) => void,
  options: Omit<ConsulOptions, 'acl'> = {},
): void {
  let fixture: AclFixture | undefined;
  before(async () => {
    fixture = await startAclFixture(options);
    use(fixture);
  });
  after(() => fixture?.close());
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

/** Asserts that `promise` rejects with a ConsulError of `code` (and `status`), and returns it. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  status?: number,
): Promise<ConsulError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(isConsulError(caught), `a ConsulError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (status !== undefined) assert.equal(caught.statusCode, status);
  return caught;
}

/**
 * A scripted agent (a fake server) and a client of it, for the enclosing `describe`: started in a
 * `before` and handed to `use`, closed in an `after`.
 */
export function useFakeAgent(
  use: (fake: FakeServer, client: ConsulClient) => void,
  options: Omit<ConsulClientOptions, 'address'> = {},
): void {
  let fake: FakeServer | undefined;
  let client: ConsulClient | undefined;
  before(async () => {
    fake = await FakeServer.start();
    client = new ConsulClient({ address: fake.address, ...options });
    use(fake, client);
  });
  after(async () => {
    await client?.close();
    await fake?.close();
  });
}

/** The ConsulError a call rejects with (fails the test if it resolves). */
export async function failure(call: Promise<unknown>): Promise<ConsulError> {
  try {
    await call;
  } catch (error) {
    assert.ok(isConsulError(error), `a ConsulError, got ${String(error)}`);
    return error;
  }
  assert.fail('the call should have failed');
}
