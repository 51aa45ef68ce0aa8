import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '@polykv/core';
import { createConsulStore, type ConsulStoreOptions } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulCluster, type ConsulCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import {
  everyCallSettlesUnderProxyFaults,
  rotateMemberFaults,
  lossBeforeTakeover,
  printTotals,
  lockContendersUnderFaults,
  unhandled,
  writersAndWatchersUnderFaults,
  type FaultScenario,
} from './harness.js';

// Issue 8, faults, on a real 3-server Consul cluster (with data folders, so a restarted server keeps
// its state) with a TCP proxy in front of each server's HTTP port.

let cluster: ConsulCluster;
let proxies: TcpProxy[] = [];

before(async () => {
  cluster = await startConsulCluster(3, { hcl: ['session_ttl_min = "1s"'] });
  proxies = await Promise.all(cluster.servers.map((server) => TcpProxy.start('127.0.0.1', server.httpPort)));
});

after(async () => {
  printTotals('consul');
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection during the fault tests');
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await stopAllServers();
});

const TIMEOUT = 3000;
const BOUND = TIMEOUT + 5000;

function open(prefix: string, extra: Partial<ConsulStoreOptions> = {}): Store {
  return createConsulStore({
    client: { address: proxies.map((proxy) => proxy.host), failover: true, timeout: TIMEOUT },
    prefix,
    minTtl: 1,
    lockDelay: 1000,
    watchWait: 5000,
    ...extra,
  });
}

function direct(prefix: string): Store {
  return createConsulStore({ client: { address: cluster.addresses, failover: true }, prefix, minTtl: 1 });
}

const scenario: FaultScenario = {
  backend: 'consul',
  open,
  direct,
  // SIGKILL + restart, SIGSTOP + SIGCONT, proxy resets; the leader included.
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.servers, () => cluster.leader(), proxies, 2000, afterFault),
};

describe('consul faults', () => {
  it(
    'every call ends in success or a typed error within its timeout under every proxy fault; close() leaks nothing',
    { timeout: 120_000 },
    async () => {
      await everyCallSettlesUnderProxyFaults(scenario, proxies, BOUND);
    },
  );

  it(
    'sequence-numbered writers and watchers: no acknowledged write lost, no event missed or duplicated across server kills, pauses and resets',
    { timeout: 180_000 },
    async () => {
      await writersAndWatchersUnderFaults(scenario, BOUND);
    },
  );

  it(
    'lock contenders under server pauses and kills: no double holder, the counter equals the increments',
    { timeout: 180_000 },
    async () => {
      await lockContendersUnderFaults(scenario, BOUND);
    },
  );

  it(
    'a holder cut off by a black hole is told it lost the lock before another client takes it',
    { timeout: 90_000 },
    async () => {
      const prefix = `faults/${randomBytes(4).toString('hex')}`;
      const holder = open(prefix);
      const contender = direct(prefix);
      try {
        const { lostAfterMs, takenAfterMs } = await lossBeforeTakeover(
          holder,
          contender,
          {
            cut: () => proxies.forEach((proxy) => proxy.setMode({ kind: 'blackhole' })),
            heal: () => proxies.forEach((proxy) => proxy.pass()),
          },
          3,
          60_000,
        );
        console.log(
          `consul takeover: holder told after ${lostAfterMs} ms, new holder after ${takenAfterMs} ms`,
        );
      } finally {
        await Promise.all([holder.close(), contender.close()]);
      }
    },
  );
});
