import assert from 'node:assert/strict';
import { expectCode, type StoreTest } from './support.js';

/** Cancellation and close: an aborted signal writes nothing; calls after close reject. */
export function cancellationTests(test: StoreTest): void {
  test('an aborted signal rejects with ABORTED and writes nothing', async (open) => {
    const store = await open();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(store.set('k', 'v', { signal: controller.signal }), expectCode('ABORTED'));
    await assert.rejects(store.get('k', { signal: controller.signal }), expectCode('ABORTED'));
    assert.equal(await store.get('k'), null);
  });

  test('calls after close reject with CLOSED', async (open) => {
    const store = await open();
    await store.close();
    await assert.rejects(store.get('k'), expectCode('CLOSED'));
    await assert.rejects(store.set('k', 'v'), expectCode('CLOSED'));
    await store.close();
  });
}
