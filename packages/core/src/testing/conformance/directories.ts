import assert from 'node:assert/strict';
import { readPages } from '../../pages.js';
import type { Entry, ListEntry } from '../../types.js';
import { expectCode, type StoreTest } from './support.js';

/** Directories and `list`: implied and made directories, flat and recursive listings, typed-directory rules. */
export function directoryTests(test: StoreTest): void {
  test('set creates parent directories; list is flat or recursive, sorted', async (open) => {
    const store = await open();
    await store.set('a/b/c', '1');
    await store.set('a/b/d', '2');
    await store.set('a/e', '3');
    await store.set('a/f/g/h', '4');
    await store.set('z', '5');
    const flat = await store.list('a');
    assert.deepEqual(
      flat.map((entry) => [entry.key, entry.dir === true]),
      [
        ['a/b', true],
        ['a/e', false],
        ['a/f', true],
      ],
    );
    const deep = await store.list('a', { recursive: true });
    const values = deep.filter((entry) => !entry.dir);
    assert.deepEqual(
      values.map((entry) => entry.key),
      ['a/b/c', 'a/b/d', 'a/e', 'a/f/g/h'],
    );
    assert.equal((values[0] as Entry).value, '1');
    assert.deepEqual(
      (await store.list('a/', { recursive: true })).map((e) => e.key),
      deep.map((e) => e.key),
      'trailing slash',
    );
    assert.deepEqual(
      (await store.list('')).map((entry) => entry.key),
      ['a', 'z'],
    );
  });

  test('list of a missing path or of a value is empty', async (open) => {
    const store = await open();
    await store.set('leaf', 'v');
    assert.deepEqual(await store.list('missing'), []);
    assert.deepEqual(await store.list('missing', { recursive: true }), []);
    assert.deepEqual(await store.list('leaf'), []);
  });

  test('a folder prefix never matches a longer sibling (app vs apple)', async (open) => {
    const store = await open();
    await store.set('app/x', '1');
    await store.set('apple', '2');
    await store.set('app2/y', '3');
    assert.deepEqual(
      (await store.list('app', { recursive: true })).map((entry) => entry.key),
      ['app/x'],
    );
    await store.del('app', { recursive: true });
    assert.equal((await store.get('apple'))?.value, '2');
    assert.equal((await store.get('app2/y'))?.value, '3');
  });

  test('get of a directory resolves null', async (open) => {
    const store = await open();
    await store.set('d/k', 'v');
    assert.equal(await store.get('d'), null);
  });

  test('typed directories: IS_A_DIRECTORY and NOT_A_DIRECTORY', async (open) => {
    const store = await open();
    if (!store.capabilities.typedDirectories) return;
    await store.set('d/k', 'v');
    await assert.rejects(store.set('d', 'v'), expectCode('IS_A_DIRECTORY'));
    await assert.rejects(store.set('d/k/under', 'v'), expectCode('NOT_A_DIRECTORY'));
    assert.equal((await store.get('d/k'))?.value, 'v');
  });

  test('mkdir makes an empty directory; again gives ALREADY_EXISTS', async (open) => {
    const store = await open();
    const dir = await store.mkdir('empty/dir');
    assert.equal(dir.dir, true);
    assert.equal(dir.key, 'empty/dir');
    assert.deepEqual(
      (await store.list('empty')).map((entry) => [entry.key, entry.dir]),
      [['empty/dir', true]],
    );
    await assert.rejects(store.mkdir('empty/dir'), expectCode('ALREADY_EXISTS'));
    await store.set('value', 'v');
    await assert.rejects(store.mkdir('value'), expectCode('ALREADY_EXISTS'));
  });

  test('del: value, missing, empty dir, non-empty dir, recursive', async (open) => {
    const store = await open();
    await store.set('k', 'v');
    assert.equal(await store.del('k'), true);
    assert.equal(await store.get('k'), null);
    assert.equal(await store.del('k'), false);
    await store.mkdir('e');
    assert.equal(await store.del('e'), true);
    assert.deepEqual(await store.list(''), []);
    await store.set('t/a', '1');
    await store.set('t/b/c', '2');
    await assert.rejects(store.del('t'), expectCode('IS_A_DIRECTORY'));
    assert.equal((await store.get('t/a'))?.value, '1', 'nothing deleted by the failed call');
    assert.equal(await store.del('t', { recursive: true }), true);
    assert.deepEqual(await store.list('', { recursive: true }), []);
  });

  test("del('', recursive) empties only this store's prefix", async (open) => {
    const store = await open();
    await store.set('a', '1');
    await store.set('b/c', '2');
    assert.equal(await store.del('', { recursive: true }), true);
    assert.deepEqual(await store.list('', { recursive: true }), []);
    await assert.rejects(store.del(''), expectCode('INVALID_ARGUMENT'));
  });

  test('readPages: the pages hold what list (recursive) holds, a directory before what is below it', async (open) => {
    const store = await open();
    await store.set('r/a', '1');
    await store.set('r/b/c', '2');
    await store.set('r/b/d/e', '3');
    await store.mkdir('r/empty');
    await store.set('r-sibling', 'not below r');
    const seen: ListEntry<string>[] = [];
    const firstPage = new Map<string, number>();
    let page = 0;
    for await (const { entries, unlisted } of readPages(store, 'r')) {
      assert.deepEqual(unlisted, []);
      for (const entry of entries) if (!firstPage.has(entry.key)) firstPage.set(entry.key, page);
      seen.push(...entries);
      page++;
    }
    const values = seen.filter((entry): entry is Entry => !entry.dir);
    assert.deepEqual(values.map((entry) => [entry.key, entry.value]).sort(), [
      ['r/a', '1'],
      ['r/b/c', '2'],
      ['r/b/d/e', '3'],
    ]);
    const listed = await store.list('r', { recursive: true });
    assert.deepEqual(
      [...new Set(seen.filter((entry) => entry.dir).map((entry) => entry.key))].sort(),
      listed
        .filter((entry) => entry.dir)
        .map((entry) => entry.key)
        .sort(),
    );
    for (const [key, at] of firstPage) {
      const parent = key.slice(0, key.lastIndexOf('/'));
      if (firstPage.has(parent)) assert.ok(firstPage.get(parent)! <= at, `${parent} comes before ${key}`);
    }
    for await (const { entries } of readPages(store, 'missing')) assert.deepEqual(entries, []);
  });
}
