import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EtcdClient } from '@polykv/etcd';
import { freePort, stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { eventually, startCluster, startCustomEtcd } from './util.js';

after(stopAllServers);

describe('etcd cluster APIs and machine refresh', { timeout: 300_000 }, () => {
  it('members, leader, machines, stats, version, health', async () => {
    const cluster = await startCluster(3);
    const client = new EtcdClient({ hosts: cluster.hosts });
    try {
      const members = await client.members.list();
      assert.equal(members.length, 3);
      assert.deepEqual(members.flatMap((member) => member.clientURLs).sort(), [...cluster.clientUrls].sort());
      const leader = await client.leader();
      const leaderMember = await cluster.leader();
      assert.deepEqual(leader.clientURLs, [leaderMember.clientUrl]);
      assert.deepEqual((await client.machines()).sort(), [...cluster.clientUrls].sort());
      const self = await client.stats.self({ host: leaderMember.clientUrl });
      assert.equal(self.state, 'StateLeader');
      const store = await client.stats.store();
      assert.equal(typeof store.getsSuccess, 'number');
      const leaderStats = await client.stats.leader({ host: leaderMember.clientUrl });
      assert.equal(Object.keys(leaderStats.followers).length, 2);
      assert.match((await client.version()).etcdserver, /^3\.4\./);
      assert.equal(await client.health(), true);
      // Add a member that is not started (3 of 4 still make a quorum), then remove it.
      const peer = `http://127.0.0.1:${await freePort()}`;
      // etcd refuses reconfiguration until every member has been connected for 5 s (strict
      // reconfig check): retry within a liveness bound.
      let added: Awaited<ReturnType<typeof client.members.add>> | undefined;
      await eventually(
        async () => {
          added = await client.members.add([peer]).catch(() => undefined);
          return added !== undefined;
        },
        60_000,
        'the member add to be accepted',
      );
      if (!added) throw new Error('not added');
      assert.deepEqual(added.peerURLs, [peer]);
      assert.equal((await client.members.list()).length, 4);
      await client.members.remove(added.id);
      assert.equal((await client.members.list()).length, 3);
    } finally {
      await client.close();
      await cluster.stop();
    }
  });

  it('machine refresh: seeded with one member the client finds the other two; then the seed dies and it goes on', async () => {
    const cluster = await startCluster(3);
    const [seed] = cluster.members;
    const client = new EtcdClient({ hosts: seed!.host, refresh: { intervalMs: 200 } });
    try {
      let hosts: readonly string[] = [];
      client.once('hostsChanged', (changed) => (hosts = changed));
      await eventually(() => hosts.length > 0, 30_000, 'a refresh that changes the hosts');
      assert.deepEqual([...hosts].sort(), [...cluster.clientUrls].sort());
      await client.keys.set('refresh/k', 'v');
      await seed!.kill();
      assert.equal((await client.keys.get('refresh/k', { quorum: true })).node.value, 'v');
      await client.keys.set('refresh/k', 'w');
      assert.notEqual(client.currentHost, seed!.clientUrl);
      assert.ok(client.hosts.includes(seed!.clientUrl), 'the seed stays in the list');
    } finally {
      await client.close();
      await cluster.stop();
    }
  });

  it('an unroutable advertised client URL never replaces a working seed (etcdjs#4)', async () => {
    // The member advertises its real URL and one nobody can reach, as etcd inside docker does.
    const unroutable = 'http://10.255.255.1:2379';
    const { member } = await startCustomEtcd(({ http }) => ({
      listen: [`http://127.0.0.1:${http}`],
      advertise: [`http://127.0.0.1:${http}`, unroutable],
    }));
    const client = new EtcdClient({ hosts: member.host });
    try {
      const advertised = (await client.members.list()).flatMap((m) => m.clientURLs);
      assert.ok(advertised.includes(unroutable), 'the cluster does advertise the bad URL');
      const hosts = await client.refreshHosts();
      assert.deepEqual(hosts, [member.clientUrl], 'the unroutable URL was checked and left out');
      await client.keys.set('k', 'v');
      assert.equal(client.currentHost, member.clientUrl);
    } finally {
      await client.close();
      await member.stop();
    }
  });

  it('a failing refresh backs off, reports refreshError and keeps the seeds', async () => {
    const member = await startEtcd();
    const client = new EtcdClient({ hosts: member.host, refresh: { intervalMs: 100 }, maxRetries: 0 });
    try {
      const errors: unknown[] = [];
      client.on('refreshError', (error) => errors.push(error));
      await member.kill();
      await eventually(() => errors.length >= 2, 20_000, 'two failed refreshes');
      assert.deepEqual(client.hosts, [member.clientUrl]);
      assert.throws(() => new EtcdClient('https://discovery.etcd.io/token'), /EtcdClient\.discover/);
    } finally {
      await client.close();
    }
  });

  it('notices when X-Etcd-Cluster-Id changes', async () => {
    const first = await startEtcd();
    const second = await startEtcd();
    const client = new EtcdClient({ hosts: [first.host, second.host], deterministicOrder: true });
    try {
      const changes: { previous: string; current: string }[] = [];
      client.on('clusterIdChanged', (change) => changes.push(change));
      await client.refreshHosts();
      await first.kill();
      await client.refreshHosts();
      assert.equal(changes.length, 1);
      assert.notEqual(changes[0]!.previous, changes[0]!.current);
    } finally {
      await client.close();
      await second.stop();
    }
  });

  it('a discovery URL as the source of hosts (a local etcd plays the discovery service)', async () => {
    const cluster = await startCluster(3);
    const discovery = await startEtcd();
    const token = `token-${process.pid}`;
    const registrar = new EtcdClient({ hosts: discovery.host });
    try {
      const lister = new EtcdClient({ hosts: cluster.hosts });
      const members = await lister.members.list();
      await lister.close();
      for (const member of members)
        await registrar.keys.set(
          `_etcd/registry/${token}/${member.id}`,
          `${member.name}=${member.peerURLs.join(',')}`,
        );
      const client = await EtcdClient.discover(`${discovery.clientUrl}/v2/keys/_etcd/registry/${token}`);
      assert.deepEqual([...client.hosts].sort(), [...cluster.clientUrls].sort());
      await client.keys.set('discovered', 'yes');
      assert.equal((await client.keys.get('discovered')).node.value, 'yes');
      await client.close();
      await assert.rejects(
        EtcdClient.discover(`${discovery.clientUrl}/v2/keys/_etcd/registry/none`),
        /Key not found/,
      );
    } finally {
      await registrar.close();
      await cluster.stop();
      await discovery.stop();
    }
  });

  it('synchronous reads and writes for start-up configuration (worker thread + Atomics.wait)', async () => {
    const member = await startEtcd();
    const client = new EtcdClient({ hosts: member.host });
    try {
      client.setSync('sync/port', '5432');
      assert.equal(client.getSync('sync/port').node.value, '5432');
      assert.equal(client.getSync('sync', { recursive: true }).node.nodes?.length, 1);
      client.mkdirSync('sync/dir');
      client.rmdirSync('sync/dir');
      client.delSync('sync/port');
      assert.throws(
        () => client.getSync('sync/port'),
        (error: unknown) => (error as { code?: string; errorCode?: number }).errorCode === 100,
      );
      assert.equal((await client.keys.get('sync')).node.nodes, undefined);
    } finally {
      await client.close();
      await member.stop();
    }
  });
});
