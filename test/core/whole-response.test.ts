import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent } from 'undici';
import { bodyText, requestWhole, type WholeResponse } from '@polykv/core';

// requestWhole reads every buffered answer of the etcd and Consul clients. A port-0 server gives
// the shapes and faults a real server does not produce on demand: a body cut off after its headers,
// an answer that never comes, a 1xx before the answer, a repeated header.

const ALL = (_status: number): number => Infinity;

describe('requestWhole (a port-0 server)', () => {
  let server: Server;
  let origin: string;
  const agent = new Agent({ keepAliveTimeout: 1000 });
  /** Sockets the server saw closed (a capped error body closes its connection). */
  let closed = 0;

  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/chunks': {
          response.setHeader('x-one', 'a');
          response.setHeader('X-Many', ['b', 'c']);
          for (let i = 0; i < 50; i++) response.write(`${i},`);
          response.end('end');
          return;
        }
        case '/cut': {
          response.writeHead(200, { 'content-length': '1000' });
          response.write('only this');
          setTimeout(() => response.socket?.destroy(), 20);
          return;
        }
        case '/big-error': {
          response.writeHead(500, { 'content-type': 'text/plain' });
          const page = Buffer.alloc(64 * 1024, 'e');
          let sent = 0;
          // Written until the client goes away (or 10 MB): it stops reading at its cap.
          const more = (): void => {
            while (sent < 10 * 1024 * 1024) {
              sent += page.byteLength;
              if (!response.write(page)) {
                response.once('drain', more);
                return;
              }
            }
            response.end();
          };
          more();
          return;
        }
        case '/slow-body': {
          response.writeHead(200);
          response.write('start');
          return; // never ends: the caller's signal does
        }
        case '/never':
          return; // no headers at all
        case '/bom':
          response.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]));
          return;
        default:
          response.end('ok');
      }
    });
    server.on('connection', (socket: Socket) => socket.on('close', () => closed++));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, signal?: AbortSignal | EventEmitter, limitFor = ALL): Promise<WholeResponse> =>
    requestWhole(agent, { origin, path, method: 'GET' }, signal as AbortSignal | undefined, limitFor);

  it('reads a body sent in many chunks whole, with lower-case header names and repeated headers as arrays', async () => {
    const response = await get('/chunks');
    assert.equal(response.statusCode, 200);
    assert.equal(response.bodyError, undefined);
    const expected = `${Array.from({ length: 50 }, (_, i) => `${i},`).join('')}end`;
    assert.equal(bodyText(response.body), expected);
    assert.equal(response.headers['x-one'], 'a');
    assert.deepEqual(response.headers['x-many'], ['b', 'c']);
  });

  it('a body cut off after its headers resolves with bodyError and the bytes before it', async () => {
    const response = await get('/cut');
    assert.equal(response.statusCode, 200);
    assert.ok(response.bodyError instanceof Error, 'the break is reported');
    assert.equal(bodyText(response.body), 'only this');
  });

  it('no answer at all rejects (nothing to read: the caller may try elsewhere)', async () => {
    const refused = createTcpServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const port = (refused.address() as AddressInfo).port;
    await new Promise((resolve) => refused.close(resolve));
    await assert.rejects(
      requestWhole(agent, { origin: `http://127.0.0.1:${port}`, path: '/', method: 'GET' }, undefined, ALL),
      (error: unknown) => (error as { code?: string }).code === 'ECONNREFUSED',
    );
  });

  it('keeps at most the cap of an error body and closes that connection instead of reading 10 MB', async () => {
    const before = closed;
    const response = await get('/big-error', undefined, (status) => (status === 200 ? Infinity : 4096));
    assert.equal(response.statusCode, 500);
    assert.equal(response.bodyError, undefined, 'reaching the cap is not a failure');
    assert.equal(response.body.byteLength, 4096);
    assert.equal(bodyText(response.body), 'e'.repeat(4096));
    for (let i = 0; i < 100 && closed === before; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(closed > before, 'the connection was closed, not drained');
  });

  it('a signal aborted before the call rejects with its reason, and nothing is sent', async () => {
    const controller = new AbortController();
    const reason = new Error('gave up');
    controller.abort(reason);
    await assert.rejects(get('/never', controller.signal), (error: unknown) => error === reason);
  });

  it('a signal aborted while the answer is awaited rejects with its reason; during the body it is bodyError', async () => {
    const waiting = new AbortController();
    const pending = get('/never', waiting.signal);
    setTimeout(() => waiting.abort(new Error('no headers')), 30);
    await assert.rejects(pending, /no headers/);

    const reading = new AbortController();
    const started = get('/slow-body', reading.signal);
    setTimeout(() => reading.abort(new Error('mid-body')), 30);
    const response = await started;
    assert.match(String(response.bodyError), /mid-body/);
    assert.equal(bodyText(response.body), 'start');
  });

  it('one AbortSignal shared by 40 calls in flight: no leak warning from Node, and aborting it ends every call', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const done = await get('/', shared.signal);
      assert.equal(bodyText(done.body), 'ok');
      const calls = Array.from({ length: 40 }, () => get('/never', shared.signal));
      await new Promise((resolve) => setTimeout(resolve, 50));
      shared.abort(new Error('shutting down'));
      const outcomes = await Promise.allSettled(calls);
      assert.ok(outcomes.every((o) => o.status === 'rejected' && /shutting down/.test(String(o.reason))));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('takes an EventEmitter-like signal (the Consul call deadlines) and stops listening once done', async () => {
    const signal = Object.assign(new EventEmitter(), { aborted: false });
    const response = await get('/', signal);
    assert.equal(bodyText(response.body), 'ok');
    assert.equal(signal.listenerCount('abort'), 0, 'its listener was removed');

    const late: EventEmitter & { aborted: boolean; reason?: Error } = Object.assign(new EventEmitter(), {
      aborted: false,
    });
    const pending = get('/never', late);
    setTimeout(() => {
      late.aborted = true;
      late.reason = new Error('deadline');
      late.emit('abort');
    }, 30);
    await assert.rejects(pending, /deadline/);
    assert.equal(late.listenerCount('abort'), 0);
  });

  it('keeps nothing of the answer reachable from its abort listener once the call has settled', async () => {
    // What keeps a listener after its call (an old record of a long-lived signal's listeners) must
    // not keep the answer: it did, through the reader, and S8's copies peaked 40-70 MB higher
    // (bench/findings.md, "The abort listener and S8's peaks"). A full collection is exact, so this
    // checks reachability, not timing.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const signal = Object.assign(new EventEmitter(), { aborted: false });
    const held: unknown[] = [];
    signal.on('newListener', (event: string, listener: unknown) => {
      if (event === 'abort') held.push(listener);
    });
    const answer = await (async () => {
      const response = await get('/', signal);
      assert.equal(bodyText(response.body), 'ok');
      return { body: new WeakRef(response.body), response: new WeakRef(response) };
    })();
    assert.equal(held.length, 1, 'the call listened to its signal');
    assert.equal(signal.listenerCount('abort'), 0);
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    assert.equal(answer.response.deref(), undefined, 'the answer was collected');
    assert.equal(answer.body.deref(), undefined, 'its body was collected');
    assert.equal(held.length, 1, 'while its listener is still held');
  });

  it('answers the final response after an informational 1xx', async () => {
    const raw = createTcpServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n');
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal');
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as AddressInfo).port;
      const response = await requestWhole(
        agent,
        { origin: `http://127.0.0.1:${port}`, path: '/', method: 'GET' },
        undefined,
        ALL,
      );
      assert.equal(response.statusCode, 200);
      assert.equal(bodyText(response.body), 'final');
      assert.equal(response.headers.link, undefined, 'the 1xx headers are not the answer');
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('bodyText reads UTF-8 and drops a leading byte-order mark, as undici body.text() does', async () => {
    const response = await get('/bom');
    assert.equal(response.body.byteLength, 10, 'the bytes are kept as sent');
    assert.deepEqual(JSON.parse(bodyText(response.body)), { a: 1 });
  });
});
