import assert from 'node:assert/strict';
import type { Lock } from '../../lock.js';
import { delay, expectCode, type StoreTest } from './support.js';

/** Semaphores: the limit under contention, release, a dead holder's slot, waiting (signal, timeout). */
export function semaphoreTests(test: StoreTest): void {
  test('N+2 contenders never hold more than N slots at once, and all get one', async (open) => {
    const limit = 2;
    const stores = await Promise.all(Array.from({ length: limit + 2 }, () => open()));
    const ttl = Math.max(stores[0]!.capabilities.minTtl, 5);
    let holders = 0;
    let most = 0;
    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 2; i++) {
          const slot = await store.semaphore('sem', { limit, ttl, wait: 60_000 });
          holders++;
          most = Math.max(most, holders);
          assert.ok(holders <= limit, `${holders} holders with limit ${limit}`);
          await delay(100);
          holders--;
          await slot.release();
        }
      }),
    );
    assert.ok(most <= limit);
  }, 90_000);

  test('a full semaphore: a contender times out (wait), and release frees a slot', async (open) => {
    const [a, b, c] = [await open(), await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 5);
    const first = await a.semaphore('sem', { limit: 2, ttl });
    const second = await b.semaphore('sem', { limit: 2, ttl, wait: 5000 });
    assert.equal(first.held && second.held, true);
    await assert.rejects(c.semaphore('sem', { limit: 2, ttl, wait: 0 }), expectCode('TIMEOUT'));
    await assert.rejects(c.semaphore('sem', { limit: 2, ttl, wait: 300 }), expectCode('TIMEOUT'));
    const waiting = c.semaphore('sem', { limit: 2, ttl, wait: 20_000 });
    await delay(300);
    await second.release();
    const third = await waiting;
    assert.equal(third.held, true);
    assert.equal(first.held, true);
    await third.release();
    await first.release();
  }, 60_000);

  test("a dead holder's slot frees after its TTL", async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 2);
    const dead = await a.semaphore('sem', { limit: 1, ttl });
    dead.abandon();
    assert.equal(dead.held, false);
    const next: Lock = await b.semaphore('sem', {
      limit: 1,
      ttl,
      wait: ttl * 1000 * a.capabilities.ttlExpiryFactor + 30_000,
    });
    assert.equal(next.held, true);
    await next.release();
  }, 120_000);

  test('waiting for a slot honours signal and timeout; a bad limit is INVALID_ARGUMENT', async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 5);
    await assert.rejects(a.semaphore('sem', { limit: 0 }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(a.semaphore('sem', { limit: 1.5 }), expectCode('INVALID_ARGUMENT'));
    const held = await a.semaphore('sem', { limit: 1, ttl });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(
      b.semaphore('sem', { limit: 1, ttl, signal: controller.signal }),
      expectCode('ABORTED'),
    );
    await assert.rejects(b.semaphore('sem', { limit: 1, ttl, timeout: 200 }), expectCode('TIMEOUT'));
    await held.release();
    const after = await b.semaphore('sem', { limit: 1, ttl, wait: 5000 });
    await after.release();
  }, 30_000);
}
