import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError, openStore } from '@polykv/core';
import { ConsulClient, createConsulStore, isConsulError } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';

// The native Consul client's options: constructor and every call's bag (checked once, in the
// request function). A misspelled or misplaced option is CONSUL_INVALID_ARGUMENT naming it, and
// nothing is sent. (The Store's are in conformance.)

function nativeNames(option: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isConsulError(error), String(error));
    assert.equal(error.code, 'CONSUL_INVALID_ARGUMENT', error.message);
    assert.equal(error.argument, option, error.message);
    return true;
  };
}

function storeNames(option: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isPolykvError(error), String(error));
    assert.equal(error.code, 'INVALID_ARGUMENT', error.message);
    assert.equal((error as { argument?: string }).argument, option, error.message);
    return true;
  };
}

describe('consul client options are checked', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  before(async () => {
    fake = await FakeServer.start();
    client = new ConsulClient({ address: fake.address });
  });
  after(async () => {
    await client.close();
    await fake.close();
  });

  it('the constructor: unknown keys, wrong types, nested tls/basicAuth/defaults/sharedWatches', () => {
    assert.throws(() => new ConsulClient({ adress: 'h:8500' } as object), nativeNames('adress'));
    assert.throws(() => new ConsulClient({ failover: 'yes' } as object), nativeNames('failover'));
    assert.throws(
      () => new ConsulClient({ tls: { servrname: 'x' } } as object),
      nativeNames('tls.servrname'),
    );
    assert.throws(
      () => new ConsulClient({ basicAuth: { user: 'u' } } as object),
      nativeNames('basicAuth.user'),
    );
    assert.throws(
      () => new ConsulClient({ defaults: { stale: 'yes' } } as object),
      nativeNames('defaults.stale'),
    );
    assert.throws(
      () => new ConsulClient({ sharedWatches: { maxPoll: 2 } } as object),
      nativeNames('sharedWatches.maxPoll'),
    );
  });

  it('call options: unknown keys and wrong types, endpoint options included; nothing is sent', async () => {
    fake.reset();
    const calls: [string, () => Promise<unknown>][] = [
      ['consistant', () => client.kv.get('k', { consistant: true } as object)],
      ['flgs', () => client.kv.put('k', 'v', { flgs: 1 } as object)],
      ['stale', () => client.kv.list('k', { stale: 'yes' } as object)],
      ['wait', () => client.kv.get('k', { index: 1, wait: true } as object)],
      ['recurse', () => client.kv.keys('k', { recurse: true } as object)],
      ['tags', () => client.catalog.service('web', { tags: ['a'] } as object)],
      ['passng', () => client.health.service('web', { passng: true } as object)],
      ['ttl', () => client.session.create({}, { ttl: '10s' } as object)],
    ];
    for (const [option, call] of calls) await assert.rejects(call(), nativeNames(option));
    assert.equal(fake.requests.length, 0, 'nothing was sent');
    // An endpoint's own options are fine.
    fake.setFallback({ status: 200, body: [] });
    await client.catalog.service('web', { tag: 'a', stale: true });
    await client.health.service('web', { passing: true });
  });

  it('the Store and openStore: a misplaced or bad option is INVALID_ARGUMENT naming it', async () => {
    assert.throws(
      () => createConsulStore({ client: { address: fake.address }, tls: {} } as object),
      storeNames('tls'),
    );
    assert.throws(
      () => createConsulStore({ client: { address: fake.address, tls: { ca: 5 } } } as object),
      storeNames('client.tls.ca'),
    );
    // `tls` belongs in `consul.client`, not in `consul`: it was silently ignored before.
    await assert.rejects(
      openStore(`consul://${fake.address}/app`, { consul: { tls: { rejectUnauthorized: false } } }),
      storeNames('tls'),
    );
    const store = createConsulStore({ client });
    await assert.rejects(store.set('k', 'v', { tll: 30 } as object), storeNames('tll'));
    await store.close();
  });
});
