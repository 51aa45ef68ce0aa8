import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError } from '@polykv/core';
import { createConsulStore, type ConsulClient } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { closeClients, startAclFixture } from './fixture.js';

after(stopAllServers);

const denied = (error: unknown): boolean => {
  assert.ok(isPolykvError(error), String(error));
  assert.equal(error.code, 'PERMISSION_DENIED', error.message);
  return true;
};

// Consul reports a write refused by ACLs inside a transaction as a rolled-back operation, not as a
// 403: the store must still say PERMISSION_DENIED, never ALREADY_EXISTS, COMPARE_FAILED or a retry loop.
describe('Consul Store with a read-only token', () => {
  let consul: ConsulClient;
  let noRights: ConsulClient;
  let readOnlyToken: string;

  before(async () => {
    ({ consul, noRights } = await startAclFixture());
    const policy = await consul.acl.policies.create({
      Name: 'kv-read',
      Rules: 'key_prefix "" { policy = "read" }',
    });
    readOnlyToken = (await consul.acl.tokens.create({ Policies: [{ ID: policy.ID }] })).SecretID;
  });
  after(() => closeClients(consul, noRights));

  it('rejects every kind of write with PERMISSION_DENIED and can still read', async () => {
    const writer = createConsulStore({ client: consul, prefix: 'acl-test', minTtl: 1 });
    const reader = createConsulStore({
      client: { address: consul.agents[0]!, token: readOnlyToken },
      prefix: 'acl-test',
      minTtl: 1,
    });
    try {
      const existing = await writer.set('present', 'v');
      assert.equal((await reader.get('present'))?.value, 'v');
      await assert.rejects(reader.set('k', 'v'), denied);
      await assert.rejects(reader.set('k', 'v', { ttl: 5 }), denied);
      await assert.rejects(reader.compareAndSwap('new', 'v', { prevExist: false }), denied);
      await assert.rejects(reader.compareAndSwap('present', 'w', { prevIndex: existing.index }), denied);
      await assert.rejects(reader.compareAndSwap('present', 'w', { prevValue: 'v' }), denied);
      await assert.rejects(reader.mkdir('dir'), denied);
      await assert.rejects(reader.push('queue', 'v'), denied);
      await assert.rejects(reader.del('present'), denied);
      assert.equal((await writer.get('present'))?.value, 'v', 'nothing was written or deleted');
      assert.equal(await writer.get('k'), null);
    } finally {
      await writer.del('', { recursive: true });
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
