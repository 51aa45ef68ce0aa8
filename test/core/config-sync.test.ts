// loadConfigSync on memory:// (read in this process, no worker) and errors crossing threads as the same class.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binaryCodec,
  createMemoryStore,
  InvalidArgumentError,
  isPolykvError,
  KeyHeldError,
  loadConfigSync,
  reviveError,
  transferError,
  TimeoutError,
  UnavailableError,
  type PolykvError,
} from '@polykv/core';

describe('loadConfigSync: memory://', () => {
  it("reads this process's named data set; codec and json as loadConfig", async () => {
    const store = createMemoryStore({ name: 'config-sync', prefix: 'app' });
    await store.set('cfg/db/port', '5432');
    await store.mkdir('cfg/empty');
    const bytes = createMemoryStore({ name: 'config-sync', prefix: 'app', codec: binaryCodec });
    await bytes.set('bin/blob', new Uint8Array([0xff, 0]));
    assert.deepEqual(loadConfigSync('memory://config-sync/app', 'cfg'), { db: { port: '5432' }, empty: {} });
    assert.deepEqual(loadConfigSync('memory://config-sync/app', 'cfg', { json: true }), {
      db: { port: 5432 },
      empty: {},
    });
    assert.deepEqual(loadConfigSync('memory://config-sync/app', 'bin', { codec: binaryCodec }), {
      blob: new Uint8Array([0xff, 0]),
    });
    assert.throws(
      () => loadConfigSync('memory://config-sync/app', 'bin'),
      (error: unknown) => (error as PolykvError).code === 'UNREPRESENTABLE',
    );
    assert.deepEqual(loadConfigSync('memory://config-sync/app', 'missing'), {});
  });

  it('refuses memory:// without a name, bad options and bad prefixes with INVALID_ARGUMENT', () => {
    for (const call of [
      () => loadConfigSync('memory://', 'cfg'),
      () => loadConfigSync('memory://x', 'cfg', { timeout: -1 }),
      () => loadConfigSync('memory://x', 'cfg', { bogus: 1 } as never),
      () => loadConfigSync('nope://x', 'cfg'),
    ]) {
      assert.throws(call, (error: unknown) => (error as PolykvError).code === 'INVALID_ARGUMENT');
    }
  });
});

describe('errors crossing a thread', () => {
  it('come back as the same class with their fields', () => {
    const cases: PolykvError[] = [
      new TimeoutError('slow', { timeoutMs: 5 }),
      new UnavailableError('down', { hosts: [{ host: 'http://h:1', error: new Error('ECONNREFUSED') }] }),
      new InvalidArgumentError('url', 'bad url'),
      new KeyHeldError('k', { session: 's', sessionName: 'n', node: 'x' }),
    ];
    for (const error of cases) {
      const back = reviveError(structuredClone(transferError(error)));
      assert.equal(back.constructor, error.constructor);
      assert.equal(back.code, error.code);
      assert.equal(back.message, error.message);
      assert.ok(isPolykvError(back));
    }
    const unavailable = reviveError(transferError(cases[1])) as UnavailableError;
    assert.equal(unavailable.hosts[0]?.host, 'http://h:1');
    assert.equal((reviveError(transferError(cases[0])) as TimeoutError).timeoutMs, 5);
    assert.equal((reviveError(transferError(cases[2])) as InvalidArgumentError).argument, 'url');
    assert.equal(reviveError(transferError(new Error('boom'))).code, 'BACKEND_ERROR');
  });
});
