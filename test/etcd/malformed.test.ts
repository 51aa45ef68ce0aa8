import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError, type Store } from '@polykv/core';
import { createEtcdStore, EtcdClient, isEtcdError } from '@polykv/etcd';
import { FakeServer } from '../helpers/fake-server.js';

// Answers no etcd member sends: a 200 whose body is JSON but not a keys result. A proxy, a
// misrouted request or a broken member can produce them; played by a fake server. Each must fail
// as BACKEND_ERROR (cause: ETCD_BAD_RESPONSE), and no write may resolve as if it had worked.

const node = { key: '/k', value: 'v', modifiedIndex: 5, createdIndex: 5 };

const malformed: [name: string, body: unknown][] = [
  ['an array', [1, 2, 3]],
  ['a directory with a null child', { action: 'get', node: { key: '/k', dir: true, nodes: [null] } }],
  ['an empty object', {}],
  ['JSON null', 'null'],
  ['a JSON string', '"ok"'],
  ['a node whose key is a number', { action: 'set', node: { ...node, key: 5 } }],
  ['a node without indexes', { action: 'set', node: { key: '/k', value: 'v' } }],
  ['a node whose value is a number', { action: 'set', node: { ...node, value: 7 } }],
  ['children that are not a list', { action: 'get', node: { ...node, dir: true, nodes: {} } }],
  [
    'a child without a key',
    { action: 'get', node: { ...node, dir: true, value: undefined, nodes: [{ value: 'x' }] } },
  ],
];

/** Every Store call, each given a directory-ish or key-ish argument. */
const calls: [name: string, call: (store: Store) => Promise<unknown>][] = [
  ['get', (store) => store.get('k')],
  ['list', (store) => store.list('k')],
  ['list recursive', (store) => store.list('k', { recursive: true })],
  ['set', (store) => store.set('k', 'v')],
  ['del', (store) => store.del('k')],
  ['del recursive', (store) => store.del('k', { recursive: true })],
  ['mkdir', (store) => store.mkdir('k')],
  ['push', (store) => store.push('k', 'v')],
  ['compareAndSwap prevValue', (store) => store.compareAndSwap('k', 'v', { prevValue: 'u' })],
  ['compareAndSwap prevExist', (store) => store.compareAndSwap('k', 'v', { prevExist: false })],
  ['compareAndDelete', (store) => store.compareAndDelete('k', { prevIndex: 5 })],
];

function isBadResponse(error: unknown): boolean {
  assert.ok(isPolykvError(error), `a PolykvError, got ${String(error)}`);
  assert.equal(error.code, 'BACKEND_ERROR', error.message);
  assert.ok(isEtcdError(error.cause), `cause is an EtcdError, got ${String(error.cause)}`);
  assert.equal(error.cause.code, 'ETCD_BAD_RESPONSE');
  return true;
}

describe('etcd: malformed answers are BACKEND_ERROR, never a success', () => {
  let fake: FakeServer;
  let store: Store;
  before(async () => {
    fake = await FakeServer.start();
    store = createEtcdStore({ hosts: fake.address, maxRetries: 0 });
  });
  after(async () => {
    await store.close();
    await fake.close();
  });

  for (const [bodyName, body] of malformed) {
    for (const [callName, call] of calls) {
      it(`${callName} on a 200 with ${bodyName}`, async () => {
        fake.setFallback({
          status: 200,
          body,
          headers: { 'content-type': 'application/json', 'x-etcd-index': '9' },
        });
        await assert.rejects(call(store), isBadResponse);
      });
    }
  }

  // A well-formed node with the wrong action: a write answered as a read did not happen.
  const writes = calls.filter(([name]) => !name.startsWith('get') && !name.startsWith('list'));
  for (const [callName, call] of writes) {
    it(`${callName} answered with action "get" (a read, not the write)`, async () => {
      fake.setFallback({ status: 200, body: { action: 'get', node: { ...node } } });
      await assert.rejects(call(store), isBadResponse);
    });
  }

  it('the native client rejects the same answers with ETCD_BAD_RESPONSE', async () => {
    const client = new EtcdClient({ hosts: fake.address, maxRetries: 0 });
    try {
      for (const [name, body] of malformed) {
        fake.setFallback({ status: 200, body });
        for (const call of [
          () => client.keys.get('k'),
          () => client.keys.set('k', 'v'),
          () => client.keys.create('k', 'v'),
          () => client.keys.del('k'),
          () => client.keys.wait('k'),
        ]) {
          await assert.rejects(call(), (error: unknown) => {
            assert.ok(isEtcdError(error), `${name}: ${String(error)}`);
            assert.equal(error.code, 'ETCD_BAD_RESPONSE', `${name}: ${error.message}`);
            return true;
          });
        }
      }
    } finally {
      await client.close();
    }
  });

  it("the root's real answer (a directory without key or indexes) still reads as the root", async () => {
    fake.setFallback({ status: 200, body: { action: 'get', node: { dir: true } } });
    assert.deepEqual(await store.list(''), []);
  });
});
