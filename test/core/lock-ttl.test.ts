import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore, sleep } from '@polykv/core';

describe('lock keep-alive', () => {
  it('renews a lock whose TTL is not a multiple of 3 seconds (2 s held for 3 TTLs)', async () => {
    // The renewal's own timeout was ttl/3 ms unrounded (666.67 for 2 s, 3333.33 for Consul's and
    // etcd's usual 10 s): AbortSignal.timeout threw, every renewal failed, and the lock was lost.
    const store = createMemoryStore();
    try {
      const lock = await store.lock('k', { ttl: 2 });
      let lost: unknown;
      lock.on('lost', (error) => (lost = error));
      await sleep(6000);
      assert.equal(lost, undefined);
      assert.equal(lock.held, true);
      await lock.release();
    } finally {
      await store.close();
    }
  });
});
