import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type CatalogRegistration, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { type ConsulAgent } from '../helpers/servers.js';
import { closeClients, startAclFixture } from './fixture.js';

after(stopAllServers);

function registration(status: 'passing' | 'critical', output: string): CatalogRegistration {
  return {
    Node: 'ext-h',
    Address: '10.0.1.5',
    Service: { ID: 'api-1', Service: 'api', Tags: ['v1'], Port: 9000 },
    Check: { CheckID: 'api-1-alive', Name: 'api alive', Status: status, Output: output, ServiceID: 'api-1' },
  };
}

describe('health against a real Consul 1.8.7 agent (ACLs on)', () => {
  let agent: ConsulAgent;
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ agent, consul, noRights } = await startAclFixture());
    await consul.catalog.register(registration('passing', 'ok'));
  });
  after(() => closeClients(consul, noRights));

  it('sees a service and its check registered through the catalog', async () => {
    const service = await consul.health.service('api');
    assert.equal(service.data.length, 1);
    const entry = service.data[0]!;
    assert.equal(entry.Node.Node, 'ext-h');
    assert.equal(entry.Service.ID, 'api-1');
    assert.deepEqual(
      entry.Checks.map((check) => [check.CheckID, check.Status]),
      [['api-1-alive', 'passing']],
    );
    assert.equal(service.meta.effectiveConsistency, 'leader');
    assert.equal((await consul.health.service('api', { passing: true, tag: 'v1' })).data.length, 1);
    assert.deepEqual((await consul.health.service('api', { tag: 'v2' })).data, []);

    const checks = await consul.health.checks('api');
    assert.deepEqual(
      checks.data.map((check) => check.Output),
      ['ok'],
    );
    const node = await consul.health.node('ext-h');
    assert.deepEqual(
      node.data.map((check) => check.CheckID),
      ['api-1-alive'],
    );
    assert.deepEqual((await consul.health.node('missing')).data, []);
    const passing = await consul.health.state('passing');
    assert.ok(passing.data.some((check) => check.CheckID === 'api-1-alive'));
    assert.ok((await consul.health.state('any')).data.some((check) => check.CheckID === 'serfHealth'));
    assert.deepEqual((await consul.health.connect('api')).data, []);
    assert.deepEqual((await consul.health.ingress('api')).data, []);
  });

  it('answers from the agent cache with cached: true (X-Cache, Age)', async () => {
    const first = await consul.health.service('api', { cached: true });
    assert.equal(typeof first.meta.cacheHit, 'boolean');
    const second = await consul.health.service('api', { cached: true });
    assert.equal(second.meta.cacheHit, true);
    assert.equal(typeof second.meta.cacheAge, 'number');
    assert.deepEqual(second.data, first.data);
    // Without `cached`, the agent forwards to the servers and sends no cache headers.
    assert.equal((await consul.health.service('api')).meta.cacheHit, undefined);
  });

  it('wakes a blocking health read when a check changes', async () => {
    const current = await consul.health.service('api');
    const waiting = consul.health.service('api', { index: current.meta.index, wait: '60s' });
    await consul.catalog.register(registration('critical', 'down'));
    const woken = await waiting;
    assert.ok((woken.meta.index ?? 0) > (current.meta.index ?? 0));
    assert.equal(woken.data[0]?.Checks[0]?.Status, 'critical');
    assert.deepEqual((await consul.health.service('api', { passing: true })).data, []);
    const critical = await consul.health.state('critical');
    assert.deepEqual(
      critical.data.map((check) => check.CheckID),
      ['api-1-alive'],
    );
    await consul.catalog.register(registration('passing', 'ok'));
  });

  it('filters what a token may not read (Consul 1.8: 200 with less, no 403), and refuses unknown tokens', async () => {
    assert.deepEqual((await noRights.health.service('api')).data, []);
    assert.deepEqual((await noRights.health.node('ext-h')).data, []);
    const stranger = new ConsulClient({
      address: agent.address,
      token: 'c0ffee00-0000-4000-8000-0000000000ff',
    });
    try {
      await assert.rejects(
        stranger.health.service('api'),
        (error: ConsulError) =>
          error.code === 'CONSUL_PERMISSION_DENIED' &&
          error.statusCode === 403 &&
          error.path === '/v1/health/service/api' &&
          !error.message.includes('c0ffee00'),
      );
    } finally {
      await stranger.close();
    }
  });
});
