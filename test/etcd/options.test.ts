import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError, openStore } from '@polykv/core';
import { createEtcdStore, EtcdClient, isEtcdError } from '@polykv/etcd';
import { FakeServer } from '../helpers/fake-server.js';

// The native etcd client's options: constructor and every call's bag. A misspelled or misplaced
// option is ETCD_INVALID_ARGUMENT naming it, and nothing is sent. (The Store's are in conformance.)

function nativeNames(option: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isEtcdError(error), String(error));
    assert.equal(error.code, 'ETCD_INVALID_ARGUMENT', error.message);
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

describe('etcd client options are checked', () => {
  let fake: FakeServer;
  let client: EtcdClient;
  before(async () => {
    fake = await FakeServer.start();
    client = new EtcdClient({ hosts: fake.address, maxRetries: 0 });
  });
  after(async () => {
    await client.close();
    await fake.close();
  });

  it('the constructor: unknown keys, wrong types, nested tls/auth/refresh/sharedWatches', () => {
    assert.throws(() => new EtcdClient({ host: 'h:2379' } as object), nativeNames('host'));
    assert.throws(() => new EtcdClient({ timeout: '10' } as object), nativeNames('timeout'));
    assert.throws(() => new EtcdClient({ tls: { servrname: 'x' } } as object), nativeNames('tls.servrname'));
    assert.throws(
      () => new EtcdClient({ auth: { user: 'u', password: 'p' } } as object),
      nativeNames('auth.user'),
    );
    assert.throws(
      () => new EtcdClient({ refresh: { interval: 5 } } as object),
      nativeNames('refresh.interval'),
    );
    assert.throws(
      () => new EtcdClient({ sharedWatches: { linger: 5 } } as object),
      nativeNames('sharedWatches.linger'),
    );
  });

  it('every keys call and the other groups: nothing is sent', async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['tll', () => client.keys.set('k', 'v', { tll: 5 } as object)],
      ['recursive', () => client.keys.get('k', { recursive: 'yes' } as object)],
      ['ttl', () => client.keys.create('q', 'v', { ttl: '5' } as object)],
      ['prevIdx', () => client.keys.del('k', { prevIdx: 3 } as object)],
      ['waitIdx', () => client.keys.wait('k', { waitIdx: 3 } as object)],
      ['path', () => client.members.list({ path: '/v2/keys/x' } as object)],
      ['host', () => client.auth.users({ host: 'http://elsewhere:2379' } as object)],
      ['timeout', () => client.stats.self({ timeout: '1' } as object)],
      ['idempotent', () => client.raw('GET', '/version', undefined, { idempotent: 'yes' } as object)],
    ];
    for (const [option, call] of calls) await assert.rejects(call(), nativeNames(option));
    assert.equal(fake.requests.length, 0, 'nothing was sent');
  });

  it('the Store and openStore: a bad client option is INVALID_ARGUMENT naming it', async () => {
    assert.throws(() => createEtcdStore({ hosts: fake.address, prefx: 'a' } as object), storeNames('prefx'));
    assert.throws(
      () => createEtcdStore({ hosts: fake.address, tls: { ca: 5 } } as object),
      storeNames('tls.ca'),
    );
    await assert.rejects(
      openStore(`etcd://${fake.address}/app`, { etcd: { tls: { rejectUnauthorised: false } } }),
      storeNames('tls.rejectUnauthorised'),
    );
  });
});
