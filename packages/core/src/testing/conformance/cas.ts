import assert from 'node:assert/strict';
import { isPolykvError } from '../../errors.js';
import { expectCode, type StoreTest } from './support.js';

/** Compare-and-swap and compare-and-delete: each condition, create-vs-update, races. */
export function casTests(test: StoreTest): void {
  test('prevExist: false creates once, then ALREADY_EXISTS; also inside a new directory', async (open) => {
    const store = await open();
    const created = await store.compareAndSwap('new/dir/key', 'v1', { prevExist: false });
    assert.equal(created.value, 'v1');
    await assert.rejects(
      store.compareAndSwap('new/dir/key', 'v2', { prevExist: false }),
      expectCode('ALREADY_EXISTS'),
    );
    assert.equal((await store.get('new/dir/key'))?.value, 'v1');
  });

  test('prevIndex: current succeeds, stale gives COMPARE_FAILED, missing gives NOT_FOUND', async (open) => {
    const store = await open();
    const first = await store.set('k', 'v1');
    const second = await store.compareAndSwap('k', 'v2', { prevIndex: first.index });
    assert.ok(second.index > first.index);
    await assert.rejects(
      store.compareAndSwap('k', 'v3', { prevIndex: first.index }),
      expectCode('COMPARE_FAILED'),
    );
    assert.equal((await store.get('k'))?.value, 'v2');
    await assert.rejects(
      store.compareAndSwap('missing', 'v', { prevIndex: first.index }),
      expectCode('NOT_FOUND'),
    );
    assert.equal(await store.get('missing'), null);
  });

  test('prevValue: equal succeeds, different gives COMPARE_FAILED, missing gives NOT_FOUND', async (open) => {
    const store = await open();
    await store.set('k', 'v1');
    await store.compareAndSwap('k', 'v2', { prevValue: 'v1' });
    await assert.rejects(store.compareAndSwap('k', 'v3', { prevValue: 'v1' }), expectCode('COMPARE_FAILED'));
    assert.equal((await store.get('k'))?.value, 'v2');
    await assert.rejects(store.compareAndSwap('missing', 'v', { prevValue: 'x' }), expectCode('NOT_FOUND'));
  });

  test('a key given with a trailing slash behaves like the plain key', async (open) => {
    const store = await open();
    const created = await store.compareAndSwap('slash/', 'v1', { prevExist: false });
    assert.equal(created.key, 'slash');
    await store.compareAndSwap('slash/', 'v2', { prevIndex: created.index });
    assert.equal((await store.get('slash'))?.value, 'v2');
  });

  test('compareAndDelete by index and by value', async (open) => {
    const store = await open();
    const first = await store.set('k', 'v1');
    const second = await store.set('k', 'v2');
    await assert.rejects(
      store.compareAndDelete('k', { prevIndex: first.index }),
      expectCode('COMPARE_FAILED'),
    );
    await assert.rejects(store.compareAndDelete('k', { prevValue: 'v1' }), expectCode('COMPARE_FAILED'));
    assert.equal((await store.get('k'))?.value, 'v2');
    await store.compareAndDelete('k', { prevIndex: second.index });
    assert.equal(await store.get('k'), null);
    await store.set('k', 'v3');
    await store.compareAndDelete('k', { prevValue: 'v3' });
    assert.equal(await store.get('k'), null);
    await assert.rejects(store.compareAndDelete('k', { prevValue: 'v3' }), expectCode('NOT_FOUND'));
    await assert.rejects(store.compareAndDelete('k', { prevIndex: second.index }), expectCode('NOT_FOUND'));
  });

  test('conditions that are not exactly one form are INVALID_ARGUMENT', async (open) => {
    const store = await open();
    await assert.rejects(store.compareAndSwap('k', 'v', {} as never), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(
      store.compareAndSwap('k', 'v', { prevIndex: 1, prevValue: 'x' }),
      expectCode('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      store.compareAndSwap('k', 'v', { prevExist: true } as never),
      expectCode('INVALID_ARGUMENT'),
    );
    await assert.rejects(store.compareAndSwap('k', 'v', { prevIndex: -1 }), expectCode('INVALID_ARGUMENT'));
    assert.equal(await store.get('k'), null);
  });

  test('concurrent CAS increments: every success is counted exactly once', async (open) => {
    const stores = [await open(), await open()];
    await stores[0]!.set('counter', '0');
    let successes = 0;
    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 10; i++) {
          for (;;) {
            const current = (await store.get('counter'))!;
            try {
              await store.compareAndSwap('counter', String(Number(current.value) + 1), {
                prevIndex: current.index,
              });
              successes++;
              break;
            } catch (error) {
              if (!(isPolykvError(error) && error.code === 'COMPARE_FAILED')) throw error;
            }
          }
        }
      }),
    );
    assert.equal(successes, 20);
    assert.equal((await stores[0]!.get('counter'))?.value, '20');
  }, 30_000);
}
