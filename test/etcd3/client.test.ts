import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3Client, Etcd3Error } from '@polykv/etcd3';
import { resolveBinary } from '@polykv/testing';
import { freePort, stopAllServers } from '../helpers/processes.js';
import { runTool } from '../helpers/tools.js';
import { startEtcd, type EtcdMember } from '../helpers/servers.js';
import { etcd3Code, eventually, text } from './util.js';

after(stopAllServers);

describe('etcd v3 client against a real member', { timeout: 120_000 }, () => {
  let member: EtcdMember;
  let client: Etcd3Client;
  before(async () => {
    member = await startEtcd();
    client = new Etcd3Client({ hosts: member.host });
  });
  after(() => client.close());

  it('put and range: prefix, limit, revision, keys only, count, sort', async () => {
    const first = await client.kv.put('kv/a', 'one');
    await client.kv.put('kv/b', 'two');
    await client.kv.put('kv/c', Buffer.from([0xff, 0x00, 0x80]));
    await client.kv.put('kvx', 'outside the prefix');
    await client.kv.put('kv/a', 'uno');
    const all = await client.kv.range('kv/', { prefix: true });
    assert.deepEqual(
      all.kvs.map((kv) => text(kv.key)),
      ['kv/a', 'kv/b', 'kv/c'],
    );
    assert.equal(text(all.kvs[0]!.value), 'uno');
    assert.deepEqual([...all.kvs[2]!.value], [0xff, 0x00, 0x80], 'bytes round-trip');
    assert.equal(all.kvs[0]!.version, 2);
    assert.equal(all.kvs[0]!.createRevision, first.header.revision);
    const limited = await client.kv.range('kv/', { prefix: true, limit: 2 });
    assert.equal(limited.kvs.length, 2);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3);
    const then = await client.kv.range('kv/a', { revision: first.header.revision });
    assert.equal(text(then.kvs[0]!.value), 'one', 'a read at an old revision');
    const keysOnly = await client.kv.range('kv/', { prefix: true, keysOnly: true });
    assert.equal(keysOnly.kvs[0]!.value.length, 0);
    const counted = await client.kv.range('kv/', { prefix: true, countOnly: true });
    assert.deepEqual([counted.count, counted.kvs.length], [3, 0]);
    const sorted = await client.kv.range('kv/', { prefix: true, sortOrder: 'descend', sortTarget: 'key' });
    assert.deepEqual(
      sorted.kvs.map((kv) => text(kv.key)),
      ['kv/c', 'kv/b', 'kv/a'],
    );
    const range = await client.kv.range('kv/a', { end: 'kv/c' });
    assert.deepEqual(
      range.kvs.map((kv) => text(kv.key)),
      ['kv/a', 'kv/b'],
    );
    assert.equal(await client.kv.get('kv/missing'), null);
    await assert.rejects(
      client.kv.range('kv/a', { revision: all.header.revision + 1000 }),
      etcd3Code('ETCD3_FUTURE_REVISION'),
    );
  });

  it('put with prevKv and a lease; delete with prevKv; a prefix delete', async () => {
    await client.kv.put('pk/k', 'before');
    const put = await client.kv.put('pk/k', 'after', { prevKv: true });
    assert.equal(text(put.prevKv?.value), 'before');
    const lease = await client.lease.grant(30);
    await client.kv.put('pk/leased', 'v', { lease: lease.id });
    assert.equal((await client.kv.get('pk/leased'))?.lease, lease.id);
    const ttl = await client.lease.timeToLive(lease.id, { keys: true });
    assert.deepEqual(
      ttl.keys.map((key) => text(key)),
      ['pk/leased'],
    );
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 30);
    assert.equal(ttl.grantedTtl, 30);
    const deleted = await client.kv.delete('pk/', { prefix: true, prevKv: true });
    assert.equal(deleted.deleted, 2);
    assert.deepEqual(deleted.prevKvs.map((kv) => text(kv.key)).sort(), ['pk/k', 'pk/leased']);
    assert.equal((await client.kv.delete('pk/k')).deleted, 0);
    await client.lease.revoke(lease.id);
  });

  it('txn: compares on value, version, create and mod revision; success and failure branches', async () => {
    const created = await client.kv.put('txn/k', 'v1');
    const rev = created.header.revision;
    const ok = await client.kv.txn({
      compare: [
        { key: 'txn/k', target: 'value', result: '=', value: 'v1' },
        { key: 'txn/k', target: 'version', result: '=', value: 1 },
        { key: 'txn/k', target: 'create', result: '=', value: rev },
        { key: 'txn/k', target: 'mod', result: '<', value: rev + 1 },
        { key: 'txn/none', target: 'create', result: '=', value: 0 },
      ],
      success: [{ put: { key: 'txn/k', value: 'v2' } }, { range: { key: 'txn/k' } }],
      failure: [{ range: { key: 'txn/k' } }],
    });
    assert.equal(ok.succeeded, true);
    const read = ok.responses[1]!;
    assert.ok('range' in read);
    assert.equal(text(read.range.kvs[0]!.value), 'v2');
    const failed = await client.kv.txn({
      compare: [{ key: 'txn/k', target: 'mod', result: '=', value: rev }],
      success: [{ deleteRange: { key: 'txn/k' } }],
      failure: [{ range: { key: 'txn/k' } }],
    });
    assert.equal(failed.succeeded, false);
    const current = failed.responses[0]!;
    assert.ok('range' in current);
    assert.equal(text(current.range.kvs[0]!.value), 'v2', 'the failure branch ran, nothing was deleted');
    // A compare over a range: no key below txn/empty/ at all.
    const empty = await client.kv.txn({
      compare: [{ key: 'txn/empty/', rangeEnd: 'txn/empty0', target: 'version', result: '=', value: 0 }],
      success: [],
    });
    assert.equal(empty.succeeded, true);
  });

  it('leases: grant, keep-alive loop, time-to-live, list, revoke, lost', async () => {
    const lease = await client.lease.grant(3);
    await client.kv.put('lease/k', 'v', { lease: lease.id });
    assert.ok((await client.lease.list()).includes(lease.id));
    const keeper = client.lease.keepAlive(lease.id, lease.ttl);
    let renewals = 0;
    keeper.on('keepAlive', () => renewals++);
    await eventually(() => renewals >= 3, 15_000, 'three renewals');
    assert.equal(
      text((await client.kv.get('lease/k'))?.value),
      'v',
      'the kept lease holds its key past its TTL',
    );
    const lost = new Promise<Etcd3Error>((resolve) => keeper.once('lost', resolve));
    await client.lease.revoke(lease.id);
    etcd3Code('ETCD3_LEASE_NOT_FOUND')(await lost);
    assert.equal(keeper.stopped, true);
    assert.equal(await client.kv.get('lease/k'), null, 'revoking deleted the key');
    assert.equal((await client.lease.timeToLive(lease.id)).ttl, -1);
    await assert.rejects(client.lease.revoke(lease.id), etcd3Code('ETCD3_LEASE_NOT_FOUND'));
    const short = await client.lease.grant(2);
    await client.kv.put('lease/short', 'v', { lease: short.id });
    await eventually(
      async () => (await client.kv.get('lease/short')) === null,
      15_000,
      'the lease to expire',
    );
  });

  it('members and status', async () => {
    const members = await client.cluster.members();
    assert.equal(members.length, 1);
    assert.deepEqual(members[0]!.clientUrls, [member.clientUrl]);
    const status = await client.maintenance.status();
    assert.equal(status.version, '3.4.23');
    assert.equal(status.leader, members[0]!.id);
    assert.ok(status.raftIndex > 0 && status.dbSize > 0);
  });

  it("64-bit IDs read exactly: the member and cluster IDs are etcdctl's, digit for digit", async () => {
    // Random 64-bit numbers, most of them past 2^53 (where a JS number rounds): etcdctl's `fields`
    // output prints them as unsigned decimals.
    const result = await runTool(
      resolveBinary('etcdctl'),
      ['--endpoints', member.clientUrl, '-w', 'fields', 'member', 'list'],
      {
        env: { ETCDCTL_API: '3' },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const field = (name: string): string =>
      new RegExp(`"${name}" : (\\d+)`).exec(result.stdout.toString())![1]!;
    const { header } = await client.kv.put('ids/k', 'v');
    const [only] = await client.cluster.members();
    assert.equal(header.clusterId, field('ClusterID'));
    assert.equal(header.memberId, field('MemberID'));
    assert.equal(only!.id, field('ID'));
  });

  it('compaction: reads below the compacted revision fail with ETCD3_COMPACTED', async () => {
    const first = await client.kv.put('compact/k', '1');
    const second = await client.kv.put('compact/k', '2');
    await client.kv.compact(second.header.revision, { physical: true });
    await assert.rejects(
      client.kv.range('compact/k', { revision: first.header.revision }),
      etcd3Code('ETCD3_COMPACTED'),
    );
  });

  it('signal, timeout and close', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(client.kv.get('x', { signal: controller.signal }), (error: unknown) => {
      etcd3Code('ETCD3_ABORTED')(error);
      assert.equal(((error as Error).cause as Error).message, 'stop');
      return true;
    });
    // A host that accepts connections but never answers: the call's timeout ends it.
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const hung = new Etcd3Client({ hosts: `127.0.0.1:${port}`, maxRetries: 0 });
    await assert.rejects(hung.kv.get('x', { timeout: 300 }), etcd3Code('ETCD3_TIMEOUT'));
    await hung.close();
    silent.close();
    const closing = new Etcd3Client({ hosts: member.host });
    await closing.kv.put('close/k', 'v');
    await closing.close();
    await assert.rejects(closing.kv.get('close/k'), etcd3Code('ETCD3_CLOSED'));
  });

  it('bad options are ETCD3_INVALID_ARGUMENT', () => {
    assert.throws(() => new Etcd3Client({ hosts: [] }), etcd3Code('ETCD3_INVALID_ARGUMENT'));
    assert.throws(() => new Etcd3Client({ hosts: 'http://u:p@h:2379' }), etcd3Code('ETCD3_INVALID_ARGUMENT'));
    assert.throws(() => new Etcd3Client({ timeout: -1 }), etcd3Code('ETCD3_INVALID_ARGUMENT'));
  });
});
