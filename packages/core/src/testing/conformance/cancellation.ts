import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
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

  test('a signal shared by many calls keeps nothing of them once they settled', async (open) => {
    // An application passes one long-lived signal (its shutdown) to every call: each settled call
    // must leave nothing on it, or the signal grows with every call made (see core's `follow`).
    const store = await open();
    const controller = new AbortController();
    const options = { signal: controller.signal, timeout: 30_000 };
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.set(`shared/k${i}`, 'v', options)));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.get(`shared/k${i}`, options)));
    await store.list('shared', options);
    await store.del('shared/k0', options);
    assert.ok(getEventListeners(controller.signal, 'abort').length <= 1, 'at most one listener on it');
    assert.equal(dependantSignals(controller.signal), 0, 'no signal combined from it is kept');
  });

  test('a signal shared by calls and watches in flight gets one listener; aborting it ends them', async (open) => {
    // One listener however many share the signal: Node warns of a leak (MaxListenersExceededWarning)
    // past ten listeners on one signal, and an application's shutdown signal goes to every call.
    const store = await open();
    const controller = new AbortController();
    const { signal } = controller;
    const watches = Array.from({ length: 20 }, (_, i) => store.watch(`shared/w${i}`, { signal }));
    const ended = watches.map((watch) => new Promise<void>((resolve) => watch.once('end', resolve)));
    const gets = Promise.all(Array.from({ length: 40 }, (_, i) => store.get(`shared/g${i}`, { signal })));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(
      getEventListeners(signal, 'abort').length <= 1,
      'at most one listener while they are in flight',
    );
    await gets;
    controller.abort(new Error('shutting down'));
    await Promise.all(ended);
    assert.ok(watches.every((watch) => watch.ended));
  });

  test('calls after close reject with CLOSED', async (open) => {
    const store = await open();
    await store.close();
    await assert.rejects(store.get('k'), expectCode('CLOSED'));
    await assert.rejects(store.set('k', 'v'), expectCode('CLOSED'));
    await store.close();
  });
}

/**
 * How many signals Node keeps as combined from `signal` (`AbortSignal.any` registers each one on
 * its sources, under an internal symbol); 0 when it keeps none.
 */
function dependantSignals(signal: AbortSignal): number {
  const symbol = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  // Node's own Set class (not `instanceof Set`): read its size.
  const set =
    symbol === undefined ? undefined : (signal as unknown as Record<symbol, { size?: unknown }>)[symbol];
  return typeof set?.size === 'number' ? set.size : 0;
}
