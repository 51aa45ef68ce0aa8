import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConsulClient, isConsulError, kvText, type TxnOp } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { useAclFixture } from './fixture.js';

after(stopAllServers);

describe('txn against a real agent (ACLs on)', () => {
  let client: ConsulClient;
  useAclFixture((fixture) => ({ consul: client } = fixture));

  it('commits several KV operations at once, with base64 values and exact flags', async () => {
    const response = await client.txn.apply([
      { KV: { Verb: 'set', Key: 'txn/a', Value: 'hello' } },
      { KV: { Verb: 'set', Key: 'txn/b', Value: new Uint8Array([0, 255]), Flags: 18446744073709551615n } },
    ]);
    assert.equal(response.ok, true);
    assert.equal(response.Results.length, 2);
    assert.equal(response.Results[0]?.KV?.Key, 'txn/a');
    assert.equal(response.Results[0]?.KV?.Value, null, 'set results carry no value');
    assert.equal(kvText((await client.kv.get('txn/a')).data), 'hello');
    const b = (await client.kv.get('txn/b')).data;
    assert.deepEqual(b?.Value, new Uint8Array([0, 255]));
    assert.equal(b?.Flags, 18446744073709551615n);

    const read = await client.txn.apply([
      { KV: { Verb: 'get', Key: 'txn/a' } },
      { KV: { Verb: 'get-tree', Key: 'txn/' } },
    ]);
    assert.equal(read.ok, true);
    assert.equal(kvText(read.Results[0]?.KV), 'hello');
    assert.equal(read.Results.length, 3, 'get + get-tree of two keys');
    assert.equal(read.KnownLeader, true, 'read-only transactions report their consistency');
  });

  it('rolls back on a failed operation and says which one failed', async () => {
    await client.kv.put('txn/k1', 'v');
    await client.kv.put('txn/k2', 'v');
    const ops: TxnOp[] = [
      { KV: { Verb: 'set', Key: 'txn/k0', Value: 'never' } },
      { KV: { Verb: 'cas', Key: 'txn/k1', Value: 'x', Index: 1 } },
      { KV: { Verb: 'check-not-exists', Key: 'txn/k2' } },
    ];
    const response = await client.txn.apply(ops);
    assert.equal(response.ok, false);
    assert.deepEqual(
      response.Errors.map((error) => error.OpIndex),
      [1, 2],
    );
    assert.match(response.Errors[0]!.What, /index is stale/);
    assert.equal(response.Errors[1]!.op, ops[2]);
    assert.equal((await client.kv.get('txn/k0')).data, null, 'op 0 was not applied');
    assert.equal(kvText((await client.kv.get('txn/k1')).data), 'v');
  });

  it('refuses 65 operations before sending; the agent answers 413 when bypassed', async () => {
    const ops: TxnOp[] = Array.from({ length: 65 }, (_, i) => ({
      KV: { Verb: 'set', Key: `txn/many/${i}`, Value: 'x' },
    }));
    await assert.rejects(
      client.txn.apply(ops),
      (error) => isConsulError(error) && error.code === 'CONSUL_TOO_LARGE',
    );
    assert.equal((await client.txn.apply(ops.slice(0, 64))).ok, true, '64 operations are fine');
    const body = ops.map((op) => ('KV' in op ? { KV: { ...op.KV, Value: 'eA==' } } : op));
    const raw = await client
      .request({ method: 'PUT', path: '/v1/txn', body })
      .catch((error: unknown) => error);
    assert.ok(isConsulError(raw));
    assert.equal(raw.code, 'CONSUL_TOO_LARGE');
    assert.match(raw.body ?? '', /too many operations/);
  });

  it('answers a denied token with CONSUL_PERMISSION_DENIED or a rollback, never a commit', async () => {
    const result = await client.txn
      .apply([{ KV: { Verb: 'set', Key: 'txn/denied', Value: 'x' } }], {
        token: '00000000-0000-4000-8000-00000000dead',
      })
      .catch((error: unknown) => error);
    if (isConsulError(result)) assert.equal(result.code, 'CONSUL_PERMISSION_DENIED');
    else assert.equal((result as { ok: boolean }).ok, false);
    assert.equal((await client.kv.get('txn/denied')).data, null);
  });
});
