import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ConsulClient, SEMAPHORE_FLAG_VALUE, isConsulError, kvText, type ConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { useAclFixture } from './fixture.js';

after(stopAllServers);

describe('ConsulSemaphore against a real agent (ACLs on)', () => {
  let client: ConsulClient;
  let newClient: () => ConsulClient;
  useAclFixture((fixture) => {
    client = fixture.consul;
    newClient = () => fixture.client();
  });

  it('admits at most `limit` holders among 5 contenders, and every contender gets a turn', async () => {
    let inside = 0;
    let maxInside = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      const semaphore = newClient().semaphore('sem/pool', 2);
      for (let round = 0; round < 2; round++) {
        const held = await semaphore.acquire();
        inside++;
        maxInside = Math.max(maxInside, inside);
        assert.equal(held.signal.aborted, false);
        await delay(20);
        inside--;
        await semaphore.release();
      }
      done++;
    };
    await Promise.all(Array.from({ length: 5 }, worker));
    assert.equal(done, 5);
    assert.ok(maxInside <= 2, `at most 2 holders at once, saw ${maxInside}`);
    const { data: lockKey } = await client.kv.get('sem/pool/.lock');
    assert.equal(lockKey?.Flags, SEMAPHORE_FLAG_VALUE);
    assert.deepEqual(JSON.parse(kvText(lockKey)!), { Limit: 2, Holders: {} });
    assert.deepEqual((await client.kv.keys('sem/pool/')).data, ['sem/pool/.lock'], 'contender keys are gone');
  });

  it('acquire { timeout } rejects with CONSUL_TIMEOUT, { signal } with CONSUL_ABORTED; no session is left', async () => {
    const holder = newClient().semaphore('sem/bounded', 1);
    await holder.acquire();
    const lock = newClient().lock('sem/bounded-lock');
    await lock.acquire();
    const sessionsBefore = (await client.session.list()).data.length;
    for (const waiter of [newClient().semaphore('sem/bounded', 1), newClient().lock('sem/bounded-lock')]) {
      waiter.on('error', () => undefined);
      await assert.rejects(waiter.acquire({ timeout: 300 }), (error: ConsulError) => {
        assert.ok(isConsulError(error));
        assert.equal(error.code, 'CONSUL_TIMEOUT', error.message);
        return true;
      });
      await assert.rejects(waiter.acquire({ signal: AbortSignal.timeout(300) }), (error: ConsulError) => {
        assert.equal(error.code, 'CONSUL_ABORTED', error.message);
        return true;
      });
    }
    assert.equal((await client.session.list()).data.length, sessionsBefore, 'the waiters left no session');
    await holder.release();
    await lock.release();
  });

  it('writes the Go api layout: <prefix>/<session> contender keys and a .lock holders list', async () => {
    const semaphore = client.semaphore('sem/layout', 3, { value: 'worker-1' });
    const held = await semaphore.acquire();
    const contender = (await client.kv.get(`sem/layout/${held.session}`)).data;
    assert.equal(contender?.Session, held.session);
    assert.equal(kvText(contender), 'worker-1');
    const lockBody = JSON.parse(kvText((await client.kv.get('sem/layout/.lock')).data)!) as unknown;
    assert.deepEqual(lockBody, { Limit: 3, Holders: { [held.session]: true } });
    assert.ok(held.fencingToken > 0);
    await semaphore.release();
  });

  it('reports the loss when the holder session is destroyed', async () => {
    const semaphore = client.semaphore('sem/lost', 1);
    const held = await semaphore.acquire();
    const lost = new Promise<ConsulError>((resolve) => semaphore.once('lost', resolve));
    await client.session.destroy(held.session);
    await lost;
    assert.equal(held.signal.aborted, true);
    // The dead holder is pruned: another contender gets the only slot.
    const other = newClient().semaphore('sem/lost', 1);
    await other.acquire();
    await other.release();
  });

  it('refuses a contender that disagrees on the limit', async () => {
    const first = client.semaphore('sem/limit', 2);
    await first.acquire();
    const other = newClient().semaphore('sem/limit', 3);
    other.on('error', () => undefined);
    await assert.rejects(other.acquire(), (error) => isConsulError(error) && /limit 2/.test(error.message));
    await first.release();
  });
});
