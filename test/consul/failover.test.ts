import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, isConsulError } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';
import { failure } from './fixture.js';

/** A port nothing listens on (connections are refused). */
async function deadPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Accepts connections, reads the request, then drops the connection: the request WAS sent. */
async function droppingServer(): Promise<{ server: TcpServer; address: string; received: () => number }> {
  let received = 0;
  const server = createTcpServer((socket) => {
    socket.once('data', () => {
      received++;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, address: `127.0.0.1:${port}`, received: () => received };
}

describe('opt-in failover between agents', () => {
  let fake: FakeServer;
  let dead: string;
  let dropping: Awaited<ReturnType<typeof droppingServer>>;
  before(async () => {
    fake = await FakeServer.start();
    dead = `127.0.0.1:${await deadPort()}`;
    dropping = await droppingServer();
  });
  after(async () => {
    await fake.close();
    await new Promise<void>((resolve) => dropping.server.close(() => resolve()));
  });

  it('moves on from a dead first address and sticks to the agent that answered', async () => {
    const client = new ConsulClient({ address: [dead, fake.address], failover: true });
    try {
      fake.reset();
      fake.reply({ body: [], headers: { 'x-consul-index': '3' } });
      const { meta } = await client.session.list();
      assert.equal(meta.agent, `http://${fake.address}`);
      // Even a non-idempotent write may go to the next agent when the first refused the connection.
      fake.reply({ body: { ID: 'adf4238a-882b-9ddc-4a9d-5b6758e4159e' } });
      assert.equal(await client.session.create({ TTL: '15s' }), 'adf4238a-882b-9ddc-4a9d-5b6758e4159e');
      fake.reply({ body: [] });
      await client.session.list();
      assert.equal(fake.requests.length, 3, 'pinned: later calls go straight to the good agent');
    } finally {
      await client.close();
    }
  });

  it('does not replay a non-idempotent write that may have reached the first agent', async () => {
    const client = new ConsulClient({ address: [dropping.address, fake.address], failover: true });
    try {
      fake.reset();
      const before = dropping.received();
      const error = await failure(client.session.create({ TTL: '15s' }));
      assert.equal(error.code, 'CONSUL_UNAVAILABLE');
      assert.equal(dropping.received(), before + 1, 'the first agent got the request');
      assert.equal(fake.requests.length, 0, 'the write was not sent again to the second agent');
      assert.equal(error.causes.length, 1);
      // A read is safe to replay: it moves on.
      fake.reply({ body: [] });
      await client.session.list();
      assert.equal(fake.requests.length, 1);
    } finally {
      await client.close();
    }
  });

  it('without failover, a dead first address fails with CONSUL_UNAVAILABLE', async () => {
    const client = new ConsulClient({ address: [dead, fake.address] });
    try {
      fake.reset();
      await assert.rejects(
        client.session.list(),
        (error) => isConsulError(error) && error.code === 'CONSUL_UNAVAILABLE',
      );
      assert.equal(fake.requests.length, 0);
    } finally {
      await client.close();
    }
  });

  it('lists every agent that failed when all are down', async () => {
    const client = new ConsulClient({ address: [dead, dead.replace(/:\d+$/, ':1')], failover: true });
    try {
      const error = await failure(client.kv.get('x'));
      assert.equal(error.code, 'CONSUL_UNAVAILABLE');
      assert.equal(error.causes.length, 2);
    } finally {
      await client.close();
    }
  });
});
