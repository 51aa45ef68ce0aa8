import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, hasCode, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('connect CA and intentions against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
  });
  after(() => closeClients(consul, noRights));

  it('reads the CA roots and configuration, and writes the configuration back', async () => {
    const roots = await consul.connect.ca.roots();
    assert.ok(roots.data.ActiveRootID);
    assert.ok(roots.data.TrustDomain.endsWith('.consul'));
    const active = roots.data.Roots.find((root) => root.Active);
    assert.equal(active?.ID, roots.data.ActiveRootID);
    assert.match(active?.RootCert ?? '', /BEGIN CERTIFICATE/);
    assert.ok((roots.meta.index ?? 0) > 0);

    const config = await consul.connect.ca.getConfiguration();
    assert.equal(config.Provider, 'consul');
    await consul.connect.ca.setConfiguration({
      Provider: 'consul',
      Config: { ...config.Config, LeafCertTTL: '24h' },
    });
    const updated = await consul.connect.ca.getConfiguration();
    assert.equal(updated.Config.LeafCertTTL, '24h');
    assert.ok((updated.ModifyIndex ?? 0) > (config.ModifyIndex ?? 0));
  });

  it('creates, reads, lists, checks, matches, updates and deletes an intention', async () => {
    const { ID } = await consul.connect.intentions.create({
      SourceName: 'web',
      DestinationName: 'db',
      Action: 'allow',
      Description: 'web reads db',
    });
    assert.match(ID, /^[0-9a-f-]{36}$/);

    const read = await consul.connect.intentions.get(ID);
    assert.equal(read.data?.SourceName, 'web');
    assert.equal(read.data?.DestinationName, 'db');
    assert.equal(read.data?.Action, 'allow');
    const list = await consul.connect.intentions.list();
    assert.deepEqual(
      list.data.map((intention) => intention.ID),
      [ID],
    );

    assert.deepEqual(await consul.connect.intentions.check('web', 'db'), { Allowed: true });
    // No intention and ACL default policy deny: not allowed.
    assert.deepEqual(await consul.connect.intentions.check('web', 'cache'), { Allowed: false });

    const bySource = await consul.connect.intentions.match('source', 'web');
    assert.deepEqual(
      bySource.data.web?.map((intention) => intention.ID),
      [ID],
    );
    const byDestination = await consul.connect.intentions.match('destination', ['db', 'cache']);
    assert.equal(byDestination.data.db?.length, 1);
    assert.equal(byDestination.data.cache, null);

    assert.deepEqual(
      await consul.connect.intentions.update(ID, {
        SourceName: 'web',
        DestinationName: 'db',
        Action: 'deny',
      }),
      { ID },
    );
    assert.equal((await consul.connect.intentions.get(ID)).data?.Action, 'deny');
    assert.deepEqual(await consul.connect.intentions.check('web', 'db'), { Allowed: false });

    assert.equal(await consul.connect.intentions.delete(ID), true);
    assert.equal((await consul.connect.intentions.get(ID)).data, null);
    // Deleting again is an error on 1.8 (500 "Cannot delete non-existent intention").
    await assert.rejects(
      consul.connect.intentions.delete(ID),
      (error: ConsulError) => error.code === 'CONSUL_HTTP_STATUS' && error.statusCode === 500,
    );
  });

  it('denies a token without rights', async () => {
    await assert.rejects(
      noRights.connect.intentions.create({ SourceName: 'web', DestinationName: 'db', Action: 'allow' }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await assert.rejects(noRights.connect.ca.getConfiguration(), hasCode('CONSUL_PERMISSION_DENIED'));
    await assert.rejects(
      noRights.connect.ca.setConfiguration({ Provider: 'consul', Config: {} }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await assert.rejects(noRights.connect.intentions.check('web', 'db'), hasCode('CONSUL_PERMISSION_DENIED'));
    // The intention listing is filtered silently (Consul 1.8: no 403).
    const { ID } = await consul.connect.intentions.create({
      SourceName: 'a',
      DestinationName: 'b',
      Action: 'deny',
    });
    assert.deepEqual((await noRights.connect.intentions.list()).data, []);
    await consul.connect.intentions.delete(ID);
  });
});
