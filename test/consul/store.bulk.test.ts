import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copy, createMemoryStore, isBulkWriter, isPolykvError } from '@polykv/core';
import { createConsulStore, type ConsulClient, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, startAclFixture } from './fixture.js';

after(stopAllServers);

describe('Consul Store bulk writes (one transaction per batch)', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;
  let store: ConsulStore;

  before(async () => {
    ({ consul, noRights } = await startAclFixture({ hcl: ['session_ttl_min = "1s"'] }));
    store = createConsulStore({ client: consul, prefix: 'bulk', minTtl: 1 });
  });
  after(async () => {
    await store?.del('', { recursive: true });
    await store?.close();
    await closeClients(consul, noRights);
  });

  it('writes a batch of 64 in one transaction; a stale key fails alone; a TTL-held key becomes permanent', async () => {
    assert.ok(isBulkWriter(store));
    const created = await store.writeMany(
      Array.from({ length: 64 }, (_, i) => ({ key: `k/${i}`, value: `v${i}`, prevIndex: 0 })),
    );
    assert.deepEqual(
      created,
      Array.from({ length: 64 }, () => undefined),
    );
    assert.equal((await store.list('k')).length, 64);

    const current = (await store.get('k/1'))!;
    const temp = await store.set('k/2', 'temporary', { ttl: 2 });
    const results = await store.writeMany([
      { key: 'k/0', value: 'stale', prevIndex: 1 },
      { key: 'k/1', value: 'updated', prevIndex: current.index },
      { key: 'k/2', value: 'permanent', prevIndex: temp.index },
      { key: 'k/new', value: 'fresh', prevIndex: 0 },
    ]);
    assert.ok(isPolykvError(results[0]) && results[0].code === 'COMPARE_FAILED', String(results[0]));
    assert.deepEqual(results.slice(1), [undefined, undefined, undefined]);
    assert.equal((await store.get('k/0'))?.value, 'v0', 'the stale write changed nothing');
    assert.equal((await store.get('k/1'))?.value, 'updated');
    assert.equal((await store.get('k/new'))?.value, 'fresh');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.equal((await store.get('k/2'))?.value, 'permanent', 'the TTL session no longer holds it');
  });

  it('copy into Consul goes through the batches and reports refusals per key', async () => {
    const source = createMemoryStore({ prefix: 'src' });
    for (let i = 0; i < 150; i++) await source.set(`c/${i}`, `value ${i}`);
    const summary = await copy(source, store);
    assert.equal(summary.copied.length, 150);
    assert.deepEqual(summary.failed, []);
    assert.equal((await store.get('c/149'))?.value, 'value 149');
    const denied = createConsulStore({ client: noRights, prefix: 'bulk-denied', minTtl: 1 });
    const refused = await copy(source, denied, { prefix: 'c' });
    assert.equal(refused.failed.length, 150);
    assert.ok(
      refused.failed.every(({ error }) => isPolykvError(error) && error.code === 'PERMISSION_DENIED'),
    );
    await Promise.all([source.close(), denied.close()]);
  });
});
