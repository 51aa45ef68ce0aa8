import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isPolykvError, openStore, UnavailableError } from '@polykv/core';
import { AllHostsFailedError, createEtcdStore, EtcdClient, isEtcdError } from '@polykv/etcd';
import { freePort, stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually, portOf, startCluster } from './util.js';

after(stopAllServers);

describe('etcd failover against real members', { timeout: 300_000 }, () => {
  it('the first seed host is a dead port: calls go to the next host, which gets pinned', async () => {
    const member = await startEtcd();
    const dead = `127.0.0.1:${await freePort()}`;
    const client = new EtcdClient({ hosts: [dead, member.host], deterministicOrder: true });
    try {
      await client.keys.set('seed/k', 'v');
      assert.equal((await client.keys.get('seed/k')).node.value, 'v');
      assert.equal(client.currentHost, member.clientUrl, 'the live host is pinned');
      // A non-idempotent call may fail over too: the dead host never got it.
      const pusher = new EtcdClient({ hosts: [dead, member.host], deterministicOrder: true });
      const pushed = await pusher.keys.create('seed/q', 'x');
      await pusher.close();
      assert.match(pushed.node.key, /^\/seed\/q\/\d{20}$/);
      // The same through a store URL with two hosts, the first dead.
      const store = await openStore(`etcd://${dead},${member.host}/seed?maxRetries=0`);
      assert.equal((await store.get('k'))?.value, 'v');
      await store.close();
      await assert.rejects(
        openStore(`etcd://${member.host}/seed?bogus=1`),
        (error: unknown) => isPolykvError(error) && error.code === 'INVALID_ARGUMENT',
      );
    } finally {
      await client.close();
      await member.stop();
    }
  });

  it('every host dead: one typed error with each host cause (native and Store)', async () => {
    const member = await startEtcd();
    const hosts = [member.host, `127.0.0.1:${await freePort()}`];
    await member.kill();
    const client = new EtcdClient({ hosts, maxRetries: 1, backoffMs: 10 });
    const store = createEtcdStore({ hosts, maxRetries: 1, backoffMs: 10 });
    try {
      const error = await client.keys.get('k').then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof AllHostsFailedError);
      assert.equal(error.code, 'ETCD_UNAVAILABLE');
      assert.equal(error.rounds, 2);
      assert.deepEqual(
        error.errors.map((failure) => failure.host).sort(),
        hosts.map((host) => `http://${host}`).sort(),
      );
      for (const failure of error.errors)
        assert.equal((failure.error as { code?: string }).code, 'ECONNREFUSED');
      const storeError = await store.get('k').then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(isPolykvError(storeError) && storeError.code === 'UNAVAILABLE');
      assert.equal((storeError as UnavailableError).hosts.length, 2);
    } finally {
      await client.close();
      await store.close();
    }
  });

  it('no failover on 4xx answers or on the caller abort', async () => {
    const member = await startEtcd();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(member.host));
    const client = new EtcdClient({ hosts: [proxy.host, member.host], deterministicOrder: true });
    try {
      await assert.rejects(
        client.keys.get('missing'),
        (error: unknown) => isEtcdError(error) && error.errorCode === 100,
      );
      assert.equal(client.currentHost, proxy.url, 'a 4xx answer keeps the host');
      proxy.setMode({ kind: 'blackhole' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('caller gave up')), 200);
      const before = proxy.stats.connections;
      await assert.rejects(
        client.keys.get('missing', { signal: controller.signal }),
        (error: unknown) => isEtcdError(error) && error.code === 'ETCD_ABORTED',
      );
      assert.equal(client.currentHost, proxy.url, 'an abort moves nothing');
      assert.ok(proxy.stats.connections - before <= 1);
    } finally {
      await client.close();
      await proxy.close();
      await member.stop();
    }
  });

  it('a POST whose answer is lost is not replayed; an idempotent GET fails over', async () => {
    const member = await startEtcd();
    const proxy = await TcpProxy.start('127.0.0.1', portOf(member.host));
    const client = new EtcdClient({ hosts: [proxy.host, member.host], deterministicOrder: true });
    const direct = new EtcdClient({ hosts: member.host });
    try {
      await direct.keys.mkdir('replay');
      proxy.setMode({ kind: 'truncate', bytes: 20 });
      const error = await client.keys.create('replay', 'once').then(
        () => assert.fail('expected a failure'),
        (caught: unknown) => caught,
      );
      assert.ok(isEtcdError(error) && error.uncertain, 'the error says the POST may have been applied');
      assert.equal(error.code, 'ETCD_CONNECTION');
      const listed = await direct.keys.get('replay', { quorum: true });
      assert.equal(listed.node.nodes?.length, 1, 'applied once (by the first host), never replayed');
      assert.equal(client.currentHost, member.clientUrl, 'the next call starts at the next host');
      // The same fault on a CAS: not replayed either.
      const current = await direct.keys.set('replay-cas', 'v1');
      const cas = new EtcdClient({ hosts: [proxy.host, member.host], deterministicOrder: true });
      await assert.rejects(
        cas.keys.set('replay-cas', 'v2', { prevIndex: current.node.modifiedIndex }),
        (caught: unknown) => isEtcdError(caught) && caught.uncertain,
      );
      assert.equal((await direct.keys.get('replay-cas')).node.value, 'v2', 'the CAS was applied once');
      await cas.close();
      // A GET is idempotent: it goes on to the next host.
      const reader = new EtcdClient({ hosts: [proxy.host, member.host], deterministicOrder: true });
      assert.equal((await reader.keys.get('replay-cas')).node.value, 'v2');
      assert.equal(reader.currentHost, member.clientUrl);
      await reader.close();
    } finally {
      await client.close();
      await direct.close();
      await proxy.close();
      await member.stop();
    }
  });

  it('kill the member in use during a stream of writes and reads: no acknowledged write is lost', async () => {
    const cluster = await startCluster(3);
    const store = createEtcdStore({
      hosts: cluster.hosts,
      deterministicOrder: true,
      prefix: 'stream',
      maxRetries: 10,
    });
    try {
      const acked = new Map<string, string>();
      let failedWrites = 0;
      let reads = 0;
      const victim = cluster.members.find((member) => member.clientUrl === store.client.currentHost)!;
      for (let i = 0; i < 200; i++) {
        if (i === 80) await victim.kill();
        try {
          await store.set(`k${i}`, String(i));
          acked.set(`k${i}`, String(i));
        } catch (error) {
          assert.ok(isPolykvError(error) && error.code === 'UNAVAILABLE', String(error));
          failedWrites++;
        }
        const read = await store.get(`k${Math.floor(i / 2)}`);
        if (read) reads++;
      }
      assert.notEqual(store.client.currentHost, victim.clientUrl, 'moved to another member');
      assert.ok(acked.size >= 190, `most writes acknowledged (${acked.size}, ${failedWrites} failed)`);
      assert.ok(reads >= 190);
      const check = createEtcdStore({
        hosts: cluster.members.filter((m) => m !== victim).map((m) => m.host),
        prefix: 'stream',
      });
      for (const [key, value] of acked)
        assert.equal((await check.get(key, { consistent: true }))?.value, value, key);
      await check.close();
    } finally {
      await store.close();
      await cluster.stop();
    }
  });

  it('kill the leader of the 3-member cluster: operations resume after the election', async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    const client = new EtcdClient({ hosts: cluster.hosts, maxRetries: 20, maxBackoffMs: 1000 });
    try {
      await client.keys.set('election/before', 'v');
      await leader.kill();
      // Quorum writes and reads need the new leader: the client retries through the election.
      const written = await client.keys.set('election/after', 'v', { timeout: 60_000 });
      assert.ok(written.node.modifiedIndex > 0);
      assert.equal((await client.keys.get('election/before', { quorum: true })).node.value, 'v');
      const next = await cluster.leader();
      assert.notEqual(next, leader);
      await eventually(
        async () => (await client.stats.self()).state !== undefined,
        10_000,
        'stats from a live member',
      );
    } finally {
      await client.close();
      await cluster.stop();
    }
  });
});
