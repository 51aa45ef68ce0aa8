// The published Keyv store test suite (@keyv/test-suite) against KeyvPolykv, under vitest (the suite
// is written for it). Run by keyv.test.ts, which starts the servers and passes their store URLs in
// POLYKV_KEYV_URLS (a JSON array); this file is not a node:test file.
import keyvTestSuite from '@keyv/test-suite';
import { openStore, type Store } from '@polykv/core';
import { KeyvPolykv } from '@polykv/keyv';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import * as vitest from 'vitest';

// The adapter is a Keyv store by Keyv's own type, not only by duck typing at run time.
const _typeCheck: (adapter: KeyvPolykv) => KeyvStoreAdapter = (adapter) => adapter;

const urls = JSON.parse(process.env.POLYKV_KEYV_URLS ?? '[]') as string[];
if (urls.length === 0) throw new Error('POLYKV_KEYV_URLS names no store (keyv.test.ts sets it)');

for (const url of urls) {
  vitest.describe(url.replace(/\?.*/, ''), () => {
    let store: Store | undefined;
    vitest.beforeAll(async () => {
      store = await openStore(url);
    });
    vitest.afterAll(async () => {
      await store?.close();
    });
    // A new adapter per call (Keyv sets the namespace on its store), all on the one open store.
    keyvTestSuite(vitest, Keyv, () => new KeyvPolykv(store!, { prefix: 'keyv-suite' }));
  });
}
