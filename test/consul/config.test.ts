import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ServiceDefaultsConfigEntry } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, hasCode, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('config entries and discovery chain against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
  });
  after(() => closeClients(consul, noRights));

  it('applies, reads, lists, CAS-updates and deletes a service-defaults entry', async () => {
    assert.equal((await consul.config.get('service-defaults', 'web')).data, null);
    assert.equal(
      await consul.config.apply({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
      true,
    );

    const read = await consul.config.get<ServiceDefaultsConfigEntry>('service-defaults', 'web');
    assert.equal(read.data?.Protocol, 'http');
    assert.equal(read.data?.Kind, 'service-defaults');
    const modifyIndex = read.data?.ModifyIndex ?? 0;
    assert.ok(modifyIndex > 0);
    assert.ok((read.meta.index ?? 0) > 0);

    const list = await consul.config.list('service-defaults');
    assert.deepEqual(
      list.data.map((entry) => entry.Name),
      ['web'],
    );

    // A CAS miss is `false`, not an error.
    const stale = { Kind: 'service-defaults', Name: 'web', Protocol: 'grpc' } as const;
    assert.equal(await consul.config.apply(stale, { cas: modifyIndex - 1 }), false);
    assert.equal(await consul.config.apply(stale, { cas: modifyIndex }), true);
    assert.equal(
      (await consul.config.get<ServiceDefaultsConfigEntry>('service-defaults', 'web')).data?.Protocol,
      'grpc',
    );
    // cas=0: create only.
    assert.equal(await consul.config.apply(stale, { cas: 0 }), false);

    await consul.config.delete('service-defaults', 'web');
    assert.equal((await consul.config.get('service-defaults', 'web')).data, null);
    assert.deepEqual((await consul.config.list('service-defaults')).data, []);
    // Deleting what is not there succeeds.
    await consul.config.delete('service-defaults', 'web');
  });

  it('wakes a blocking read of an entry when it changes', async () => {
    await consul.config.apply({ Kind: 'service-defaults', Name: 'blocking', Protocol: 'tcp' });
    const current = await consul.config.get('service-defaults', 'blocking');
    const waiting = consul.config.get<ServiceDefaultsConfigEntry>('service-defaults', 'blocking', {
      index: current.meta.index,
      wait: '60s',
    });
    await consul.config.apply({ Kind: 'service-defaults', Name: 'blocking', Protocol: 'http' });
    const woken = await waiting;
    assert.equal(woken.data?.Protocol, 'http');
    await consul.config.delete('service-defaults', 'blocking');
  });

  it('compiles the discovery chain from the entries, with and without overrides', async () => {
    await consul.config.apply({ Kind: 'service-defaults', Name: 'chain', Protocol: 'http' });
    const plain = await consul.discoveryChain.get('chain');
    assert.equal(plain.data.Chain.ServiceName, 'chain');
    assert.equal(plain.data.Chain.Protocol, 'http');
    assert.ok(plain.data.Chain.StartNode.startsWith('resolver:chain.'));
    const compiled = await consul.discoveryChain.get('chain', undefined, { compileDc: 'dc1' });
    assert.equal(compiled.data.Chain.Datacenter, 'dc1');
    const overridden = await consul.discoveryChain.get('chain', {
      OverrideProtocol: 'grpc',
      OverrideConnectTimeout: '2s',
    });
    assert.equal(overridden.data.Chain.Protocol, 'grpc');
    assert.ok(overridden.data.Chain.CustomizationHash);
    const resolver = Object.values(overridden.data.Chain.Nodes).find((node) => node.Type === 'resolver');
    assert.equal(resolver?.Resolver?.ConnectTimeout, '2s');
    await consul.config.delete('service-defaults', 'chain');
  });

  it('denies a token without rights', async () => {
    await assert.rejects(
      noRights.config.apply({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await consul.config.apply({ Kind: 'service-defaults', Name: 'secret', Protocol: 'http' });
    await assert.rejects(
      noRights.config.get('service-defaults', 'secret'),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    // Listings are filtered silently (Consul 1.8): no 403.
    assert.deepEqual((await noRights.config.list('service-defaults')).data, []);
    await assert.rejects(
      noRights.config.delete('service-defaults', 'secret'),
      hasCode('CONSUL_PERMISSION_DENIED'),
    );
    await assert.rejects(noRights.discoveryChain.get('secret'), hasCode('CONSUL_PERMISSION_DENIED'));
    await consul.config.delete('service-defaults', 'secret');
  });
});
