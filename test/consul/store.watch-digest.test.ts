import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConsulStore } from '@polykv/consul';
import { FakeServer, type FakeReply } from '../helpers/fake-server.js';
import { eventually } from '../helpers/eventually.js';

// After a failed round, a Store watch reads again and may meet an agent that started over: its
// indexes can then match what the watch delivered while the value differs. Only there does the watch
// compare the value's digest. A real agent cannot be made to reuse an index on demand, so a fake
// agent plays it: the same ModifyIndex, CreateIndex and size each time, the bytes changing or not.
describe('Consul store watch: the read after a failure compares the value, not only its indexes', () => {
  it('reports other bytes under the same indexes and size, and nothing for the same bytes', async () => {
    const fake = await FakeServer.start();
    let phase: 'up' | 'down' = 'up';
    let value = 'aaaa';
    fake.setFallback((): FakeReply => {
      if (phase === 'down') return { status: 500, body: 'No cluster leader' };
      const pair = {
        Key: 'app/k',
        Value: Buffer.from(value).toString('base64'),
        Flags: 0,
        CreateIndex: 5,
        ModifyIndex: 5,
        LockIndex: 0,
      };
      return { body: [pair], headers: { 'x-consul-index': '5', 'x-consul-knownleader': 'true' } };
    });
    const store = createConsulStore({ client: { address: fake.address } });
    const puts: string[] = [];
    const watcher = store.watch('app/k', { initial: true });
    watcher.on('put', (event) => puts.push(event.value));
    watcher.on('error', () => undefined);
    try {
      await eventually(
        () => puts.length === 1,
        () => `the initial value: ${JSON.stringify(puts)}`,
      );
      /** One failed round, then answers again until at least `rounds` more requests were answered. */
      const outage = async (rounds: number): Promise<void> => {
        phase = 'down';
        const failedAt = fake.requests.length;
        await eventually(
          () => fake.requests.length > failedAt,
          () => 'a failed round',
        );
        phase = 'up';
        const back = fake.requests.length;
        await eventually(
          () => fake.requests.length >= back + rounds,
          () => `${rounds} rounds after the failure`,
        );
      };
      value = 'bbbb'; // same size, same indexes
      await outage(1);
      await eventually(
        () => puts.length === 2,
        () => `the changed bytes reported: ${JSON.stringify(puts)}`,
      );
      assert.deepEqual(puts, ['aaaa', 'bbbb']);
      await outage(3);
      assert.deepEqual(puts, ['aaaa', 'bbbb'], 'the same bytes again are no change');
    } finally {
      await watcher.close();
      await store.close();
      await fake.close();
    }
  });
});
