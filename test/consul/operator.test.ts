import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev } from '../helpers/servers.js';
import { closeClients, hasCode, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('operator against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
  });
  after(() => closeClients(consul, noRights));

  it('shows the one server in the raft configuration', async () => {
    const raft = await consul.operator.raft.configuration();
    assert.equal(raft.Servers.length, 1);
    const [server] = raft.Servers;
    assert.equal(server?.Leader, true);
    assert.equal(server?.Voter, true);
    assert.equal(server?.Address, await consul.status.leader());
    assert.equal((await consul.operator.raft.configuration({ stale: true })).Servers.length, 1);
  });

  it('refuses to remove a raft peer that is not there (500, the body kept)', async () => {
    await assert.rejects(
      consul.operator.raft.removePeer({ address: '127.0.0.1:1' }),
      (error: ConsulError) =>
        error.code === 'CONSUL_HTTP_STATUS' &&
        error.statusCode === 500 &&
        /not found in the Raft configuration/.test(error.body ?? ''),
    );
    await assert.rejects(
      consul.operator.raft.removePeer({ id: '00000000-0000-4000-8000-000000000000' }),
      hasCode('CONSUL_HTTP_STATUS'),
    );
  });

  it('reads and CAS-writes the autopilot configuration', async () => {
    const config = await consul.operator.autopilot.getConfiguration();
    assert.equal(typeof config.CleanupDeadServers, 'boolean');
    const modifyIndex = config.ModifyIndex ?? 0;
    const changed = { ...config, MaxTrailingLogs: config.MaxTrailingLogs + 100 };
    delete changed.CreateIndex;
    delete changed.ModifyIndex;
    // A CAS miss is `false`, not an error.
    assert.equal(
      await consul.operator.autopilot.setConfiguration(changed, { cas: modifyIndex + 1000 }),
      false,
    );
    assert.equal(await consul.operator.autopilot.setConfiguration(changed, { cas: modifyIndex }), true);
    const read = await consul.operator.autopilot.getConfiguration();
    assert.equal(read.MaxTrailingLogs, config.MaxTrailingLogs + 100);
    assert.equal(read.LastContactThreshold, config.LastContactThreshold);
    assert.equal(
      await consul.operator.autopilot.setConfiguration({
        ...changed,
        MaxTrailingLogs: config.MaxTrailingLogs,
      }),
      true,
    );
  });

  it('reads autopilot health: 200 when healthy, 429 when not, the same body either way', async () => {
    // A fresh server is not healthy until it has been stable for ServerStabilizationTime: Consul
    // says so with a 429, which the method resolves like a 200.
    const raw = await consul.request<{ Healthy: boolean }>({
      method: 'GET',
      path: '/v1/operator/autopilot/health',
      ok: [200, 429],
    });
    assert.equal(raw.status, raw.data.Healthy ? 200 : 429);
    let health = await consul.operator.autopilot.health();
    for (let tries = 0; !health.Healthy && tries < 240; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      health = await consul.operator.autopilot.health();
    }
    assert.equal(health.Healthy, true);
    assert.equal(health.Servers?.length, 1);
    assert.equal(health.Servers[0]?.Leader, true);
    assert.equal(health.Servers[0]?.Healthy, true);
    assert.equal(health.Servers[0]?.Version, '1.8.7');
  });

  it('fails keyring calls on an agent without gossip encryption (500, body kept)', async () => {
    await assert.rejects(
      consul.operator.keyring.list(),
      (error: ConsulError) =>
        error.code === 'CONSUL_HTTP_STATUS' &&
        error.statusCode === 500 &&
        (error.body ?? '').includes('Keyring is empty (encryption not enabled)'),
    );
  });

  it('denies a token without operator or keyring rights', async () => {
    await assert.rejects(noRights.operator.raft.configuration(), hasCode('CONSUL_PERMISSION_DENIED'));
    await assert.rejects(noRights.operator.autopilot.getConfiguration(), hasCode('CONSUL_PERMISSION_DENIED'));
    await assert.rejects(
      noRights.operator.autopilot.setConfiguration({ CleanupDeadServers: true }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await assert.rejects(noRights.operator.autopilot.health(), hasCode('CONSUL_PERMISSION_DENIED'));
    // Consul 1.8 refuses keyring access with a 500 ("... denied by ACLs"); the client reports it as
    // a permission error.
    await assert.rejects(
      noRights.operator.keyring.list(),
      (error: ConsulError) =>
        error.code === 'CONSUL_PERMISSION_DENIED' &&
        error.statusCode === 500 &&
        /denied by ACLs/.test(error.body ?? ''),
    );
    await assert.rejects(
      noRights.operator.keyring.install(randomBytes(32).toString('base64')),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await assert.rejects(
      noRights.operator.raft.removePeer({ address: '127.0.0.1:1' }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
  });
});

describe('operator keyring against an agent with gossip encryption (ACLs on)', () => {
  const first = randomBytes(32).toString('base64');
  const second = randomBytes(32).toString('base64');
  let consul: ConsulClient;

  before(async () => {
    const agent = await startConsulDev({ acl: true, hcl: [`encrypt = "${first}"`] });
    consul = new ConsulClient({ address: agent.address, token: agent.token });
  });
  after(async () => {
    await consul?.close();
  });

  it('lists, installs, uses and removes gossip keys', async () => {
    const pools = await consul.operator.keyring.list();
    // One WAN pool and one LAN pool, each with the key the agent started with.
    assert.deepEqual(pools.map((pool) => pool.WAN).sort(), [false, true]);
    for (const pool of pools) assert.deepEqual(Object.keys(pool.Keys), [first]);

    await consul.operator.keyring.install(second);
    for (const pool of await consul.operator.keyring.list()) {
      assert.deepEqual(Object.keys(pool.Keys).sort(), [first, second].sort());
      assert.deepEqual(Object.keys(pool.PrimaryKeys ?? {}), [first]);
    }

    await consul.operator.keyring.use(second);
    // The primary key cannot be removed.
    await assert.rejects(consul.operator.keyring.remove(second), hasCode('CONSUL_HTTP_STATUS'));
    await consul.operator.keyring.remove(first, { relayFactor: 1 });
    for (const pool of await consul.operator.keyring.list({ relayFactor: 1 })) {
      assert.deepEqual(Object.keys(pool.Keys), [second]);
      assert.deepEqual(Object.keys(pool.PrimaryKeys ?? {}), [second]);
    }
    // `local-only` came with Consul 1.10: 1.8 ignores it and still lists the WAN pool too.
    const local = await consul.operator.keyring.list({ localOnly: true });
    assert.deepEqual(local.map((pool) => pool.WAN).sort(), [false, true]);
  });
});
