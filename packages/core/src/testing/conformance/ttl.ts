import assert from 'node:assert/strict';
import { delay, expectCode, type StoreTest } from './support.js';

/** TTLs: expiry, refresh by a later write, the smallest TTL. */
export function ttlTests(test: StoreTest): void {
  test('a key with a TTL expires; one without stays', async (open) => {
    const store = await open();
    const ttl = store.capabilities.minTtl;
    const entry = await store.set('temp', 'v', { ttl });
    await store.set('kept', 'v');
    assert.ok(entry.expiresAt instanceof Date, 'expiresAt is set');
    assert.ok(
      Math.abs(entry.expiresAt.getTime() - (Date.now() + ttl * 1000)) < 2500,
      'expiresAt is about now + ttl',
    );
    const limit = Date.now() + ttl * 1000 * store.capabilities.ttlExpiryFactor + 3000;
    while ((await store.get('temp')) !== null) {
      assert.ok(Date.now() < limit, 'the key expired in time');
      await delay(200);
    }
    assert.equal((await store.get('kept'))?.value, 'v');
  }, 60_000);

  test('bad TTLs reject with INVALID_ARGUMENT and write nothing', async (open) => {
    const store = await open();
    for (const ttl of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 40, '5' as unknown as number]) {
      await assert.rejects(store.set('k', 'v', { ttl }), expectCode('INVALID_ARGUMENT'), String(ttl));
    }
    if (store.capabilities.minTtl > 1) {
      await assert.rejects(
        store.set('k', 'v', { ttl: store.capabilities.minTtl - 1 }),
        expectCode('INVALID_ARGUMENT'),
      );
    }
    assert.equal(await store.get('k'), null);
  });

  test('setting a key again without a TTL makes it permanent', async (open) => {
    const store = await open();
    const ttl = store.capabilities.minTtl;
    await store.set('k', 'v1', { ttl });
    const entry = await store.set('k', 'v2');
    assert.equal(entry.expiresAt, undefined);
    await delay(ttl * 1000 * store.capabilities.ttlExpiryFactor + 1500);
    assert.equal((await store.get('k'))?.value, 'v2');
  }, 60_000);
}
