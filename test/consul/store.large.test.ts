import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, type Dispatcher } from 'undici';
import { ConsulClient, createConsulStore, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';

after(stopAllServers);

// Values too large for a transaction body (over about 285 KiB) go through `PUT /v1/kv`. A plain PUT
// counts as idempotent, so with several agents it could be resent after a broken connection and
// land after a newer write: the store always sends it with `?cas=` on the index it just read.
describe('Consul Store: values too large for a transaction', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  let store: ConsulStore;
  const puts: string[] = [];

  before(async () => {
    agent = await startConsulDev({ hcl: ['session_ttl_min = "1s"'] });
    const recording = new Agent().compose((dispatch: Dispatcher['dispatch']) => (options, handler) => {
      if (options.method === 'PUT' && options.path.startsWith('/v1/kv/')) puts.push(options.path);
      return dispatch(options, handler);
    });
    client = new ConsulClient({ address: agent.address, dispatcher: recording });
    store = createConsulStore({ client, prefix: 'large', minTtl: 1 });
  });
  after(async () => {
    await store?.close();
    await client?.close();
  });

  it('replaces a value, and one held by a TTL session, with ?cas writes only', async () => {
    const big = (fill: string) => fill.repeat(400 * 1024);
    const created = await store.set('k', big('a'));
    assert.equal((await store.get('k'))?.value, big('a'));
    const replaced = await store.set('k', big('b'));
    assert.ok(replaced.index > created.index);
    assert.equal((await store.get('k'))?.value.length, 400 * 1024);

    await store.set('held', 'small', { ttl: 5 });
    await store.set('held', big('c'));
    const held = await store.get('held');
    assert.equal(held?.value, big('c'));
    assert.equal(held?.expiresAt, undefined, 'the TTL went with the old value');

    const plain = puts.filter((path) => !/[?&](cas|acquire|release)=/.test(path));
    assert.deepEqual(plain, [], 'no unconditional PUT /v1/kv');
    assert.ok(puts.length >= 3);
  });
});
