import { getEventListeners } from 'node:events';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsulClient, isConsulError } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';

after(stopAllServers);

describe('sessions against a real agent (ACLs on)', () => {
  let agent: ConsulAgent;
  let client: ConsulClient;
  let node: string;
  before(async () => {
    agent = await startConsulDev({ acl: true });
    client = new ConsulClient({ address: agent.address, token: agent.token! });
    const self = await client.request<{ Config: { NodeName: string } }>({
      method: 'GET',
      path: '/v1/agent/self',
    });
    node = self.data.Config.NodeName;
  });
  after(async () => {
    await client.close();
  });

  it('creates (TTL in ms, lock-delay, behavior), reads, lists, renews and destroys', async () => {
    const id = await client.session.create({
      Name: 'probe',
      TTL: 15_000,
      LockDelay: '5s',
      Behavior: 'delete',
    });
    const { data: info, meta } = await client.session.info(id);
    assert.equal(info?.ID, id);
    assert.equal(info?.Name, 'probe');
    assert.equal(info?.TTL, '15s');
    assert.equal(info?.LockDelay, 5e9, 'nanoseconds');
    assert.equal(info?.Behavior, 'delete');
    assert.equal(info?.Node, node);
    assert.ok((meta.index ?? 0) > 0);
    assert.ok((await client.session.list()).data.some((entry) => entry.ID === id));
    assert.ok((await client.session.node(node)).data.some((entry) => entry.ID === id));
    assert.equal((await client.session.renew(id))?.ID, id);
    assert.equal(await client.session.destroy(id), true);
    assert.equal((await client.session.info(id)).data, null, '1.8 answers 200 [] for an unknown session');
    assert.equal(await client.session.renew(id), null, 'renewing a gone session resolves null (404)');
  });

  it('keeps the agent error text for an invalid TTL', async () => {
    const error = await client.session.create({ TTL: '9s' }).catch((e: unknown) => e);
    assert.ok(isConsulError(error));
    assert.equal(error.statusCode, 500);
    assert.match(error.body ?? '', /Invalid Session TTL/);
  });

  it('renewPeriodic renews until the signal aborts, then destroys the session', async () => {
    const id = await client.session.create({ TTL: '10s' });
    const controller = new AbortController();
    const errors: unknown[] = [];
    const renewing = client.session.renewPeriodic(id, '1s', {
      signal: controller.signal,
      onError: (error) => errors.push(error),
    });
    // Let at least one renewal happen (every ttl/2 = 500 ms at first).
    const { meta } = await client.session.info(id);
    await client.session.info(id, { index: meta.index!, wait: '1500ms' });
    controller.abort();
    await renewing;
    assert.deepEqual(errors, []);
    assert.equal((await client.session.info(id)).data, null, 'destroyed on stop');
  });

  it("renewPeriodic with detach leaves the caller's signal as it found it once the loop ends", async () => {
    // A long-lived stop signal (an application's shutdown) shared by many renewal loops must not
    // keep anything of each loop (AbortSignal.any would keep every combined signal on Node 20).
    const stop = new AbortController();
    for (let i = 0; i < 3; i++) {
      const id = await client.session.create({ TTL: '10s' });
      const detach = new AbortController();
      const renewing = client.session.renewPeriodic(id, '10s', {
        signal: stop.signal,
        detach: detach.signal,
      });
      detach.abort();
      await renewing;
      assert.ok((await client.session.info(id)).data, 'detached: the session is left to its holder');
      await client.session.destroy(id);
    }
    assert.ok(
      getEventListeners(stop.signal, 'abort').length <= 1,
      'at most one listener, whatever the loops',
    );
    const dependants = Object.getOwnPropertySymbols(stop.signal).find(
      (symbol) => symbol.description === 'kDependantSignals',
    );
    const kept = dependants && (stop.signal as unknown as Record<symbol, { size?: number }>)[dependants];
    assert.equal(kept?.size ?? 0, 0, 'no signal combined from it is kept');
  });

  it('renewPeriodic reports the loss of a session destroyed elsewhere', async () => {
    const id = await client.session.create({ TTL: '10s' });
    await client.session.destroy(id);
    await assert.rejects(
      client.session.renewPeriodic(id, '1s'),
      (error) => isConsulError(error) && error.statusCode === 404,
    );
  });

  it('answers a denied token with CONSUL_PERMISSION_DENIED', async () => {
    await assert.rejects(
      client.session.create({}, { token: '00000000-0000-4000-8000-00000000dead' }),
      (error) => isConsulError(error) && error.code === 'CONSUL_PERMISSION_DENIED',
    );
  });
});
