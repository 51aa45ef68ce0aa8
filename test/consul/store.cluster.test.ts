import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isPolykvError, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { ConsulClient, createConsulStore, type ConsulStore } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulCluster } from '../helpers/servers.js';

after(stopAllServers);

const cluster = await startConsulCluster(3, { acl: true, hcl: ['session_ttl_min = "1s"'] });
const token = cluster.servers[0]!.token!;
const client = new ConsulClient({ address: cluster.addresses, token, failover: true });
after(() => client.close());

runStoreConformance(
  'consul (3-server cluster)',
  ({ prefix, codec }) =>
    createConsulStore({ client, prefix, minTtl: 1, lockDelay: 1000, ...(codec ? { codec } : {}) }),
  { breakLock: (store: Store, lock) => (store as ConsulStore).breakLock(lock), slack: 5000 },
);

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Consul store across a leader failure', () => {
  it('resumes after the election and loses no acknowledged write', async () => {
    const store = createConsulStore({
      client: { address: cluster.addresses, token, failover: true, timeout: 3000 },
      prefix: `failover-${process.pid}`,
      minTtl: 1,
    });
    const acked: number[] = [];
    let failures = 0;
    let stop = false;
    const writer = (async () => {
      for (let seq = 0; !stop; seq++) {
        for (;;) {
          try {
            await store.set(`seq/${String(seq).padStart(6, '0')}`, String(seq));
            acked.push(seq);
            break;
          } catch (error) {
            if (!isPolykvError(error) || !['UNAVAILABLE', 'BACKEND_ERROR', 'TIMEOUT'].includes(error.code))
              throw error;
            failures++;
            await delay(100);
          }
        }
      }
    })();
    await delay(1500);
    const leader = await cluster.leader();
    const before = acked.length;
    await leader.kill();
    // Wait for writes to be acknowledged again after the election.
    const deadline = Date.now() + 60_000;
    while (acked.length < before + 50) {
      assert.ok(Date.now() < deadline, `writes resume after the election (${acked.length} acked)`);
      await delay(100);
    }
    stop = true;
    await writer;
    const listed = await store.list('seq', { consistent: true });
    const present = new Map(listed.map((entry) => [entry.key, entry.dir ? undefined : entry.value]));
    for (const seq of acked) {
      assert.equal(present.get(`seq/${String(seq).padStart(6, '0')}`), String(seq), `write ${seq} survived`);
    }
    await store.del('', { recursive: true });
    await store.close();
    void failures;
  });
});
