import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { type ConsulAgent } from '../helpers/servers.js';
import { closeClients, hasCode, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('catalog against a real Consul 1.8.7 agent (ACLs on)', () => {
  let agent: ConsulAgent;
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ agent, consul, noRights } = await startAclFixture());
  });
  after(() => closeClients(consul, noRights));

  it('registers a node with a service and a check, reads them back, and deregisters them', async () => {
    const registered = await consul.catalog.register({
      Node: 'ext-1',
      Address: '10.0.0.5',
      NodeMeta: { rack: 'a' },
      Service: { ID: 'web-1', Service: 'web', Tags: ['v1', 'blue'], Port: 8080 },
      Check: { CheckID: 'web-1-alive', Name: 'web alive', Status: 'passing', ServiceID: 'web-1' },
    });
    assert.equal(registered, true);

    assert.deepEqual(await consul.catalog.datacenters(), ['dc1']);

    const nodes = await consul.catalog.nodes();
    assert.ok(nodes.data.some((node) => node.Node === 'ext-1' && node.Address === '10.0.0.5'));
    assert.equal(nodes.meta.effectiveConsistency, 'leader');
    assert.ok((nodes.meta.index ?? 0) > 0);
    const byMeta = await consul.catalog.nodes({ nodeMeta: { rack: 'a' } });
    assert.deepEqual(
      byMeta.data.map((node) => node.Node),
      ['ext-1'],
    );

    const services = await consul.catalog.services();
    assert.deepEqual([...(services.data.web ?? [])].sort(), ['blue', 'v1']);
    assert.ok('consul' in services.data);

    const web = await consul.catalog.service('web', { tag: 'v1' });
    assert.equal(web.data.length, 1);
    assert.equal(web.data[0]?.ServiceID, 'web-1');
    assert.equal(web.data[0]?.ServicePort, 8080);
    assert.equal(web.meta.effectiveConsistency, 'leader');
    assert.equal((await consul.catalog.service('web', { tag: ['v1', 'blue'] })).data.length, 1);
    assert.deepEqual((await consul.catalog.service('web', { tag: 'v2' })).data, []);
    assert.deepEqual((await consul.catalog.connect('web')).data, []);

    const node = await consul.catalog.node('ext-1');
    assert.equal(node.data?.Node.Address, '10.0.0.5');
    assert.equal(node.data?.Services['web-1']?.Port, 8080);
    const list = await consul.catalog.nodeServices('ext-1');
    assert.deepEqual(
      list.data?.Services.map((service) => service.ID),
      ['web-1'],
    );
    assert.equal((await consul.catalog.node('missing')).data, null);
    assert.equal((await consul.catalog.nodeServices('missing')).data, null);
    assert.deepEqual((await consul.catalog.gatewayServices('no-gateway')).data, []);

    assert.equal(await consul.catalog.deregister({ Node: 'ext-1', ServiceID: 'web-1' }), true);
    assert.deepEqual((await consul.catalog.service('web')).data, []);
    assert.equal(await consul.catalog.deregister({ Node: 'ext-1' }), true);
    assert.equal((await consul.catalog.node('ext-1')).data, null);
  });

  it('blocks on the catalog index until a registration changes it', async () => {
    const before = await consul.catalog.service('blocking');
    assert.deepEqual(before.data, []);
    const waiting = consul.catalog.service('blocking', { index: before.meta.index, wait: '30s' });
    await consul.catalog.register({ Node: 'ext-2', Address: '10.0.0.6', Service: { Service: 'blocking' } });
    const woken = await waiting;
    assert.equal(woken.data.length, 1);
    assert.ok((woken.meta.index ?? 0) > (before.meta.index ?? 0));
    await consul.catalog.deregister({ Node: 'ext-2' });
  });

  it('denies writes to a token without rights, and filters its listings silently (Consul 1.8: no 403)', async () => {
    await assert.rejects(
      noRights.catalog.register({ Node: 'ext-3', Address: '10.0.0.7' }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await consul.catalog.register({ Node: 'ext-3', Address: '10.0.0.7', Service: { Service: 'hidden' } });
    assert.deepEqual((await noRights.catalog.nodes()).data, []);
    assert.deepEqual((await noRights.catalog.services()).data, {});
    assert.deepEqual((await noRights.catalog.service('hidden')).data, []);
    // A token Consul does not know is refused outright, listings included.
    const stranger = new ConsulClient({
      address: agent.address,
      token: 'c0ffee00-0000-4000-8000-0000000000ff',
    });
    try {
      await assert.rejects(
        stranger.catalog.nodes(),
        (error: ConsulError) => error.code === 'CONSUL_PERMISSION_DENIED' && error.body === 'ACL not found',
      );
    } finally {
      await stranger.close();
    }
    await consul.catalog.deregister({ Node: 'ext-3' });
  });
});
