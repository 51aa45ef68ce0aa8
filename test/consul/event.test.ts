import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConsulClient, eventIdToIndex, isConsulError, type UserEvent } from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';
import { stopAllServers } from '../helpers/processes.js';
import { useAclFixture } from './fixture.js';

// A payload's text (null for no payload), as a user would decode it.
const decodeText = (payload: Uint8Array | null | undefined): string | null =>
  payload === null || payload === undefined ? null : new TextDecoder().decode(payload);

after(stopAllServers);

describe('event.idToIndex', () => {
  it('XORs the two 64-bit halves of the UUID, as the Go api does', () => {
    const client = new ConsulClient();
    assert.equal(client.event.idToIndex('00000000-0000-0001-0000-000000000002'), 3n);
    assert.equal(eventIdToIndex('ffffffff-ffff-ffff-0000-000000000000'), 0xffffffffffffffffn);
    assert.equal(
      eventIdToIndex('db9892bf-1ebc-46f4-14f6-48cef6464a5e'),
      0xdb9892bf1ebc46f4n ^ 0x14f648cef6464a5en,
    );
    assert.throws(() => eventIdToIndex('not-a-uuid'), /not an event ID/);
    void client.close();
  });

  it('blocks on the exact uint64 index that a JS number would round', async () => {
    const fake = await FakeServer.start();
    const client = new ConsulClient({ address: fake.address });
    try {
      fake.reply({ body: [], headers: { 'x-consul-index': '18446744073709551615' } }, { body: [] });
      const { meta } = await client.event.list();
      await client.event.list({ index: meta.index!, wait: '1s' });
      assert.equal(fake.last().query.get('index'), '18446744073709551615');
      assert.deepEqual(fake.last().query.getAll('index').length, 1);
    } finally {
      await client.close();
      await fake.close();
    }
  });
});

describe('events against a real agent (ACLs on)', () => {
  let client: ConsulClient;
  useAclFixture((fixture) => ({ consul: client } = fixture));

  it('fires an event with a payload and lists it; the list index is idToIndex of the last ID', async () => {
    const fired = await client.event.fire('deploy', 'v1.2.3');
    assert.equal(fired.Name, 'deploy');
    assert.equal(decodeText(fired.Payload), 'v1.2.3');
    let listed: UserEvent | undefined;
    // Events travel over gossip to the agent's own buffer: wait for it with blocking lists.
    let index: number | undefined;
    for (let i = 0; i < 20 && !listed; i++) {
      const result = await client.event.list({ name: 'deploy', ...(index ? { index, wait: '2s' } : {}) });
      listed = result.data.find((event) => event.ID === fired.ID);
      index = result.meta.index;
    }
    assert.equal(decodeText(listed?.Payload), 'v1.2.3');
    const raw = await client.request({ method: 'GET', path: '/v1/event/list', query: { name: 'deploy' } });
    assert.equal(BigInt(raw.headers['x-consul-index'] as string), client.event.idToIndex(fired.ID));
  });

  it('wakes a watch on event/list when an event is fired, with filters sent', async () => {
    const watch = client.watch((options) => client.event.list({ ...options, name: 'wake' }), { wait: '10s' });
    const seen: string[] = [];
    try {
      const woke = new Promise<void>((resolve) =>
        watch.on('change', (events) => {
          for (const event of events) seen.push(decodeText(event.Payload) ?? '');
          if (seen.includes('second')) resolve();
        }),
      );
      await new Promise<void>((resolve) => watch.once('change', () => resolve()));
      await client.event.fire('wake', 'second', { node: '.*' });
      await woke;
      assert.ok(seen.includes('second'));
    } finally {
      watch.end();
    }
  });

  it('answers a denied token with CONSUL_PERMISSION_DENIED', async () => {
    await assert.rejects(
      client.event.fire('deploy', 'x', { token: '00000000-0000-4000-8000-00000000dead' }),
      (error) => isConsulError(error) && error.code === 'CONSUL_PERMISSION_DENIED',
    );
  });
});
