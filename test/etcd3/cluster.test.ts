import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  Etcd3AllHostsFailedError,
  Etcd3Client,
  isEtcd3Error,
  type Etcd3Error,
  type WatchEvent,
} from '@polykv/etcd3';
import { freePort, stopAllServers } from '../helpers/processes.js';
import { startEtcd, startEtcdCluster } from '../helpers/servers.js';
import { etcd3Code, eventually, text } from './util.js';

after(stopAllServers);

describe('etcd v3 client on a 3-member cluster: failover', { timeout: 240_000 }, () => {
  it('the pinned member dies: calls move on; its watchers end with nextRevision, and resume elsewhere', async () => {
    const cluster = await startEtcdCluster(3);
    const client = new Etcd3Client({ hosts: cluster.hosts, deterministicOrder: true, maxRetries: 5 });
    const writer = new Etcd3Client({ hosts: [...cluster.hosts].reverse(), deterministicOrder: true });
    try {
      assert.equal(client.currentHost, cluster.members[0]!.clientUrl);
      await client.kv.put('f/k', 'v0');
      const watcher = client.watch('f/', { prefix: true });
      const events: WatchEvent[] = [];
      watcher.on('events', (batch) => events.push(...batch));
      await watcher.ready;
      assert.equal(watcher.host, cluster.members[0]!.clientUrl);
      await writer.kv.put('f/k', 'v1');
      await eventually(() => events.length === 1, 10_000, 'the first event');
      const ended = new Promise<Etcd3Error>((resolve) => watcher.once('error', resolve));
      await cluster.members[0]!.kill();
      const error = await ended;
      assert.ok(['ETCD3_CONNECTION', 'ETCD3_UNAVAILABLE'].includes(error.code), error.code);
      // The killed member may have been the leader: a write during the election can time out
      // (uncertain, never replayed), which would leave the test unsure how many events to expect.
      await cluster.leader();
      // Even after the election a write can time out on a loaded machine ("etcdserver: request
      // timed out", seen once in CI): it is uncertain and may still apply, so it is retried and the
      // events are compared without repeats below.
      for (let attempt = 1; ; attempt++) {
        try {
          await writer.kv.put('f/k', 'v2');
          break;
        } catch (error) {
          if (attempt >= 5 || !isEtcd3Error(error) || error.code !== 'ETCD3_UNAVAILABLE') throw error;
        }
      }
      // Reads and writes go to the next member.
      assert.equal(text((await client.kv.get('f/k'))?.value), 'v2');
      assert.notEqual(client.currentHost, cluster.members[0]!.clientUrl);
      const resumed = client.watch('f/', { prefix: true, startRevision: watcher.nextRevision });
      resumed.on('events', (batch) => events.push(...batch));
      const values = (): (string | undefined)[] =>
        events
          .map((event) => text(event.kv.value))
          .filter((value, i, all) => i === 0 || value !== all[i - 1]);
      await eventually(() => values().length === 2, 10_000, 'the missed event after resuming');
      assert.deepEqual(values(), ['v1', 'v2']);
      assert.notEqual(resumed.host, cluster.members[0]!.clientUrl);
      await resumed.cancel();
      const members = await client.cluster.members();
      assert.equal(members.length, 3);
    } finally {
      await client.close();
      await writer.close();
    }
  });

  it('a dead first seed: every call, writes included, goes to the live host (never sent is safe)', async () => {
    const member = await startEtcd();
    const dead = `127.0.0.1:${await freePort()}`;
    const client = new Etcd3Client({ hosts: [dead, member.host], deterministicOrder: true });
    try {
      await client.kv.put('seed/k', 'v');
      assert.equal(client.currentHost, member.clientUrl);
      const watcher = client.watch('seed/k');
      await watcher.ready;
      assert.equal(watcher.host, member.clientUrl);
      await watcher.cancel();
      await member.kill();
      const error = await client.kv.get('seed/k', { maxRetries: 1 }).catch((caught: unknown) => caught);
      assert.ok(error instanceof Etcd3AllHostsFailedError);
      etcd3Code('ETCD3_UNAVAILABLE')(error);
      assert.equal(error.rounds, 2);
      assert.deepEqual(
        error.errors.map((failure) => failure.host).sort(),
        [`http://${dead}`, member.clientUrl].sort(),
      );
    } finally {
      await client.close();
    }
  });
});
