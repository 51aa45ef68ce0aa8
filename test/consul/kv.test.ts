import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConsulClient, isConsulError, kvText, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import type { ConsulAgent } from '../helpers/servers.js';
import { useAclFixture } from './fixture.js';

after(stopAllServers);

const DENIED = '00000000-0000-4000-8000-00000000dead';
const isCode = (code: ConsulError['code']) => (error: unknown) => isConsulError(error) && error.code === code;

describe('KV against a real agent (ACLs on)', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  useAclFixture((fixture) => ({ agent, consul: client } = fixture));

  it('stores text, bytes and empty values; get, getRaw and 404 → null with an index', async () => {
    assert.equal(await client.kv.put('kv/text', 'héllo'), true);
    assert.equal(kvText((await client.kv.get('kv/text')).data), 'héllo');
    const bytes = new Uint8Array([0, 1, 255, 65]);
    await client.kv.put('kv/bin', bytes);
    assert.deepEqual((await client.kv.get('kv/bin')).data?.Value, bytes);
    assert.deepEqual((await client.kv.getRaw('kv/bin')).data, bytes);
    await client.kv.put('kv/empty');
    const empty = (await client.kv.get('kv/empty')).data;
    assert.equal(empty?.Value, null);
    const missing = await client.kv.get('kv/missing');
    assert.equal(missing.data, null);
    assert.ok((missing.meta.index ?? 0) > 0, 'a 404 still reports the index to block on');
    assert.equal((await client.kv.getRaw('kv/missing')).data, null);
  });

  it('keeps uint64 flags exact', async () => {
    await client.kv.put('kv/flags', 'x', { flags: 18446744073709551615n });
    assert.equal((await client.kv.get('kv/flags')).data?.Flags, 18446744073709551615n);
    await client.kv.put('kv/flags', 'x', { flags: 42 });
    assert.equal((await client.kv.get('kv/flags')).data?.Flags, 42n);
  });

  it('lists by plain string prefix; keys with a separator; an empty prefix is []', async () => {
    for (const key of ['app/config/a', 'app/config/b', 'app/db/x', 'app/top', 'apple'])
      await client.kv.put(key, key);
    const all = (await client.kv.list('app')).data.map((pair) => pair.Key);
    assert.deepEqual(all, ['app/config/a', 'app/config/b', 'app/db/x', 'app/top', 'apple']);
    assert.deepEqual((await client.kv.keys('app', { separator: '/' })).data, ['app/', 'apple']);
    assert.deepEqual((await client.kv.keys('app/', { separator: '/' })).data, [
      'app/config/',
      'app/db/',
      'app/top',
    ]);
    assert.deepEqual((await client.kv.list('nothing/')).data, []);
    assert.deepEqual((await client.kv.keys('nothing/')).data, []);
  });

  it('answers CAS and deletes with the boolean body', async () => {
    assert.equal(await client.kv.cas('kv/cas', 'one', 0), true, 'cas=0 creates');
    assert.equal(await client.kv.cas('kv/cas', 'two', 0), false, 'cas=0 on an existing key');
    const index = (await client.kv.get('kv/cas')).data!.ModifyIndex;
    assert.equal(await client.kv.cas('kv/cas', 'two', index), true);
    assert.equal(await client.kv.cas('kv/cas', 'three', index), false, 'a stale index');
    assert.equal(await client.kv.delete('kv/cas', { cas: index }), false);
    const current = (await client.kv.get('kv/cas')).data!.ModifyIndex;
    assert.equal(await client.kv.delete('kv/cas', { cas: current }), true);
    assert.equal((await client.kv.get('kv/cas')).data, null);
    await client.kv.put('tree/a', '1');
    await client.kv.put('tree/b/c', '2');
    await client.kv.put('treehouse', '3');
    assert.equal(await client.kv.deleteTree('tree/'), true);
    assert.deepEqual((await client.kv.keys('tree')).data, ['treehouse']);
  });

  it('acquires and releases with sessions', async () => {
    const one = await client.session.create({ LockDelay: 0 });
    const two = await client.session.create({ LockDelay: 0 });
    assert.equal(await client.kv.acquire('kv/lock', one, 'held'), true);
    assert.equal(await client.kv.acquire('kv/lock', one), true, 'the holder may acquire again');
    assert.equal((await client.kv.get('kv/lock')).data?.LockIndex, 1);
    assert.equal(await client.kv.acquire('kv/lock', two), false);
    assert.equal(await client.kv.release('kv/lock', two), false, 'a non-holder cannot release');
    assert.equal(await client.kv.release('kv/lock', one), true);
    assert.equal(await client.kv.acquire('kv/lock', two), true);
    assert.equal((await client.kv.get('kv/lock')).data?.Session, two);
    await client.session.destroy(one);
    await client.session.destroy(two);
  });

  it('wakes a blocking get when the key changes', async () => {
    await client.kv.put('kv/block', 'a');
    const { meta } = await client.kv.get('kv/block');
    const blocked = client.kv.get('kv/block', { index: meta.index!, wait: '30s' });
    await client.kv.put('kv/block', 'b');
    const woken = await blocked;
    assert.equal(kvText(woken.data), 'b');
    assert.ok(woken.meta.index! > meta.index!);
  });

  it('refuses values over 512 KiB itself, and the agent answers 413 when the check is bypassed', async () => {
    await assert.rejects(client.kv.put('kv/big', new Uint8Array(524_289)), isCode('CONSUL_TOO_LARGE'));
    assert.equal(await client.kv.put('kv/big', new Uint8Array(524_288)), true);
    const raw = await client
      .request({ method: 'PUT', path: '/v1/kv/kv/big', body: new Uint8Array(524_289), read: 'bool' })
      .catch((error: unknown) => error);
    assert.ok(isConsulError(raw));
    assert.equal(raw.code, 'CONSUL_TOO_LARGE');
    assert.equal(raw.statusCode, 413);
    assert.match(raw.body ?? '', /too large/);
  });

  it('answers a denied token with CONSUL_PERMISSION_DENIED (and filters listings to [])', async () => {
    await assert.rejects(client.kv.get('kv/text', { token: DENIED }), isCode('CONSUL_PERMISSION_DENIED'));
    await assert.rejects(
      client.kv.put('kv/text', 'x', { token: DENIED }),
      isCode('CONSUL_PERMISSION_DENIED'),
    );
    const anonymous = new ConsulClient({ address: agent.address });
    try {
      await assert.rejects(anonymous.kv.put('kv/text', 'x'), isCode('CONSUL_PERMISSION_DENIED'));
      assert.deepEqual((await anonymous.kv.keys('app/')).data, [], 'listings are filtered silently');
    } finally {
      await anonymous.close();
    }
  });
});
