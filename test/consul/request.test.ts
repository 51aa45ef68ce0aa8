import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, isConsulError, type ConsulError } from '@polykv/consul';
import type { FakeServer } from '../helpers/fake-server.js';
import { failure, useFakeAgent } from './fixture.js';

/** A raw HTTP server for answers the recording fake cannot give (late, cut off, never). */
async function rawServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{
  server: Server;
  address: string;
  close(): Promise<void>;
}> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    address: `127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const isCode = (code: ConsulError['code']) => (error: unknown) => isConsulError(error) && error.code === code;

describe('Transport behaviour (recording server)', () => {
  const TOKEN = '5e3f0a1c-secret-token-value';
  let fake: FakeServer;
  let client: ConsulClient;
  useFakeAgent((server, made) => ([fake, client] = [server, made]), {
    token: TOKEN,
    dc: 'dc1',
    defaults: { stale: true },
  });

  it('merges per-call options over the client defaults', async () => {
    fake.reset();
    fake.reply({ body: [] }, { body: [] });
    await client.kv.keys('a/');
    assert.deepEqual(Object.fromEntries(fake.last().query), { keys: '', dc: 'dc1', stale: '' });
    await client.kv.keys('a/', { dc: 'dc2', stale: false, consistent: true });
    assert.deepEqual(Object.fromEntries(fake.last().query), { keys: '', dc: 'dc2', consistent: '' });
  });

  it('sends the token only in X-Consul-Token, never in the URL or in error messages', async () => {
    fake.reset();
    fake.reply({ body: 'true' }, { status: 403, body: 'Permission denied' });
    await client.kv.put('k', 'v');
    assert.equal(fake.last().headers['x-consul-token'], TOKEN);
    assert.equal(fake.last().rawQuery.includes(TOKEN), false);
    const error = await failure(client.kv.put('k', 'v', { token: 'other-secret' }));
    assert.equal(fake.last().headers['x-consul-token'], 'other-secret', 'a per-call token wins');
    assert.equal(error.code, 'CONSUL_PERMISSION_DENIED');
    const everything = `${error.message} ${error.stack} ${JSON.stringify(error)} ${error.path} ${error.body}`;
    assert.equal(everything.includes('other-secret'), false);
    assert.equal(everything.includes(TOKEN), false);
  });

  it('maps 403 to CONSUL_PERMISSION_DENIED and 413 to CONSUL_TOO_LARGE, with status, method, path and body', async () => {
    fake.reset();
    fake.reply(
      { status: 403, body: 'ACL not found' },
      { status: 413, body: 'Request body(524289 bytes) too large, max size: 524288 bytes.' },
    );
    const denied = await failure(client.kv.get('x'));
    assert.equal(denied.code, 'CONSUL_PERMISSION_DENIED');
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.body, 'ACL not found');
    const large = await failure(client.kv.put('x', 'y'));
    assert.equal(large.code, 'CONSUL_TOO_LARGE');
    assert.equal(large.statusCode, 413);
    assert.equal(large.method, 'PUT');
    assert.equal(large.path, '/v1/kv/x');
  });

  it('maps a 500 that carries an ACL refusal (event fire in 1.8) to CONSUL_PERMISSION_DENIED', async () => {
    fake.reset();
    fake.reply({ status: 500, body: 'ACL not found' });
    const error = await failure(client.event.fire('deploy'));
    assert.equal(error.code, 'CONSUL_PERMISSION_DENIED');
    assert.equal(error.statusCode, 500);
  });

  it('keeps a 500 plain-text body on the error', async () => {
    fake.reset();
    fake.reply({ status: 500, body: 'strconv.ParseUint: parsing "abc": invalid syntax' });
    const error = await failure(client.session.list());
    assert.equal(error.code, 'CONSUL_HTTP_STATUS');
    assert.equal(error.statusCode, 500);
    assert.equal(error.method, 'GET');
    assert.equal(error.path, '/v1/session/list');
    assert.equal(error.body, 'strconv.ParseUint: parsing "abc": invalid syntax');
    assert.match(error.message, /500 strconv\.ParseUint/);
  });

  it('rejects a garbage body with CONSUL_BAD_RESPONSE', async () => {
    fake.reset();
    fake.reply({ body: '[{"Key": "a", "Val' }, { body: 'maybe' });
    await assert.rejects(client.kv.list('a/'), isCode('CONSUL_BAD_RESPONSE'));
    await assert.rejects(client.kv.put('a', 'b'), isCode('CONSUL_BAD_RESPONSE'), 'neither true nor false');
  });

  it('parses the metadata headers', async () => {
    fake.reset();
    fake.reply({
      body: [],
      headers: {
        'x-consul-index': '42',
        'x-consul-knownleader': 'true',
        'x-consul-lastcontact': '12',
        'x-consul-effective-consistency': 'stale',
        'x-cache': 'HIT',
        age: '3',
      },
    });
    const { meta } = await client.session.list({ cached: true, maxAge: 30_000 });
    assert.equal(fake.last().headers['cache-control'], 'max-age=30');
    assert.equal(meta.index, 42);
    assert.equal(meta.knownLeader, true);
    assert.equal(meta.lastContact, 12);
    assert.equal(meta.effectiveConsistency, 'stale');
    assert.equal(meta.cacheHit, true);
    assert.equal(meta.cacheAge, 3);
    assert.equal(meta.agent, `http://${fake.address}`);
  });

  it('refuses a value over 512 KiB before sending anything', async () => {
    fake.reset();
    await assert.rejects(client.kv.put('big', new Uint8Array(524_289)), isCode('CONSUL_TOO_LARGE'));
    assert.equal(fake.requests.length, 0);
    fake.reply({ body: 'true' });
    assert.equal(await client.kv.put('big', new Uint8Array(524_288)), true);
    assert.equal(fake.last().headers['content-length'], '524288');
  });
});

describe('Transport timeouts and aborts (a server that answers late or never)', () => {
  let server: Awaited<ReturnType<typeof rawServer>>;
  let client: ConsulClient;
  before(async () => {
    server = await rawServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname === '/v1/kv/never') return; // never answers
      if (url.pathname === '/v1/kv/stall') {
        // Headers, the start of a body, then silence.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('[{"Key": "stall", ');
        return;
      }
      if (url.pathname === '/v1/kv/cut') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('[{"Key": "cut", ');
        setTimeout(() => response.socket?.destroy(), 10);
        return;
      }
      // Answers after `?late=` ms, like a blocking query that ends with a change.
      const late = Number(url.searchParams.get('late') ?? 0);
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '7' });
        response.end('[]');
      }, late);
    });
    client = new ConsulClient({ address: server.address, timeout: 150 });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('fails with CONSUL_TIMEOUT when the agent does not answer in time', async () => {
    await assert.rejects(client.kv.get('never', { timeout: 100 }), isCode('CONSUL_TIMEOUT'));
    await assert.rejects(client.kv.get('never'), isCode('CONSUL_TIMEOUT'), 'the client default applies');
  });

  it('times out calls without a signal (one shared timer) with the same typed error, each at its own time', async () => {
    const started = Date.now();
    const settled: string[] = [];
    const track = (name: string, call: Promise<unknown>) =>
      failure(call).then((error) => {
        settled.push(name);
        return { error, elapsed: Date.now() - started };
      });
    const [long, short, stalled, ok] = await Promise.all([
      track('long', client.kv.get('never', { timeout: 400 })),
      track('short', client.kv.get('never', { timeout: 60 })),
      track('stalled', client.kv.list('stall')),
      client.kv.get('fine'),
    ]);
    assert.equal(ok.data, null);
    assert.deepEqual(settled, ['short', 'stalled', 'long']);
    for (const [{ error, elapsed }, timeout] of [
      [short, 60],
      [stalled, 150],
      [long, 400],
    ] as const) {
      assert.equal(error.code, 'CONSUL_TIMEOUT');
      assert.match(error.message, new RegExp(`timed out after ${timeout} ms`));
      const cause = error.cause as { code?: string; timeoutMs?: number };
      assert.equal(cause.code, 'TIMEOUT');
      assert.equal(cause.timeoutMs, timeout);
      assert.ok(elapsed >= timeout - 5, `${timeout} ms timeout fired after ${elapsed} ms`);
    }
  });

  it('fails with CONSUL_ABORTED when the caller aborts', async () => {
    const controller = new AbortController();
    const call = client.kv.get('never', { signal: controller.signal, timeout: 60_000 });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(call, isCode('CONSUL_ABORTED'));
    await assert.rejects(client.kv.get('never', { signal: AbortSignal.abort() }), isCode('CONSUL_ABORTED'));
  });

  it('reports a body cut off mid-way as CONSUL_BAD_RESPONSE', async () => {
    await assert.rejects(client.kv.list('cut'), isCode('CONSUL_BAD_RESPONSE'));
  });

  it('gives a blocking query wait + margin, beyond the call timeout', async () => {
    // 400 ms answer > the 150 ms client timeout, but inside the 1 s wait: no timeout.
    const { data, meta } = await client.request<unknown[]>({
      method: 'GET',
      path: '/v1/kv/slow',
      query: { late: 400 },
      options: { index: 5, wait: 1000 },
    });
    assert.deepEqual(data, []);
    assert.equal(meta.index, 7);
    // Without index, the same answer times out.
    await assert.rejects(
      client.request({ method: 'GET', path: '/v1/kv/slow', query: { late: 400 } }),
      isCode('CONSUL_TIMEOUT'),
    );
  });
});
