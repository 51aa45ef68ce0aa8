import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ConsulClient, LOCK_FLAG_VALUE, isConsulError, kvText, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import type { ConsulAgent } from '../helpers/servers.js';
import { useAclFixture } from './fixture.js';

after(stopAllServers);

describe('ConsulLock against a real agent (ACLs on)', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  let newClient: (token?: string) => ConsulClient;
  useAclFixture((fixture) => {
    ({ agent, consul: client } = fixture);
    newClient = (token) => fixture.client(token);
  });

  it('excludes: 4 clients × 3 rounds on a shared counter, never two holders', async () => {
    await client.kv.put('locks/counter', '0');
    let inside = 0;
    let maxInside = 0;
    const worker = async (): Promise<void> => {
      const own = newClient();
      const lock = own.lock('locks/exclusive', { sessionTtl: '15s' });
      for (let round = 0; round < 3; round++) {
        const held = await lock.acquire();
        inside++;
        maxInside = Math.max(maxInside, inside);
        assert.equal(held.signal.aborted, false);
        const { data } = await own.kv.get('locks/counter', { consistent: true });
        await delay(5); // widen the window a double holder would need
        await own.kv.put('locks/counter', String(Number(kvText(data)) + 1));
        inside--;
        await lock.release();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.equal(maxInside, 1, 'never two holders at once');
    assert.equal(kvText((await client.kv.get('locks/counter')).data), '12', 'no lost update');
  });

  it('sets the lock flags and value, emits acquire/release/end, and the fencing token grows', async () => {
    const lock = client.lock('locks/events', { value: 'me' });
    const events: string[] = [];
    for (const name of ['acquire', 'release', 'end', 'lost'] as const) lock.on(name, () => events.push(name));
    const first = await lock.acquire();
    const { data: pair } = await client.kv.get('locks/events');
    assert.equal(pair?.Flags, LOCK_FLAG_VALUE);
    assert.equal(pair?.Session, first.session);
    assert.equal(kvText(pair), 'me');
    assert.equal(first.lockIndex, 1);
    await lock.release();
    assert.equal(first.signal.aborted, true, 'the holding signal ends with the release');
    assert.equal((await client.kv.get('locks/events')).data?.Session, undefined);
    assert.equal((await client.session.info(first.session)).data, null, 'the lock destroys its session');
    const second = await lock.acquire();
    assert.ok(second.fencingToken > first.fencingToken, `${second.fencingToken} > ${first.fencingToken}`);
    assert.equal(second.lockIndex, 2);
    await lock.release();
    assert.deepEqual(events, ['acquire', 'release', 'end', 'acquire', 'release', 'end']);
  });

  it('reports the loss when its session is invalidated, and lock-delay holds the next holder off', async () => {
    const first = client.lock('locks/lost', { lockDelay: '2s' });
    const held = await first.acquire();
    const lost = new Promise<ConsulError>((resolve) => first.once('lost', resolve));
    await client.session.destroy(held.session);
    const reason = await lost;
    assert.match(reason.message, /lost/);
    assert.equal(held.signal.aborted, true);
    assert.equal(first.held, false);

    // Right after an invalidation, Consul refuses acquire (200 false) until the lock-delay passes.
    const second = newClient().lock('locks/lost', { retryTime: 200 });
    let retries = 0;
    second.on('retry', () => retries++);
    const next = await second.acquire();
    assert.ok(retries >= 1, 'acquire was refused during the lock-delay, then retried');
    assert.notEqual(next.session, held.session);
    await second.release();
  });

  it('reports the loss when the session cannot be renewed (a partition), and the key frees up', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', agent.httpPort);
    const partitioned = new ConsulClient({ address: proxy.host, token: agent.token!, timeout: 1000 });
    try {
      const lock = partitioned.lock('locks/partition', { sessionTtl: '10s', lockDelay: 0 });
      lock.on('error', () => undefined); // the monitor's failed reads while cut off
      const held = await lock.acquire();
      const lost = new Promise<ConsulError>((resolve) => lock.once('lost', resolve));
      proxy.setMode({ kind: 'blackhole' });
      const reason = await lost;
      assert.match(reason.message, /lost/);
      assert.equal(held.signal.aborted, true);
      // The server invalidates the unrenewed session (after up to 2×TTL): another client gets the lock.
      const other = newClient().lock('locks/partition', { retryTime: 200 });
      const next = await other.acquire();
      assert.notEqual(next.session, held.session);
      await other.release();
    } finally {
      await proxy.close();
      await partitioned.close();
    }
  });

  it('reports the loss when another writer takes the key away', async () => {
    const lock = client.lock('locks/stolen');
    const held = await lock.acquire();
    const lost = new Promise<ConsulError>((resolve) => lock.once('lost', resolve));
    await client.kv.delete('locks/stolen');
    await lost;
    assert.equal(held.signal.aborted, true);
  });

  it('waits while another session holds the key, and stops waiting on abort', async () => {
    const holder = client.lock('locks/busy');
    await holder.acquire();
    const waiter = newClient().lock('locks/busy');
    const controller = new AbortController();
    const attempt = waiter.acquire({ signal: controller.signal });
    await delay(300);
    controller.abort();
    await assert.rejects(attempt, (error) => isConsulError(error) && error.code === 'CONSUL_ABORTED');
    assert.equal(waiter.held, false);
    await holder.release();
  });

  it('refuses a key that is not a lock, and a double acquire', async () => {
    await client.kv.put('locks/plain', 'value');
    await assert.rejects(
      client.lock('locks/plain').acquire(),
      (error) => isConsulError(error) && error.code === 'CONSUL_INVALID_ARGUMENT',
    );
    const lock = client.lock('locks/double');
    await lock.acquire();
    await assert.rejects(lock.acquire(), /already held/);
    await lock.release();
    await assert.rejects(lock.release(), /not held/);
  });

  it('fails with CONSUL_PERMISSION_DENIED for a denied token', async () => {
    const denied = newClient('00000000-0000-4000-8000-00000000dead');
    const lock = denied.lock('locks/denied');
    lock.on('error', () => undefined);
    await assert.rejects(
      lock.acquire(),
      (error) => isConsulError(error) && error.code === 'CONSUL_PERMISSION_DENIED',
    );
  });
});
