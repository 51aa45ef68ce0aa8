import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore, isPolykvError, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { ConsulClient, createConsulStore, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev } from '../helpers/servers.js';

after(stopAllServers);

// Sessions down to 1 s, so that TTL tests take seconds, not the default minimum of 10 s.
const agent = await startConsulDev({ acl: true, hcl: ['session_ttl_min = "1s"'] });
// One client for every store of the suite, as many stores of one process would share it.
const client = new ConsulClient({ address: agent.address, token: agent.token });
after(() => client.close());

runStoreConformance(
  'consul (dev agent)',
  ({ prefix, codec }) =>
    createConsulStore({ client, prefix, minTtl: 1, lockDelay: 1000, ...(codec ? { codec } : {}) }),
  { breakLock: (store: Store, lock) => (store as ConsulStore).breakLock(lock) },
);

// The same suite through openStore: each store parses its URL and owns its client.
runStoreConformance(
  'consul:// URL (dev agent)',
  ({ prefix, codec }) =>
    openStore(`consul://${agent.address}/${prefix}?token=${agent.token}&minTtl=1&lockDelay=1000`, {
      ...(codec ? { codec } : {}),
    }),
  { breakLock: (store: Store, lock) => (store as ConsulStore).breakLock(lock) },
);

describe('consul:// URLs', () => {
  let store: Store | undefined;
  before(async () => {
    store = await openStore(
      `consul://${agent.address}/url-test?token=${agent.token}&minTtl=1&lockDelay=1000`,
    );
  });
  after(async () => {
    await store?.del('', { recursive: true });
    await store?.close();
  });

  it('opens a working store with the token, prefix and minTtl from the URL', async () => {
    assert.equal(store!.kind, 'consul');
    assert.equal(store!.prefix, 'url-test');
    assert.equal(store!.capabilities.minTtl, 1);
    const written = await store!.set('k', 'v', { ttl: 1 });
    assert.equal((await store!.get('k'))?.value, 'v');
    assert.ok(written.expiresAt instanceof Date);
    const { data } = await client.kv.get('url-test/k');
    assert.equal(Buffer.from(data!.Value!).toString(), 'v', 'the key lives under the prefix');
  });

  it('bad parameters are INVALID_ARGUMENT and never echo the token', async () => {
    for (const url of [
      `consul://${agent.address}/p?token=${agent.token}&bogus=1`,
      `consul://${agent.address}/p?token=${agent.token}&minTtl=abc`,
      `consul://${agent.address}/p?token=${agent.token}&lockDelay=-5`,
    ]) {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(isPolykvError(error));
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.ok(!error.message.includes(agent.token!), `the message hides the token: ${error.message}`);
        return true;
      });
    }
  });

  it('hosts become agent addresses (8500 by default, https for consuls://); options.consul goes over the URL', async () => {
    const tls = (await openStore('consuls://h1,h2:9000/p?dc=dc2')) as ConsulStore;
    assert.deepEqual(tls.client.agents, ['https://h1:8500', 'https://h2:9000']);
    await tls.close();
    const merged = (await openStore(`consul://${agent.address}/p?minTtl=1`, {
      consul: { minTtl: 3 },
    })) as ConsulStore;
    assert.equal(merged.capabilities.minTtl, 3);
    assert.equal(merged.prefix, 'p');
    await merged.close();
  });

  it('a wrong token is PERMISSION_DENIED', async () => {
    const denied = await openStore(`consul://${agent.address}/p?token=00000000-0000-4000-8000-00000000dead`);
    try {
      await assert.rejects(denied.set('k', 'v'), (error: unknown) => {
        assert.ok(isPolykvError(error));
        assert.equal(error.code, 'PERMISSION_DENIED');
        return true;
      });
    } finally {
      await denied.close();
    }
  });

  it('values over 512 KiB are VALUE_TOO_LARGE before sending; values just under go through', async () => {
    await assert.rejects(store!.set('big', 'x'.repeat(524_289)), (error: unknown) => {
      assert.ok(isPolykvError(error));
      assert.equal(error.code, 'VALUE_TOO_LARGE');
      return true;
    });
    const big = 'y'.repeat(524_288);
    const entry = await store!.set('big', big);
    assert.equal((await store!.get('big'))?.value, big);
    assert.equal((await store!.get('big'))?.index, entry.index);
  });

  it('values too large for a transaction body take PUT /v1/kv, with a TTL too', async () => {
    const big = 'z'.repeat(400_000);
    const entry = await store!.set('bigttl', big, { ttl: 1 });
    assert.ok(entry.expiresAt instanceof Date);
    assert.equal((await store!.get('bigttl'))?.value, big);
    const again = await store!.set('bigttl', `${big}!`, { ttl: 1 });
    assert.ok(again.index > entry.index);
    const limit = Date.now() + 2000 * 2 + 3000;
    while ((await store!.get('bigttl')) !== null) {
      assert.ok(Date.now() < limit, 'the large key expired');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await assert.rejects(
      store!.compareAndSwap('bigttl', big, { prevExist: false }, { ttl: 1 }),
      (error: unknown) => {
        assert.ok(isPolykvError(error));
        assert.equal(error.code, 'NOT_SUPPORTED');
        return true;
      },
    );
    const created = await store!.compareAndSwap('bigttl', big, { prevExist: false });
    assert.equal(created.value, big);
  });
});
