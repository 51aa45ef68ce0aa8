import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConsulClient,
  ConsulWatch,
  kvText,
  type ConsulError,
  type KvPair,
  type QueryMeta,
} from '@polykv/consul';
import { FakeServer } from '../helpers/fake-server.js';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';

after(stopAllServers);

/** Resolves with the first `change` that satisfies `accept`; rejects if the watch ends first. */
function nextChange<T>(watch: ConsulWatch<T>, accept: (data: T, meta: QueryMeta) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onChange = (data: T, meta: QueryMeta): void => {
      if (!accept(data, meta)) return;
      watch.off('change', onChange);
      watch.off('end', onEnd);
      resolve(data);
    };
    const onEnd = (error?: ConsulError): void => {
      watch.off('change', onChange);
      reject(error ?? new Error('the watch ended'));
    };
    watch.on('change', onChange);
    watch.on('end', onEnd);
  });
}

const fast = { minInterval: 0, backoffBase: 1, backoffMax: 5, random: () => 0 };

describe('ConsulWatch against a scripted agent', () => {
  let fake: FakeServer;
  let client: ConsulClient;
  before(async () => {
    fake = await FakeServer.start();
    client = new ConsulClient({ address: fake.address });
  });
  after(async () => {
    await client.close();
    await fake.close();
  });

  const raw = (path: string) => async (options: object) => {
    const { data, meta } = await client.request<unknown>({ method: 'GET', path, options });
    return { data, meta };
  };

  it("replays node-consul's X-Consul-Index sequence: 0→5, 5, 500, 10, 15, 14 (reset), 6, 0, 400", async () => {
    fake.reset();
    const index = (value: string) => ({ 'x-consul-index': value });
    fake.reply(
      { body: [{ n: 1 }], headers: index('5') },
      { body: [{ n: 1 }], headers: index('5') },
      { status: 500, body: 'rpc error: no leader' },
      { body: [{ n: 2 }], headers: index('10') },
      { body: [{ n: 3 }], headers: index('15') },
      { body: [{ n: 4 }], headers: index('14') },
      { body: [{ n: 5 }], headers: index('6') },
      { body: [{ n: 5 }], headers: index('0') },
      { status: 400, body: 'Invalid index' },
    );
    const watch = new ConsulWatch(raw('/v1/kv/key1'), { ...fast, wait: '30s' });
    const changes: unknown[] = [];
    const errors: ConsulError[] = [];
    watch.on('change', (data) => changes.push(data));
    watch.on('error', (error) => errors.push(error));
    const ended = await watch.closed;

    // 14 went backwards: not delivered until a consistent read says the agent started over (6).
    assert.deepEqual(changes, [[{ n: 1 }], [{ n: 2 }], [{ n: 3 }], [{ n: 5 }]]);
    assert.deepEqual(
      errors.map((error) => [error.code, error.statusCode]),
      [
        ['CONSUL_HTTP_STATUS', 500],
        ['CONSUL_BAD_RESPONSE', undefined],
        ['CONSUL_HTTP_STATUS', 400],
      ],
    );
    assert.equal(ended?.statusCode, 400, 'a 400 ends the watch loudly');
    assert.equal(watch.ended, true);
    // A plain read (no index) first, after each failure (the 500, the index 0) and after the index
    // went backwards (14): the agent may have restarted, and blocking on the old index would wait
    // out the whole `wait` (issue 13.1).
    const sent = fake.requests.map((request) => request.query.get('index'));
    assert.deepEqual(sent, [null, '5', '5', null, '10', '15', null, '6', null]);
    // Those re-reads are consistent (a stale server must not be taken for an agent that restarted).
    assert.deepEqual(
      fake.requests.map((request) => request.query.has('consistent')),
      [false, false, false, true, false, false, true, false, true],
    );
    assert.equal(fake.requests[1]!.query.get('wait'), '30000ms');
  });

  it('ends loudly when the endpoint does not support blocking queries (no X-Consul-Index)', async () => {
    fake.reset();
    fake.reply({ body: { Config: {} } });
    const watch = new ConsulWatch(raw('/v1/agent/self'), fast);
    const errors: ConsulError[] = [];
    watch.on('error', (error) => errors.push(error));
    const ended = await watch.closed;
    assert.equal(ended?.code, 'CONSUL_BAD_RESPONSE');
    assert.match(ended?.message ?? '', /X-Consul-Index/);
    assert.equal(errors.length, 1);
  });

  it('ends on 403 (permission denied) after one attempt', async () => {
    fake.reset();
    fake.setFallback({ status: 403, body: 'Permission denied' });
    try {
      const watch = new ConsulWatch(raw('/v1/kv/secret'), fast);
      watch.on('error', () => undefined);
      const ended = await watch.closed;
      assert.equal(ended?.code, 'CONSUL_PERMISSION_DENIED');
      assert.equal(fake.requests.length, 1);
    } finally {
      fake.setFallback({ status: 200, body: {} });
    }
  });

  it('gives up after maxAttempts consecutive errors', async () => {
    fake.reset();
    fake.setFallback({ status: 500, body: 'boom' });
    try {
      const watch = new ConsulWatch(raw('/v1/kv/x'), { ...fast, maxAttempts: 3 });
      let errors = 0;
      watch.on('error', () => errors++);
      const ended = await watch.closed;
      assert.equal(ended?.statusCode, 500);
      assert.equal(errors, 3);
      assert.equal(fake.requests.length, 3);
    } finally {
      fake.setFallback({ status: 200, body: {} });
    }
  });

  it('stops via signal with end() and no error; the async iterator sees the changes', async () => {
    fake.reset();
    let n = 0;
    // Every answer moves the index: an endless stream of changes.
    fake.setFallback({ body: {} });
    fake.reply(
      ...Array.from({ length: 50 }, () => () => ({
        body: { n: ++n },
        headers: { 'x-consul-index': String(n) },
      })),
    );
    const controller = new AbortController();
    const watch = new ConsulWatch(raw('/v1/kv/y'), { ...fast, signal: controller.signal });
    const seen: unknown[] = [];
    for await (const { data } of watch) {
      seen.push(data);
      if (seen.length === 3) controller.abort();
    }
    assert.deepEqual(seen.slice(0, 3), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.equal(await watch.closed, undefined, 'stopped, not failed');
  });

  it('throws the terminal error from the async iterator', async () => {
    fake.reset();
    fake.reply({ status: 400, body: 'Invalid wait time' });
    const watch = new ConsulWatch(raw('/v1/kv/z'), fast);
    watch.on('error', () => undefined);
    await assert.rejects(async () => {
      for await (const _ of watch) assert.fail('no change expected');
    }, /Invalid wait time/);
  });
});

describe('ConsulWatch against a real agent', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  before(async () => {
    agent = await startConsulDev({ acl: true });
    client = new ConsulClient({ address: agent.address, token: agent.token! });
  });
  after(async () => {
    await client.close();
  });

  it('wakes on each change of a key, and not on unrelated writes', async () => {
    await client.kv.put('watch/a', 'v0');
    const watch = client.watch((options) => client.kv.get('watch/a', options), { wait: '10s' });
    const values: (string | null)[] = [];
    watch.on('change', (pair) => values.push(kvText(pair)));
    try {
      await nextChange(watch, (pair) => kvText(pair) === 'v0');
      await client.kv.put('watch/other', 'unrelated');
      const v1 = nextChange(watch, (pair) => kvText(pair) === 'v1');
      await client.kv.put('watch/a', 'v1');
      await v1;
      const gone = nextChange(watch, (pair) => pair === null);
      await client.kv.delete('watch/a');
      await gone;
      assert.deepEqual(values, ['v0', 'v1', null]);
    } finally {
      watch.end();
    }
  });

  it('resets the index after the agent restarts with empty state, and sees later writes', async () => {
    // Raise the key's index well above what a fresh agent will report.
    for (let i = 0; i < 30; i++) await client.kv.put('watch/restart', `before-${i}`);
    const watch = client.watch((options) => client.kv.get('watch/restart', options), {
      wait: '5s',
      backoffBase: 50,
      backoffMax: 500,
    });
    const indexes: number[] = [];
    watch.on('change', (_pair, meta) => indexes.push(meta.index!));
    watch.on('error', () => undefined); // connection refused while the agent restarts: retried
    try {
      await nextChange(watch, (pair) => kvText(pair) === 'before-29');
      const high = indexes.at(-1)!;
      const emptied = nextChange(watch, (pair: KvPair | null) => pair === null);
      await agent.restart();
      await emptied;
      assert.ok(
        indexes.some((index) => index < high),
        `an index lower than ${high} was seen: ${indexes.join(', ')}`,
      );
      const later = nextChange(watch, (pair) => kvText(pair) === 'after');
      await client.kv.put('watch/restart', 'after');
      await later;
      assert.equal(watch.ended, false);
    } finally {
      watch.end();
    }
  });

  it('ends loudly with a denied token', async () => {
    const watch = client.watch((options) => client.kv.get('watch/a', options), {
      token: '00000000-0000-4000-8000-00000000dead',
    });
    const errors: ConsulError[] = [];
    watch.on('error', (error) => errors.push(error));
    const ended = await watch.closed;
    assert.equal(ended?.code, 'CONSUL_PERMISSION_DENIED');
    assert.equal(errors.length, 1);
  });
});
