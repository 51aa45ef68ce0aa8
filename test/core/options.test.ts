import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore, isPolykvError, openStore } from '@polykv/core';

// Options bags outside the Store methods (those are in the conformance suite): openStore's and the
// memory store's. A misspelled or misplaced option is INVALID_ARGUMENT naming it, never ignored.

function namesOption(option: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isPolykvError(error), String(error));
    assert.equal(error.code, 'INVALID_ARGUMENT', error.message);
    assert.equal((error as { argument?: string }).argument, option, error.message);
    return true;
  };
}

describe('options outside the Store methods', () => {
  it('openStore: an unknown option, or a backend bag that is not an object', async () => {
    await assert.rejects(openStore('memory://', { codc: undefined } as object), namesOption('codc'));
    await assert.rejects(openStore('memory://', { etcd: 'h:2379' } as object), namesOption('etcd'));
  });

  it('createMemoryStore: an unknown option or a wrong type', () => {
    assert.throws(() => createMemoryStore({ prefx: 'a' } as object), namesOption('prefx'));
    assert.throws(() => createMemoryStore({ historySize: '10' } as object), namesOption('historySize'));
  });

  it('the message names the option and suggests the near miss', async () => {
    const store = createMemoryStore();
    await assert.rejects(store.set('k', 'v', { tll: 30 } as object), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /unknown option "tll" \(did you mean ttl\?\)/);
      return true;
    });
    await store.close();
  });

  it('a held lock: release with an unknown option is INVALID_ARGUMENT, the lock stays held', async () => {
    const store = createMemoryStore();
    const lock = await store.lock('l');
    await assert.rejects(lock.release({ timout: 5 } as object), namesOption('timout'));
    assert.equal(lock.held, true);
    await lock.release();
    await store.close();
  });
});
