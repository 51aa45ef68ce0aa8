import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError } from '@polykv/core';
import { createConsulStore } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';

// Answers a real agent gives only at certain moments (an election, a cluster that is still forming),
// played by a fake agent: which of them the Store reports as UNAVAILABLE (retry later) and which as
// BACKEND_ERROR. The bodies are the real agents' (seen in CI and in the fault tests).
describe('consul store: 500 answers of an agent in transition', () => {
  let fake: FakeServer;
  before(async () => {
    fake = await FakeServer.start();
  });
  after(async () => {
    await fake.close();
  });

  const cases: [body: string, code: string][] = [
    ['No cluster leader', 'UNAVAILABLE'],
    ['rpc error making call: leadership lost while committing log', 'UNAVAILABLE'],
    ['invalid session behavior', 'BACKEND_ERROR'],
  ];
  for (const [body, code] of cases) {
    it(`a TTL write whose session is refused with 500 "${body}" rejects with ${code}`, async () => {
      fake.reset();
      // The write reads the key first (absent), then creates the TTL session.
      fake.reply({ status: 404, headers: { 'X-Consul-Index': '7' } }, { status: 500, body });
      const store = createConsulStore({ client: { address: fake.address } });
      try {
        await assert.rejects(store.set('k', 'v', { ttl: 10 }), (error: unknown) => {
          assert.ok(isPolykvError(error), String(error));
          assert.equal(error.code, code);
          assert.match(error.message, new RegExp(body.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
          return true;
        });
        assert.deepEqual(
          fake.requests.map((request) => `${request.method} ${request.path}`),
          ['GET /v1/kv/k', 'PUT /v1/session/create'],
          'one attempt, nothing written',
        );
      } finally {
        await store.close();
      }
    });
  }

  // A fresh cluster refuses sessions on a node until the leader has registered its serfHealth check
  // (about a second): the session is asked for again, with backoff, 10 times in all (about 6 s).
  it(`a TTL write whose session is refused with 500 "Missing check 'serfHealth' registration" retries, then rejects with UNAVAILABLE`, async () => {
    fake.reset();
    const body = "Missing check 'serfHealth' registration";
    fake.reply({ status: 404, headers: { 'X-Consul-Index': '7' } });
    fake.setFallback({ status: 500, body });
    const store = createConsulStore({ client: { address: fake.address } });
    try {
      await assert.rejects(store.set('k', 'v', { ttl: 10 }), (error: unknown) => {
        assert.ok(isPolykvError(error), String(error));
        assert.equal(error.code, 'UNAVAILABLE');
        assert.match(error.message, /serfHealth/);
        return true;
      });
      assert.deepEqual(
        fake.requests.map((request) => `${request.method} ${request.path}`),
        ['GET /v1/kv/k', ...Array.from({ length: 10 }, () => 'PUT /v1/session/create')],
        'ten attempts, nothing written',
      );
    } finally {
      fake.setFallback({ status: 200, body: {} });
      await store.close();
    }
  });
});
