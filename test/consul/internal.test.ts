import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, startAclFixture } from './fixture.js';

after(stopAllServers);

// The /v1/internal routes are undocumented: these tests pin what 1.8.7 answers.
describe('internal (UI) routes against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;
  let nodeName: string;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
    nodeName = (await consul.catalog.nodes()).data[0]!.Node;
    await consul.catalog.register({
      Node: 'ext-ui',
      Address: '10.0.4.1',
      Service: { ID: 'web', Service: 'web', Port: 80 },
      Check: { CheckID: 'web-alive', Name: 'web alive', Status: 'warning', ServiceID: 'web' },
    });
  });
  after(() => closeClients(consul, noRights));

  it('lists nodes and services the way the UI shows them', async () => {
    const nodes = await consul.internal.uiNodes();
    assert.deepEqual(nodes.data.map((node) => node.Node).sort(), [nodeName, 'ext-ui'].sort());
    const ext = nodes.data.find((node) => node.Node === 'ext-ui');
    assert.deepEqual(
      ext?.Services?.map((service) => service.Service),
      ['web'],
    );

    const node = await consul.internal.uiNode('ext-ui');
    assert.equal(node.data?.Address, '10.0.4.1');
    assert.deepEqual(
      node.data?.Checks?.map((check) => check.Status),
      ['warning'],
    );
    assert.equal((await consul.internal.uiNode('missing')).data, null);

    const services = await consul.internal.uiServices();
    const web = services.data.find((service) => service.Name === 'web');
    assert.equal(web?.InstanceCount, 1);
    assert.equal(web?.ChecksWarning, 1);
    assert.ok(services.data.some((service) => service.Name === 'consul'));
    assert.ok((services.meta.index ?? 0) > 0);

    assert.deepEqual((await consul.internal.uiGatewayServicesNodes('no-gateway')).data, []);
  });

  it('answers ACL authorization questions for the calling token', async () => {
    const questions = [
      { Resource: 'service', Segment: 'web', Access: 'read' },
      { Resource: 'operator', Access: 'write' },
    ];
    const root = await consul.internal.aclAuthorize(questions);
    assert.deepEqual(
      root.map((answer) => answer.Allow),
      [true, true],
    );
    // A token without rights gets answers, not a 403.
    const none = await noRights.internal.aclAuthorize(questions);
    assert.deepEqual(
      none.map((answer) => [answer.Resource, answer.Allow]),
      [
        ['service', false],
        ['operator', false],
      ],
    );
  });

  it('reads the federation states of the datacenter', async () => {
    // The leader writes its datacenter's state shortly after it is elected: block until it is there.
    let states = await consul.internal.federationStates();
    for (let round = 0; round < 10 && states.data.length === 0; round++) {
      states = await consul.internal.federationStates({ index: states.meta.index, wait: '10s' });
    }
    assert.deepEqual(
      states.data.map((state) => state.Datacenter),
      ['dc1'],
    );
    const state = await consul.internal.federationState('dc1');
    assert.equal(state.data?.State.Datacenter, 'dc1');
    assert.equal((await consul.internal.federationState('dc9')).data, null);
    assert.deepEqual((await consul.internal.federationStateMeshGateways()).data, {});
  });

  it('filters what a token may not read, and refuses operator reads', async () => {
    assert.deepEqual((await noRights.internal.uiNodes()).data, []);
    assert.deepEqual((await noRights.internal.uiServices()).data, []);
    await assert.rejects(
      noRights.internal.federationStates(),
      (error: ConsulError) => error.code === 'CONSUL_PERMISSION_DENIED',
    );
  });
});
