import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createEtcdStore, EtcdClient, isEtcdError, type EtcdError } from '@polykv/etcd';
import { FakeServer } from '../helpers/fake-server.js';

// What an error keeps from a response: at most 4 KiB of its body, and never the credentials a
// server or proxy echoes back (some echo the request's headers into an error page). A real etcd
// does neither on demand, so a fake server plays it.

const USER = 'polykv-user';
const PASSWORD = 'Pa55-etcd-echo-s3cr3t';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const SECRETS = [PASSWORD, BASIC, `${USER}:${PASSWORD}`];
const BODY_LIMIT = 4096;

/** Everything an error shows: message, stack, fields, causes, per-host errors. */
function everything(error: unknown): string {
  return inspect(error, { depth: Infinity, maxStringLength: Infinity, maxArrayLength: Infinity });
}

function assertNoSecret(error: unknown, what: string): void {
  const text = everything(error);
  for (const secret of SECRETS)
    assert.ok(!text.includes(secret), `${what}: the error shows ${secret}:\n${text}`);
  assert.match(text, /\[redacted\]/, `${what}: the echoed credentials are there, redacted`);
}

/** The EtcdErrors of an error's chain (the error, its causes, each host's error). */
function etcdErrors(error: unknown, out: EtcdError[] = []): EtcdError[] {
  if (typeof error !== 'object' || error === null) return out;
  if (isEtcdError(error)) out.push(error);
  etcdErrors((error as { cause?: unknown }).cause, out);
  for (const failure of (error as { errors?: { error: unknown }[] }).errors ?? [])
    etcdErrors(failure.error, out);
  return out;
}

describe('etcd errors keep little of a response, and no credentials', () => {
  let fake: FakeServer;
  before(async () => {
    fake = await FakeServer.start();
  });
  after(async () => {
    await fake.close();
  });

  const echoes: [name: string, reply: (headers: string) => { status: number; body: string }][] = [
    ['a 500 page that echoes the request headers', (headers) => ({ status: 500, body: headers })],
    ['a 403 page that echoes them', (headers) => ({ status: 403, body: `forbidden: ${headers}` })],
    [
      'an etcd error whose message and cause echo them',
      (headers) => ({
        status: 400,
        body: JSON.stringify({ errorCode: 209, message: headers, cause: headers, index: 3 }),
      }),
    ],
    ['a 200 that is not JSON and echoes them', (headers) => ({ status: 200, body: `<html>${headers}` })],
    [
      'a 200 keys result of the wrong shape that echoes them',
      (headers) => ({
        status: 200,
        body: JSON.stringify({ action: headers, node: { key: headers } }),
      }),
    ],
  ];
  for (const [name, reply] of echoes) {
    it(`${name}: the client's and the Store's errors never show the credentials`, async () => {
      fake.setFallback((request) => reply(JSON.stringify(request.headers)));
      const client = new EtcdClient({
        hosts: fake.address,
        auth: { username: USER, password: PASSWORD },
        maxRetries: 0,
      });
      const store = createEtcdStore({ client });
      try {
        for (const [call, run] of [
          ['keys.get', () => client.keys.get('k')],
          ['keys.set', () => client.keys.set('k', 'v')],
          ['store.get', () => store.get('k')],
          ['store.set', () => store.set('k', 'v')],
        ] as const) {
          const error = await run().then(
            () => assert.fail(`${call} resolved`),
            (e: unknown) => e,
          );
          assert.ok(etcdErrors(error).length > 0, `${call}: ${String(error)}`);
          assertNoSecret(error, `${call} on ${name}`);
        }
      } finally {
        await store.close();
        await client.close();
      }
    });
  }

  it(`a 10 MB error body: the error keeps at most ${BODY_LIMIT} bytes of it`, async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    fake.reset();
    fake.setFallback({ status: 500, body: huge });
    const client = new EtcdClient({ hosts: fake.address, maxRetries: 0 });
    const store = createEtcdStore({ client });
    try {
      for (const run of [() => client.keys.get('k'), () => store.get('k'), () => store.set('k', 'v')]) {
        const error = await run().then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        );
        const found = etcdErrors(error);
        assert.ok(found.length > 0);
        for (const etcdError of found) {
          assert.ok((etcdError.body ?? '').length <= BODY_LIMIT, `body kept: ${etcdError.body?.length}`);
          assert.ok(etcdError.message.length <= BODY_LIMIT, `message: ${etcdError.message.length}`);
        }
        const shown = everything(error).length;
        assert.ok(shown < 64 * 1024, `the whole error shows ${shown} characters`);
      }
    } finally {
      fake.setFallback({ status: 200, body: {} });
      await store.close();
      await client.close();
    }
  });
});
