import assert from 'node:assert/strict';
import type { Entry } from '../../types.js';
import type { StoreTest } from './support.js';

/** `push`: in-order keys. */
export function pushTests(test: StoreTest): void {
  test('pushed keys sort in push order, also from concurrent clients', async (open) => {
    const stores = [await open(), await open()];
    const first = await stores[0]!.push('queue', 'first');
    const second = await stores[0]!.push('queue', 'second');
    assert.ok(second.key > first.key, 'later push sorts after');
    assert.ok(first.key.startsWith('queue/'));
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 2]!.push('queue', `c${i}`)),
    );
    const keys = new Set(concurrent.map((entry) => entry.key));
    assert.equal(keys.size, 20, 'every push made its own key');
    const listed = (await stores[1]!.list('queue')).filter((entry): entry is Entry => !entry.dir);
    assert.equal(listed.length, 22);
    const byIndex = [...listed].sort((a, b) => a.createIndex - b.createIndex).map((entry) => entry.key);
    assert.deepEqual(
      listed.map((entry) => entry.key),
      byIndex,
      'key order is creation order',
    );
    assert.equal(listed[0]!.value, 'first');
  }, 20_000);
}
