import assert from 'node:assert/strict';
import { binaryCodec, jsonCodec } from '../../codec.js';
import { expectCode, type StoreTest } from './support.js';

/** Keys and values: the key model's edge cases, codecs, sizes, and what a write returns. */
export function keyTests(test: StoreTest): void {
  test('get of a missing key resolves null', async (open) => {
    const store = await open();
    assert.equal(await store.get('missing'), null);
    assert.equal(await store.get('missing/deeper/key'), null);
  });

  test('set then get returns the entry with indexes', async (open) => {
    const store = await open();
    const written = await store.set('x', 'one');
    assert.equal(written.key, 'x');
    assert.equal(written.value, 'one');
    assert.ok(written.index > 0, 'index is positive');
    assert.equal(written.createIndex, written.index);
    const read = await store.get('x');
    assert.deepEqual(
      { key: read?.key, value: read?.value, index: read?.index },
      { key: 'x', value: 'one', index: written.index },
    );
    const updated = await store.set('x', 'two');
    assert.ok(updated.index > written.index, 'index grows on update');
    assert.equal(updated.createIndex, written.createIndex, 'createIndex stays');
  });

  test('one leading and one trailing slash are ignored', async (open) => {
    const store = await open();
    await store.set('/x/y/', 'v');
    assert.equal((await store.get('x/y'))?.value, 'v');
    assert.equal((await store.get('/x/y'))?.key, 'x/y');
    await store.set('/top', 'v');
    assert.equal((await store.get('top/'))?.value, 'v');
  });

  test('keys with spaces, %, ?, #, %2F, unicode and emoji round-trip', async (open) => {
    const store = await open();
    const keys = [
      'with space',
      'per%cent',
      'what?',
      'hash#tag',
      'enc%2Fslash',
      'ünïcødé/日本',
      'emoji/🔑',
      'plus+sign',
      'a&b=c',
    ];
    for (const key of keys) await store.set(key, `value of ${key}`);
    for (const key of keys) assert.equal((await store.get(key))?.value, `value of ${key}`, key);
    const listed = (await store.list('', { recursive: true }))
      .filter((entry) => !entry.dir)
      .map((entry) => entry.key);
    assert.deepEqual(listed.sort(), [...keys].sort());
  });

  test('invalid keys reject with INVALID_ARGUMENT and write nothing', async (open) => {
    const store = await open();
    const bad = [
      '',
      '/',
      '//',
      'a//b',
      '.',
      '..',
      'a/../b',
      './a',
      'a/.',
      'tab\there',
      'nul\u0000',
      'nbsp\u00a0',
      'zero-width\u200bspace',
      'family\u{1f468}\u200d\u{1f469}',
      'bom\ufeff',
      'private\ue000',
      'x'.repeat(5000),
      '.polykv/locks/x',
      12 as unknown as string,
    ];
    for (const key of bad) {
      await assert.rejects(
        store.set(key, 'v'),
        expectCode('INVALID_ARGUMENT'),
        JSON.stringify(key).slice(0, 40),
      );
    }
    assert.deepEqual(await store.list('', { recursive: true }), []);
  });

  test('empty values and large values round-trip', async (open) => {
    const store = await open();
    await store.set('empty', '');
    assert.equal((await store.get('empty'))?.value, '');
    const big = 'x'.repeat(100_000);
    await store.set('big', big);
    assert.equal((await store.get('big'))?.value, big);
  });

  test('binary values round-trip byte for byte with binaryCodec', async (open) => {
    const store = await open(binaryCodec);
    // Backends that hold text (etcd v2) hold UTF-8 bytes; other bytes only by opt-in (fidelity tests).
    const bytes = store.capabilities.binaryValues
      ? new Uint8Array(256).map((_, i) => i)
      : new TextEncoder().encode('\u0000\u0001 text, é, ✓, 😀 \u007f');
    await store.set('bin', bytes);
    assert.deepEqual((await store.get('bin'))?.value, bytes);
    await store.set('none', new Uint8Array(0));
    assert.deepEqual((await store.get('none'))?.value, new Uint8Array(0));
    if (!store.capabilities.binaryValues) return;
    const invalidUtf8 = new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28]);
    await store.set('bad-utf8', invalidUtf8);
    assert.deepEqual((await store.get('bad-utf8'))?.value, invalidUtf8);
    await store.compareAndSwap('bad-utf8', bytes, { prevValue: invalidUtf8 });
    assert.deepEqual((await store.get('bad-utf8'))?.value, bytes);
  });

  test('JSON values round-trip with jsonCodec', async (open) => {
    const store = await open(jsonCodec);
    const value = { port: 5432, hosts: ['a', 'b'], nested: { on: true, none: null } };
    await store.set('cfg', value);
    assert.deepEqual((await store.get('cfg'))?.value, value);
    await assert.rejects(store.set('bad', undefined), expectCode('INVALID_ARGUMENT'));
  });

  test('a string with a lone surrogate is rejected, not mangled', async (open) => {
    const store = await open();
    await assert.rejects(store.set('k', 'bad \ud800 value'), expectCode('INVALID_ARGUMENT'));
    assert.equal(await store.get('k'), null);
  });

  test('options of the wrong type reject with INVALID_ARGUMENT', async (open) => {
    const store = await open();
    await assert.rejects(store.set('k', 'v', 'ttl' as never), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.set('k', 'v', { signal: 'no' as never }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.get('k', { timeout: -1 }), expectCode('INVALID_ARGUMENT'));
    assert.equal(await store.get('k'), null);
  });
}
