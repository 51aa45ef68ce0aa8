import assert from 'node:assert/strict';
import { binaryCodec, jsonCodec, type Codec } from '../codec.js';
import { isPolykvError, type PolykvErrorCode } from '../errors.js';
import type { Store } from '../store.js';
import type { WatchEvent } from '../watch/events.js';

/** For `assert.rejects`: a PolykvError with this code. */
export function expectCode(code: PolykvErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(isPolykvError(error), `expected a PolykvError with code ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
    return true;
  };
}

/** The suite's test helper: fresh stores on one fresh prefix (see `runStoreConformance`). */
export type StoreTest = (
  title: string,
  fn: (open: <V = string>(codec?: Codec<V>) => Promise<Store<V>>) => Promise<void>,
  timeout?: number,
) => void;

/**
 * Fidelity with data other tools wrote (issue 12): flags are carried where the backend has them
 * and refused where it has none; a value a text codec cannot read is refused, never changed; clean
 * data has no key that `list` leaves out.
 */
export function fidelityTests(test: StoreTest): void {
  test('flags: kept where capabilities.flags, else NOT_SUPPORTED with nothing written', async (open) => {
    const store = await open();
    await assert.rejects(store.set('bad', 'v', { flags: -1 }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.set('bad', 'v', { flags: 1.5 }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.set('bad', 'v', { flags: 1n << 64n }), expectCode('INVALID_ARGUMENT'));
    assert.equal(await store.get('bad'), null);
    const zero = await store.set('zero', 'v', { flags: 0 });
    assert.equal(zero.flags, undefined, 'flags 0 are no flags');
    if (!store.capabilities.flags) {
      await assert.rejects(store.set('f', 'v', { flags: 1 }), expectCode('NOT_SUPPORTED'));
      await assert.rejects(store.push('q', 'v', { flags: 1n }), expectCode('NOT_SUPPORTED'));
      assert.equal(await store.get('f'), null);
      return;
    }
    assert.equal((await store.set('f', 'v', { flags: 42 })).flags, 42n);
    assert.equal((await store.get('f'))?.flags, 42n);
    const listed = (await store.list('')).find((entry) => entry.key === 'f');
    assert.equal(listed && !listed.dir ? listed.flags : undefined, 42n);
    const max = (1n << 64n) - 1n;
    await store.compareAndSwap('f', 'w', { prevValue: 'v' }, { flags: max });
    assert.equal((await store.get('f'))?.flags, max, 'a uint64 stays exact');
    const watcher = store.watch('f');
    try {
      const next: IteratorResult<WatchEvent<string>> = await watcher[Symbol.asyncIterator]().next();
      const event = next.done ? undefined : next.value;
      assert.equal(event?.type === 'put' ? event.flags : undefined, max, 'watch events carry flags');
    } finally {
      await watcher.close();
    }
    await store.set('f', 'x');
    assert.equal((await store.get('f'))?.flags, undefined, 'a write without flags writes none');
    const pushed = await store.push('q', 'v', { flags: 7 });
    assert.equal((await store.get(pushed.key))?.flags, 7n);
  });

  test('bytes that are not UTF-8: held exactly or refused, and text codecs never read them as U+FFFD', async (open) => {
    const bytes = await open(binaryCodec);
    const bad = new Uint8Array([0xff, 0xfe, 0x00, 0x61, 0xc3, 0x28]);
    const written = await bytes.set('bad', bad).then(
      () => true,
      (error: unknown) => expectCode('UNREPRESENTABLE')(error) && false,
    );
    if (bytes.capabilities.binaryValues) assert.ok(written, 'binaryValues backends hold any bytes');
    const utf8 = new TextEncoder().encode('héllo ✓');
    await bytes.set('good', utf8);
    const text = await open();
    assert.equal((await text.get('good'))?.value, 'héllo ✓');
    if (!written) {
      assert.equal(await bytes.get('bad'), null, 'a refused write wrote nothing');
      return;
    }
    assert.deepEqual((await bytes.get('bad'))?.value, bad);
    await assert.rejects(text.get('bad'), (error: unknown) => {
      expectCode('UNREPRESENTABLE')(error);
      assert.equal((error as { key?: string }).key, 'bad');
      return true;
    });
    const json = await open(jsonCodec);
    await assert.rejects(json.get('bad'), expectCode('UNREPRESENTABLE'));
    await assert.rejects(text.list(''), expectCode('UNREPRESENTABLE'));
    // A watch with a text codec ends loudly on such a value: at the start, and when one arrives.
    const atStart = text.watch('bad');
    atStart.on('error', () => undefined);
    await assert.rejects(atStart.closed, expectCode('UNREPRESENTABLE'));
    const live = text.watch('later');
    live.on('error', () => undefined);
    await new Promise<void>((resolve) => live.once('connected', () => resolve()));
    await bytes.set('later', bad);
    await assert.rejects(live.closed, expectCode('UNREPRESENTABLE'));
  });

  test('unlisted: clean data has no key that list leaves out', async (open) => {
    const store = await open();
    await store.set('a/b', 'v');
    await store.set('empty', '');
    await store.mkdir('d');
    const lock = await store.lock('held', { ttl: Math.max(store.capabilities.minTtl, 5) });
    try {
      assert.deepEqual(await store.unlisted(''), []);
      assert.deepEqual(await store.unlisted('a'), []);
      assert.deepEqual(await store.unlisted('missing'), []);
      await assert.rejects(store.unlisted('a//b'), expectCode('INVALID_ARGUMENT'));
    } finally {
      await lock.release();
    }
  });
}
