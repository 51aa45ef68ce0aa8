import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConsulClient, createConsulStore, isConsulError, type ConsulError } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';

// What an error keeps from a response: at most 4 KiB of its body, and never the token or the basic
// auth credentials a server or proxy echoes back (some echo the request's headers into an error
// page). A real agent does neither on demand, so a fake one plays it.

const TOKEN = '6f1c2a9e-client-token-s3cr3t';
const CALL_TOKEN = 'b7d4e0f2-per-call-token-s3cr3t';
const USER = 'proxy-user';
const PASSWORD = 'Pa55-consul-proxy-s3cr3t';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const SECRETS = [TOKEN, CALL_TOKEN, PASSWORD, BASIC, `${USER}:${PASSWORD}`];
const BODY_LIMIT = 4096;

function everything(error: unknown): string {
  return inspect(error, { depth: Infinity, maxStringLength: Infinity, maxArrayLength: Infinity });
}

/** The ConsulErrors of an error's chain. */
function consulErrors(error: unknown, out: ConsulError[] = []): ConsulError[] {
  if (typeof error !== 'object' || error === null) return out;
  if (isConsulError(error)) out.push(error);
  return consulErrors((error as { cause?: unknown }).cause, out);
}

async function rejection(call: () => Promise<unknown>, what: string): Promise<unknown> {
  return call().then(
    () => assert.fail(`${what} resolved`),
    (error: unknown) => error,
  );
}

describe('consul errors keep little of a response, and no token or credentials', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  before(async () => {
    fake = await FakeServer.start();
    client = new ConsulClient({
      address: fake.address,
      token: TOKEN,
      basicAuth: { username: USER, password: PASSWORD },
    });
  });
  after(async () => {
    await client.close();
    await fake.close();
  });

  const echoes: [name: string, reply: (headers: string) => { status: number; body: unknown }][] = [
    ['a 500 page that echoes the request headers', (headers) => ({ status: 500, body: headers })],
    ['a 403 page that echoes them', (headers) => ({ status: 403, body: `ACL not found ${headers}` })],
    ['a 200 that is not JSON and echoes them', (headers) => ({ status: 200, body: `<html>${headers}` })],
    ['a 200 of the wrong shape that echoes them', (headers) => ({ status: 200, body: { echo: headers } })],
    [
      'a transaction rollback whose reason echoes them',
      (headers) => ({ status: 409, body: { Results: null, Errors: [{ OpIndex: 0, What: headers }] } }),
    ],
  ];
  for (const [name, reply] of echoes) {
    it(`${name}: the client's and the Store's errors never show a secret`, async () => {
      fake.setFallback((request) => reply(JSON.stringify(request.headers)));
      const store = createConsulStore({ client });
      const calls: [string, () => Promise<unknown>][] = [
        ['kv.get', () => client.kv.get('k', { token: CALL_TOKEN })],
        ['kv.put', () => client.kv.put('k', 'v', { token: CALL_TOKEN })],
        ['kv.keys', () => client.kv.keys('k', { token: CALL_TOKEN })],
        ['session.create', () => client.session.create({}, { token: CALL_TOKEN })],
        ['store.get', () => store.get('k')],
        ['store.set', () => store.set('k', 'v')],
        ['store.del', () => store.del('k')],
      ];
      try {
        for (const [call, run] of calls) {
          const error = await rejection(run, call);
          const text = everything(error);
          for (const secret of SECRETS)
            assert.ok(!text.includes(secret), `${call} on ${name}: the error shows ${secret}:\n${text}`);
        }
      } finally {
        await store.close();
      }
    });
  }

  it('a rolled-back transaction reports its reasons without the secrets', async () => {
    fake.setFallback((request) => ({
      status: 409,
      body: { Results: null, Errors: [{ OpIndex: 0, What: JSON.stringify(request.headers) }] },
    }));
    const response = await client.txn.apply([{ KV: { Verb: 'get', Key: 'k' } }], { token: CALL_TOKEN });
    assert.equal(response.ok, false);
    const text = JSON.stringify(response.Errors.map((error) => error.What));
    for (const secret of SECRETS) assert.ok(!text.includes(secret), text);
    assert.match(text, /\[redacted\]/);
  });

  it(`a 10 MB error body: the error keeps at most ${BODY_LIMIT} bytes of it`, async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const store = createConsulStore({ client });
    try {
      for (const status of [500, 200]) {
        fake.setFallback({ status, body: huge });
        for (const [call, run] of [
          ['kv.get', () => client.kv.get('k')],
          ['kv.put', () => client.kv.put('k', 'v')],
          ['store.get', () => store.get('k')],
          ['store.set', () => store.set('k', 'v')],
        ] as const) {
          const error = await rejection(run, call);
          const found = consulErrors(error);
          assert.ok(found.length > 0, `${call}: ${String(error)}`);
          for (const consulError of found) {
            assert.ok(
              (consulError.body ?? '').length <= BODY_LIMIT,
              `${call}: body ${consulError.body?.length}`,
            );
            assert.ok(
              consulError.message.length <= BODY_LIMIT,
              `${call}: message ${consulError.message.length}`,
            );
          }
          const shown = everything(error).length;
          assert.ok(shown < 64 * 1024, `${call} with ${status}: the whole error shows ${shown} characters`);
        }
      }
    } finally {
      fake.setFallback({ status: 200, body: {} });
      await store.close();
    }
  });
});
