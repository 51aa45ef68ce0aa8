import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { EtcdClient, isEtcdError, keyPath } from '@polykv/etcd';

interface Recorded {
  method: string;
  url: string;
  body: string;
  headers: IncomingMessage['headers'];
}

/** A recording HTTP server on port 0 whose answers the test scripts. */
async function fakeServer(
  handler: (request: Recorded, response: ServerResponse) => void,
): Promise<{ server: Server; host: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const recorded = { method: request.method!, url: request.url!, body, headers: request.headers };
      requests.push(recorded);
      handler(recorded, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  servers.push(server);
  return { server, host: `127.0.0.1:${port}`, requests };
}

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.closeAllConnections();
  for (const server of servers) server.close();
});

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

const node = { key: '/k', value: 'v', modifiedIndex: 5, createdIndex: 5 };

describe('etcd request function (fake servers)', () => {
  it('escapes each key segment; builds the query and form bodies', async () => {
    assert.equal(keyPath('a/b c/%/?#/🔑'), '/v2/keys/a/b%20c/%25/%3F%23/%F0%9F%94%91');
    assert.equal(keyPath('/a/'), '/v2/keys/a');
    assert.equal(keyPath(''), '/v2/keys/');
    // Each answer has the action etcd gives that method: the client checks it.
    const actions: Record<string, string> = { GET: 'get', PUT: 'set', DELETE: 'delete', POST: 'create' };
    const fake = await fakeServer((request, response) =>
      json(response, 200, { action: actions[request.method], node }, { 'x-etcd-index': '9' }),
    );
    const client = new EtcdClient({ hosts: fake.host, auth: { username: 'u', password: 'p' } });
    const result = await client.keys.set('a b', 'x&y=z', { ttl: 5, prevIndex: 3 });
    assert.equal(result.etcdIndex, 9);
    await client.keys.get('dir', { recursive: true, sorted: true, quorum: true });
    await client.keys.del('dir', { recursive: true, prevValue: 'a b' });
    await client.keys.refresh('k', 10, { prevIndex: 4 });
    await client.keys.create('queue', 'item');
    assert.deepEqual(
      fake.requests.map((request) => [request.method, request.url, request.body]),
      [
        ['PUT', '/v2/keys/a%20b', 'value=x%26y%3Dz&ttl=5&prevIndex=3'],
        ['GET', '/v2/keys/dir?recursive=true&sorted=true&quorum=true', ''],
        ['DELETE', '/v2/keys/dir?recursive=true&dir=true&prevValue=a%20b', ''],
        ['PUT', '/v2/keys/k', 'ttl=10&refresh=true&prevExist=true&prevIndex=4'],
        ['POST', '/v2/keys/queue', 'value=item'],
      ],
    );
    assert.equal(fake.requests[0]!.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(fake.requests[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    await client.close();
  });

  it('one row per non-keys endpoint: method, path and body', async () => {
    const fake = await fakeServer((request, response) => {
      if (request.url === '/v2/machines') {
        response.writeHead(200);
        response.end('http://a:2379, http://b:2379');
      } else if (
        request.url.startsWith('/v2/auth/users') &&
        request.method === 'GET' &&
        request.url.length > 15
      )
        json(response, 200, { user: 'u', roles: [] });
      else if (request.url === '/v2/auth/users') json(response, 200, { users: [{ user: 'u' }] });
      else if (request.url === '/v2/auth/roles') json(response, 200, { roles: [{ role: 'r' }] });
      else if (request.url === '/v2/auth/enable') json(response, 200, { enabled: true });
      else if (request.url === '/v2/members')
        json(response, request.method === 'POST' ? 201 : 200, { members: [], id: 'x' });
      else if (request.url === '/health') json(response, 200, { health: 'true' });
      else json(response, 200, {});
    });
    const client = new EtcdClient({ hosts: fake.host });
    const rows: [() => Promise<unknown>, string, string, string][] = [
      [() => client.members.list(), 'GET', '/v2/members', ''],
      [() => client.members.add(['http://p:2380']), 'POST', '/v2/members', '{"peerURLs":["http://p:2380"]}'],
      [() => client.members.remove('abc'), 'DELETE', '/v2/members/abc', ''],
      [
        () => client.members.update('abc', ['http://q:2380']),
        'PUT',
        '/v2/members/abc',
        '{"peerURLs":["http://q:2380"]}',
      ],
      [() => client.members.leader(), 'GET', '/v2/members/leader', ''],
      [() => client.stats.self(), 'GET', '/v2/stats/self', ''],
      [() => client.stats.store(), 'GET', '/v2/stats/store', ''],
      [() => client.stats.leader(), 'GET', '/v2/stats/leader', ''],
      [() => client.cluster.version(), 'GET', '/version', ''],
      [() => client.cluster.health(), 'GET', '/health', ''],
      [() => client.cluster.machines(), 'GET', '/v2/machines', ''],
      [() => client.auth.enabled(), 'GET', '/v2/auth/enable', ''],
      [() => client.auth.enable(), 'PUT', '/v2/auth/enable', ''],
      [() => client.auth.disable(), 'DELETE', '/v2/auth/enable', ''],
      [() => client.auth.users(), 'GET', '/v2/auth/users', ''],
      [() => client.auth.user('u s'), 'GET', '/v2/auth/users/u%20s', ''],
      [
        () => client.auth.putUser('u', { password: 'p' }),
        'PUT',
        '/v2/auth/users/u',
        '{"user":"u","password":"p"}',
      ],
      [() => client.auth.removeUser('u'), 'DELETE', '/v2/auth/users/u', ''],
      [() => client.auth.roles(), 'GET', '/v2/auth/roles', ''],
      [() => client.auth.role('r'), 'GET', '/v2/auth/roles/r', ''],
      [
        () => client.auth.putRole('r', { grant: { kv: { read: ['/a/*'] } } }),
        'PUT',
        '/v2/auth/roles/r',
        '{"role":"r","grant":{"kv":{"read":["/a/*"]}}}',
      ],
      [() => client.auth.removeRole('r'), 'DELETE', '/v2/auth/roles/r', ''],
      [() => client.raw('GET', 'v2/stats/leader'), 'GET', '/v2/stats/leader', ''],
    ];
    for (const [call, method, path, body] of rows) {
      const before = fake.requests.length;
      await call();
      const request = fake.requests[before]!;
      assert.deepEqual(
        [request.method, request.url, request.body],
        [method, path, body],
        `${method} ${path}`,
      );
      if (body.startsWith('{')) assert.equal(request.headers['content-type'], 'application/json');
    }
    assert.deepEqual(await client.machines(), ['http://a:2379', 'http://b:2379']);
    await client.close();
  });

  it('etcd JSON errors carry errorCode, message, cause and index', async () => {
    const fake = await fakeServer((_request, response) =>
      json(response, 404, { errorCode: 100, message: 'Key not found', cause: '/missing', index: 42 }),
    );
    const client = new EtcdClient({ hosts: fake.host });
    const error = await client.keys.get('missing').catch((caught: unknown) => caught);
    assert.ok(isEtcdError(error));
    assert.deepEqual(
      [
        error.code,
        error.errorCode,
        error.etcdMessage,
        error.cause,
        error.index,
        error.statusCode,
        error.host,
      ],
      ['ETCD_KEY_NOT_FOUND', 100, 'Key not found', '/missing', 42, 404, `http://${fake.host}`],
    );
    await client.close();
  });

  it('5xx: an idempotent call goes to the next host; a non-idempotent one is not replayed', async () => {
    const failing = await fakeServer((_request, response) =>
      json(response, 500, { errorCode: 300, message: 'Raft Internal Error', index: 1 }),
    );
    const good = await fakeServer((_request, response) => json(response, 200, { action: 'get', node }));
    const client = new EtcdClient({ hosts: [failing.host, good.host], deterministicOrder: true });
    assert.equal((await client.keys.get('k')).node.value, 'v');
    assert.equal(client.currentHost, `http://${good.host}`);
    const second = new EtcdClient({ hosts: [failing.host, good.host], deterministicOrder: true });
    await assert.rejects(
      second.keys.set('k', 'v', { prevValue: 'old' }),
      (error: unknown) => isEtcdError(error) && error.errorCode === 300 && error.uncertain,
    );
    assert.equal(good.requests.filter((request) => request.method === 'PUT').length, 0, 'never replayed');
    await client.close();
    await second.close();
  });

  it('leader election: retries every host with backoff up to maxRetries, then one aggregate error', async () => {
    let calls = 0;
    const electing = await fakeServer((_request, response) => {
      calls++;
      if (calls <= 4) json(response, 500, { errorCode: 301, message: 'During Leader Election', index: 1 });
      else json(response, 200, { action: 'get', node });
    });
    const client = new EtcdClient({ hosts: electing.host, maxRetries: 5, backoffMs: 5 });
    assert.equal((await client.keys.get('k')).node.value, 'v');
    assert.equal(calls, 5);
    calls = 0;
    await assert.rejects(client.keys.get('k', { maxRetries: 1 }), (error: unknown) => {
      assert.ok(isEtcdError(error) && error.code === 'ETCD_UNAVAILABLE');
      return true;
    });
    assert.equal(calls, 2);
    await client.close();
  });

  it('follows 307 redirects, at most 10', async () => {
    const target = await fakeServer((_request, response) => json(response, 200, { action: 'get', node }));
    const redirecting = await fakeServer((request, response) => {
      response.writeHead(307, { location: `http://${target.host}${request.url}` });
      response.end();
    });
    const client = new EtcdClient({ hosts: redirecting.host });
    assert.equal((await client.keys.get('k')).node.value, 'v');
    assert.equal(target.requests[0]!.url, '/v2/keys/k');
    const loop = await fakeServer((request, response) => {
      response.writeHead(307, { location: request.url });
      response.end();
    });
    const looping = new EtcdClient({ hosts: loop.host, maxRetries: 0 });
    await assert.rejects(looping.keys.get('k'), (error: unknown) => {
      assert.ok(isEtcdError(error));
      return true;
    });
    assert.equal(loop.requests.length, 11, 'the first request and 10 redirects');
    await client.close();
    await looping.close();
  });

  it('a watch resumes at X-Etcd-Index + 1 after an empty poll and modifiedIndex + 1 after an event', async () => {
    let polls = 0;
    const fake = await fakeServer((request, response) => {
      if (!request.url.includes('wait=true')) {
        json(response, 200, { action: 'get', node: { ...node, modifiedIndex: 3 } }, { 'x-etcd-index': '40' });
        return;
      }
      polls++;
      if (polls === 1) {
        // etcd closes an idle poll with headers and an empty body.
        response.writeHead(200, { 'x-etcd-index': '41' });
        response.end();
      } else if (polls === 2) {
        json(
          response,
          200,
          { action: 'set', node: { ...node, modifiedIndex: 57 } },
          { 'x-etcd-index': '42' },
        );
      } else {
        json(response, 400, { errorCode: 209, message: 'Invalid field' });
      }
    });
    for (const sharedWatches of [false, true]) {
      polls = 0;
      fake.requests.length = 0;
      const client = new EtcdClient({ hosts: fake.host, sharedWatches });
      const watcher = client.watcher('k');
      const errors: unknown[] = [];
      watcher.on('error', (error) => errors.push(error));
      await watcher.stopped.catch(() => undefined);
      const waits = fake.requests
        .filter((request) => request.url.includes('wait=true'))
        .map((request) => request.url);
      assert.deepEqual(
        waits,
        sharedWatches
          ? [
              // The shared poll (a top-level key is polled on itself, recursively) follows the same
              // rules; refused with a 4xx, it hands the watcher to a poll of its own.
              '/v2/keys/k?wait=true&recursive=true&waitIndex=41',
              '/v2/keys/k?wait=true&recursive=true&waitIndex=42',
              '/v2/keys/k?wait=true&recursive=true&waitIndex=58',
              '/v2/keys/k?wait=true&waitIndex=58',
            ]
          : [
              '/v2/keys/k?wait=true&waitIndex=41',
              '/v2/keys/k?wait=true&waitIndex=42',
              '/v2/keys/k?wait=true&waitIndex=58',
            ],
      );
      assert.equal(errors.length, 1, 'a 400 ends the watch loudly');
      await client.close();
    }
  });
});
