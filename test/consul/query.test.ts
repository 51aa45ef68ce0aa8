import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, hasCode, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('prepared queries against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
    for (const [node, address, status] of [
      ['ext-q1', '10.0.3.1', 'passing'],
      ['ext-q2', '10.0.3.2', 'passing'],
      ['ext-q3', '10.0.3.3', 'critical'],
    ] as const) {
      await consul.catalog.register({
        Node: node,
        Address: address,
        Service: { ID: 'web', Service: 'web', Tags: ['v1'], Port: 8080 },
        Check: { CheckID: 'web-alive', Name: 'web alive', Status: status, ServiceID: 'web' },
      });
    }
  });
  after(() => closeClients(consul, noRights));

  it('creates, lists, reads, updates, executes, explains and deletes a query', async () => {
    const { ID } = await consul.query.create({ Name: 'web-q', Service: { Service: 'web', Tags: ['v1'] } });
    assert.match(ID, /^[0-9a-f-]{36}$/);

    const list = await consul.query.list();
    assert.deepEqual(
      list.data.map((query) => [query.ID, query.Name]),
      [[ID, 'web-q']],
    );
    const read = await consul.query.get(ID);
    assert.equal(read.data?.Service.Service, 'web');
    assert.deepEqual(read.data?.Service.Tags, ['v1']);

    // Critical instances are left out of the answer.
    const all = await consul.query.execute(ID);
    assert.equal(all.data.Service, 'web');
    assert.equal(all.data.Datacenter, 'dc1');
    assert.equal(all.data.Failovers, 0);
    assert.deepEqual(all.data.Nodes.map((entry) => entry.Node.Node).sort(), ['ext-q1', 'ext-q2']);
    assert.deepEqual(
      all.data.Nodes[0]?.Checks.map((check) => check.Status),
      ['passing'],
    );

    const limited = await consul.query.execute('web-q', { limit: 1, near: '_agent' });
    assert.equal(limited.data.Nodes.length, 1);

    await consul.query.update(ID, { Name: 'web-q', Service: { Service: 'web', Tags: ['v2'] } });
    assert.deepEqual((await consul.query.get(ID)).data?.Service.Tags, ['v2']);
    assert.deepEqual((await consul.query.execute(ID)).data.Nodes, []);

    const explained = await consul.query.explain('web-q');
    assert.equal(explained.Query.ID, ID);
    assert.deepEqual(explained.Query.Service.Tags, ['v2']);

    await consul.query.delete(ID);
    assert.equal((await consul.query.get(ID)).data, null);
    assert.deepEqual((await consul.query.list()).data, []);
    await assert.rejects(
      consul.query.delete(ID),
      (error: ConsulError) => error.code === 'CONSUL_HTTP_STATUS' && error.statusCode === 500,
    );
  });

  it('executes a name-prefix template query', async () => {
    const { ID } = await consul.query.create({
      Name: 'tmpl-',
      Template: { Type: 'name_prefix_match' },
      Service: { Service: '${name.suffix}' },
    });
    const result = await consul.query.execute('tmpl-web');
    assert.equal(result.data.Service, 'web');
    assert.equal(result.data.Nodes.length, 2);
    assert.equal((await consul.query.explain('tmpl-web')).Query.Service.Service, 'web');
    await consul.query.delete(ID);
  });

  it('denies a token without rights, and filters its listing silently (Consul 1.8: no 403)', async () => {
    await assert.rejects(
      noRights.query.create({ Name: 'nope', Service: { Service: 'web' } }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    const { ID } = await consul.query.create({ Name: 'private', Service: { Service: 'web' } });
    assert.deepEqual((await noRights.query.list()).data, []);
    await assert.rejects(noRights.query.get(ID), hasCode('CONSUL_PERMISSION_DENIED'));
    await assert.rejects(noRights.query.delete(ID), hasCode('CONSUL_PERMISSION_DENIED'));
    await consul.query.delete(ID);
  });
});
