import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPolykvError } from '@polykv/core';
import { createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';

const invalid =
  (secret?: string) =>
  (error: unknown): boolean => {
    assert.ok(isPolykvError(error), `a PolykvError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    if (secret) assert.equal(error.message.includes(secret), false, 'the secret is not echoed');
    return true;
  };

describe('store factories reject bad options with INVALID_ARGUMENT', () => {
  it('etcd: hosts of the wrong type, none, malformed, with credentials', () => {
    assert.throws(() => createEtcdStore({ hosts: 42 as never }), invalid());
    assert.throws(() => createEtcdStore({ hosts: [] }), invalid());
    assert.throws(() => createEtcdStore({ hosts: ['http://user:hunter2@h:1:2'] }), invalid('hunter2'));
    assert.throws(() => createEtcdStore({ hosts: ['http://user:hunter2@h:2379'] }), invalid('hunter2'));
  });

  it('consul: an address of the wrong type or malformed', () => {
    assert.throws(() => createConsulStore({ client: { address: 42 as never } }), invalid());
    assert.throws(() => createConsulStore({ client: { address: 'http://h:8500/path' } }), invalid());
  });
});
