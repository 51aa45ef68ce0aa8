import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError, type Store } from '@polykv/core';
import { ConsulClient, createConsulStore, isConsulError } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';

// Answers no Consul agent sends: a 200 (or a txn's 409) whose body is JSON of the wrong shape. A
// proxy or a misrouted request can produce them; played by a fake agent. Each must fail as
// BACKEND_ERROR (cause: CONSUL_BAD_RESPONSE), and no write may resolve as if it had worked.

const pair = { Key: 'k', CreateIndex: 5, ModifyIndex: 5, LockIndex: 0, Flags: 0, Value: 'dg==' };

/** Bodies sent with status 200 to every request of the call. */
const malformed: [name: string, body: unknown][] = [
  ['an array of numbers', [1, 2, 3]],
  ['a list holding null', [null]],
  ['JSON null', 'null'],
  ['JSON true', 'true'],
  ['an empty object', {}],
  ['an entry whose Key is a number', [{ ...pair, Key: 5 }]],
  ['an entry without indexes', [{ Key: 'k', Value: 'dg==' }]],
  ['an entry whose Value is not base64 text', [{ ...pair, Value: 7 }]],
  ['a committed transaction without results', { Results: [], Errors: null }],
  ['a committed transaction whose result has no entry', { Results: [{}], Errors: null }],
  ['a committed transaction whose entry has no indexes', { Results: [{ KV: { Key: 'k' } }], Errors: null }],
];

const calls: [name: string, call: (store: Store) => Promise<unknown>][] = [
  ['get', (store) => store.get('k')],
  ['list', (store) => store.list('k')],
  ['set', (store) => store.set('k', 'v')],
  ['set with a ttl', (store) => store.set('k', 'v', { ttl: 10 })],
  ['del', (store) => store.del('k')],
  ['del recursive', (store) => store.del('k', { recursive: true })],
  ['mkdir', (store) => store.mkdir('k')],
  ['push', (store) => store.push('k', 'v')],
  ['compareAndSwap prevValue', (store) => store.compareAndSwap('k', 'v', { prevValue: 'u' })],
  ['compareAndSwap prevIndex', (store) => store.compareAndSwap('k', 'v', { prevIndex: 5 })],
  ['compareAndSwap prevExist', (store) => store.compareAndSwap('k', 'v', { prevExist: false })],
  ['compareAndDelete prevIndex', (store) => store.compareAndDelete('k', { prevIndex: 5 })],
  ['compareAndDelete prevValue', (store) => store.compareAndDelete('k', { prevValue: 'v' })],
  ['lock', (store) => store.lock('k', { timeout: 5000 })],
];

function isBadResponse(error: unknown): boolean {
  assert.ok(isPolykvError(error), `a PolykvError, got ${String(error)}`);
  assert.equal(error.code, 'BACKEND_ERROR', error.message);
  assert.ok(isConsulError(error.cause), `cause is a ConsulError, got ${String(error.cause)}`);
  assert.equal(error.cause.code, 'CONSUL_BAD_RESPONSE', error.cause.message);
  return true;
}

describe('consul: malformed answers are BACKEND_ERROR, never a success', () => {
  let fake: FakeServer;
  let store: Store;
  before(async () => {
    fake = await FakeServer.start();
    store = createConsulStore({ client: { address: fake.address }, lockDelay: 0 });
  });
  after(async () => {
    await store.close();
    await fake.close();
  });

  for (const [bodyName, body] of malformed) {
    for (const [callName, call] of calls) {
      // `true` is the real answer of a delete with ?cas: that call did succeed.
      if (body === 'true' && callName === 'compareAndDelete prevIndex') continue;
      it(`${callName} on a 200 with ${bodyName}`, async () => {
        fake.setFallback({ status: 200, body, headers: { 'content-type': 'application/json' } });
        await assert.rejects(call(store), isBadResponse);
      });
    }
  }

  // A rollback must say why; a transaction answered 409 without errors did not roll back anything we know of.
  for (const [callName, call] of calls.filter(([name]) =>
    ['set', 'del', 'compareAndSwap prevExist'].includes(name),
  )) {
    it(`${callName} on a 409 transaction answer without errors`, async () => {
      fake.setFallback({ status: 409, body: { Results: null, Errors: [] } });
      await assert.rejects(call(store), isBadResponse);
    });
  }

  it('the native client rejects the same answers with CONSUL_BAD_RESPONSE', async () => {
    const client = new ConsulClient({ address: fake.address });
    try {
      for (const [name, body] of malformed) {
        fake.setFallback({ status: 200, body });
        const native: [string, () => Promise<unknown>][] = [
          ['kv.get', () => client.kv.get('k')],
          ['kv.list', () => client.kv.list('k/')],
          ['kv.keys', () => client.kv.keys('k/')],
          ['kv.put', () => client.kv.put('k', 'v')],
          ['kv.delete', () => client.kv.delete('k')],
          ['txn.apply', () => client.txn.apply([{ KV: { Verb: 'get', Key: 'k' } }])],
          ['session.create', () => client.session.create()],
          ['session.renew', () => client.session.renew('s')],
          ['session.info', () => client.session.info('s')],
          ['session.destroy', () => client.session.destroy('s')],
        ];
        for (const [call, run] of native) {
          // A few bodies are a valid answer of some endpoints: `true` of kv.put, a list of
          // entries of kv.get; those calls must resolve exactly that.
          if (body === 'true' && ['kv.put', 'kv.delete', 'session.destroy'].includes(call)) {
            assert.equal(await run(), true);
            continue;
          }
          await assert.rejects(run(), (error: unknown) => {
            assert.ok(isConsulError(error), `${call} on ${name}: ${String(error)}`);
            assert.equal(error.code, 'CONSUL_BAD_RESPONSE', `${call} on ${name}: ${error.message}`);
            return true;
          });
        }
      }
    } finally {
      await client.close();
    }
  });
});
