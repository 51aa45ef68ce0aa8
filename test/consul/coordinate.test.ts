import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, type ConsulError, type CoordinateEntry } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('coordinates against a real Consul 1.8.7 agent (ACLs on)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;
  let nodeName: string;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
    // A node without an agent: nothing but this test ever sends its coordinate.
    nodeName = 'ext-coord';
    await consul.catalog.register({ Node: nodeName, Address: '10.0.2.5' });
  });
  after(() => closeClients(consul, noRights));

  it('reads the WAN coordinates of the datacenter', async () => {
    const datacenters = await consul.coordinate.datacenters();
    assert.deepEqual(
      datacenters.map((dc) => [dc.Datacenter, dc.AreaID]),
      [['dc1', 'wan']],
    );
  });

  it('updates a node coordinate and reads it back through a blocking read', async () => {
    const coord = { Vec: [0.001, 0, 0, 0, 0, 0, 0, 0], Error: 1.25, Adjustment: 0, Height: 0.00002 };
    let seen = await consul.coordinate.nodes();
    await consul.coordinate.update({ Node: nodeName, Coord: coord });
    // Consul applies coordinate updates in batches: block on the index until ours lands.
    const ours = (entries: CoordinateEntry[]): CoordinateEntry | undefined =>
      entries.find((entry) => entry.Node === nodeName && entry.Coord.Error === 1.25);
    for (let round = 0; round < 10 && !ours(seen.data); round++) {
      seen = await consul.coordinate.nodes({ index: seen.meta.index, wait: '10s' });
    }
    assert.deepEqual(ours(seen.data)?.Coord, coord);

    const node = await consul.coordinate.node(nodeName);
    assert.deepEqual(
      node.data?.map((entry) => entry.Coord.Error),
      [1.25],
    );
    assert.equal((await consul.coordinate.node('missing')).data, null);
  });

  it('denies an update by a token without node:write, and filters its reads silently', async () => {
    await assert.rejects(
      noRights.coordinate.update({
        Node: nodeName,
        Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 },
      }),
      (error: ConsulError) => error.code === 'CONSUL_PERMISSION_DENIED',
    );
    assert.deepEqual((await noRights.coordinate.nodes()).data, []);
  });
});
