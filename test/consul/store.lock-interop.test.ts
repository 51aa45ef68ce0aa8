import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPolykvError } from '@polykv/core';
import { ConsulClient, createConsulStore, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';
import { ConsulCli } from '../helpers/tools.js';

after(stopAllServers);

function timedOut(error: unknown): boolean {
  assert.ok(isPolykvError(error), String(error));
  assert.equal(error.code, 'TIMEOUT', error.message);
  return true;
}

/** The Consul Store's lock and semaphore on keys the user names, against the real `consul lock`. */
describe('Consul Store lock { consulKey } and semaphore { consulPrefix } with the real consul lock', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  let stores: ConsulStore[];
  let tools: ConsulCli;

  before(async () => {
    agent = await startConsulDev();
    client = new ConsulClient({ address: agent.address });
    stores = [0, 1, 2].map(() => createConsulStore({ client, prefix: '', lockDelay: 0 }));
    tools = new ConsulCli(agent);
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await client?.close();
  });

  it(
    'consul lock -n 2 holds a slot: polykv gets the other, a third contender waits; and the reverse',
    { timeout: 120_000 },
    async () => {
      const theirs = tools.lock('sem1', { n: 2 });
      try {
        await theirs.waitHeld();
        const mine = await stores[0]!.semaphore('s', {
          limit: 2,
          consulPrefix: 'sem1',
          ttl: 10,
          wait: 10_000,
        });
        await assert.rejects(
          stores[1]!.semaphore('s', { limit: 2, consulPrefix: 'sem1', ttl: 10, wait: 1500 }),
          timedOut,
        );
        await theirs.stop();
        const third = await stores[1]!.semaphore('s', {
          limit: 2,
          consulPrefix: 'sem1',
          ttl: 10,
          wait: 30_000,
        });
        await third.release();
        await mine.release();
      } finally {
        await theirs.stop();
      }
      // The reverse: polykv holds both slots, consul lock -n 2 waits until one is released.
      const a = await stores[0]!.semaphore('s', { limit: 2, consulPrefix: 'sem2', ttl: 10 });
      const b = await stores[1]!.semaphore('s', { limit: 2, consulPrefix: 'sem2', ttl: 10 });
      const waiting = tools.lock('sem2', { n: 2 });
      try {
        await assert.rejects(waiting.waitHeld(3000));
        assert.ok(waiting.running, 'consul lock -n 2 still waits');
        await b.release();
        await waiting.waitHeld();
        assert.equal(a.held, true);
      } finally {
        await waiting.stop();
        await a.release();
      }
    },
  );

  it(
    'consul lock <p> and lock { consulKey: "<p>/.lock" } exclude each other, both ways',
    { timeout: 120_000 },
    async () => {
      const theirs = tools.lock('lk1');
      try {
        await theirs.waitHeld();
        await assert.rejects(stores[0]!.lock('l', { consulKey: 'lk1/.lock', ttl: 10, wait: 0 }), timedOut);
        await assert.rejects(stores[0]!.lock('l', { consulKey: 'lk1/.lock', ttl: 10, wait: 1500 }), timedOut);
        await theirs.stop();
        const mine = await stores[0]!.lock('l', { consulKey: 'lk1/.lock', ttl: 10, wait: 30_000 });
        await mine.release();
      } finally {
        await theirs.stop();
      }
      const mine = await stores[0]!.lock('l', { consulKey: 'lk2/.lock', ttl: 10 });
      const waiting = tools.lock('lk2');
      try {
        await assert.rejects(waiting.waitHeld(3000));
        assert.ok(waiting.running, 'consul lock still waits');
        await mine.release();
        await waiting.waitHeld();
      } finally {
        await waiting.stop();
      }
    },
  );
});
