import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsulClient } from '@polykv/consul';
import type { FakeServer, RecordedRequest } from '../helpers/fake-server.js';
import { failure, useFakeAgent } from './fixture.js';

const SESSION = '5e1e7f8a-0000-4000-8000-000000000001';
const SERF_PENDING = "rpc error making call: Missing check 'serfHealth' registration for node 'consul-1'";

/**
 * A session made right after a cluster forms: Consul refuses it with 500 "Missing check
 * 'serfHealth' registration" until the leader registered the node's check (seen on the real 3-server
 * clusters of the test suite, not reproducible on demand, hence the scripted agent). Locks,
 * semaphores and TTL keys wait that out; any other 500 is the caller's at once.
 */
describe('session create on a cluster that has just formed', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  useFakeAgent((server, consul) => {
    fake = server;
    client = consul;
  });

  /**
   * Answers session creates with `refusals` first, then a session; a lock's acquire and its check
   * read as Consul would.
   */
  function script(refusals: string[]): void {
    fake.reset();
    const left = [...refusals];
    let held: { session: string; flags: string } | undefined;
    fake.setFallback((request: RecordedRequest) => {
      if (request.path === '/v1/session/create') {
        const refusal = left.shift();
        return refusal === undefined
          ? { status: 200, body: { ID: SESSION } }
          : { status: 500, body: refusal };
      }
      if (request.method === 'PUT' && request.query.has('acquire')) {
        held = { session: request.query.get('acquire')!, flags: request.query.get('flags') ?? '0' };
        return { status: 200, body: true, headers: { 'x-consul-index': '6' } };
      }
      if (request.method === 'GET' && request.path === '/v1/kv/svc/leader' && held)
        return {
          status: 200,
          headers: { 'x-consul-index': '6' },
          // Flags are a uint64: written out, not through a JS number.
          body: `[{"Key":"svc/leader","LockIndex":1,"CreateIndex":6,"ModifyIndex":6,"Value":null,"Session":"${held.session}","Flags":${held.flags}}]`,
        };
      return { status: request.method === 'GET' ? 404 : 200, body: request.method === 'GET' ? '' : true };
    });
  }

  it('a lock made while serfHealth is missing is taken once Consul has it', async () => {
    script([SERF_PENDING, SERF_PENDING]);
    const lock = client.lock('svc/leader', { sessionTtl: '15s' });
    await lock.acquire();
    const creates = fake.requests.filter((request) => request.path === '/v1/session/create');
    assert.equal(creates.length, 3, 'two refusals, then the session');
    await lock.release().catch(() => undefined);
  });

  it('any other 500 fails at once', async () => {
    script(['rpc error: something else']);
    const error = await failure(client.lock('svc/leader', { sessionTtl: '15s' }).acquire());
    assert.equal(error.statusCode, 500);
    assert.equal(fake.requests.filter((request) => request.path === '/v1/session/create').length, 1);
  });
});
