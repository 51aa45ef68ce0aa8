import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '@polykv/core';
import { createEtcdStore, type EtcdStoreOptions } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/servers.js';
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

// Issue 8, faults, on a real 3-member etcd cluster with a TCP proxy in front of each member.

let cluster: EtcdCluster;
let proxies: TcpProxy[] = [];

before(async () => {
  try {
    cluster = await startEtcdCluster(3);
  } catch {
    // Two test files may start clusters at once on two cores; one more try before failing.
    cluster = await startEtcdCluster(3);
  }
  proxies = await Promise.all(
    cluster.members.map((member) => {
      const port = Number(member.host.split(':')[1]);
      return TcpProxy.start('127.0.0.1', port);
    }),
  );
});

after(async () => {
  printTotals('etcd');
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection during the fault tests');
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await stopAllServers();
});

const TIMEOUT = 3000;
const BOUND = TIMEOUT + 5000;

function open(prefix: string, extra: EtcdStoreOptions = {}): Store {
  return createEtcdStore({
    hosts: proxies.map((proxy) => proxy.host),
    prefix,
    timeout: TIMEOUT,
    attemptTimeout: 1500,
    connectTimeout: 1000,
    maxRetries: 2,
    ...extra,
  });
}

/** Member faults: SIGKILL + restart, SIGSTOP + SIGCONT, proxy resets; the leader included. */
const scenario: FaultScenario = {
  backend: 'etcd',
  open,
  direct: (prefix) => createEtcdStore({ hosts: cluster.hosts, prefix }),
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.members, () => cluster.leader(), proxies, 1500, afterFault),
};

describe('etcd faults', () => {
  it(
    'every call ends in success or a typed error within its timeout under every proxy fault; close() leaks nothing',
    { timeout: 120_000 },
    async () => {
      await everyCallSettlesUnderProxyFaults(scenario, proxies, BOUND);
    },
  );

  it(
    'sequence-numbered writers and watchers: no acknowledged write lost, no event missed or duplicated across kills, pauses and resets',
    { timeout: 180_000 },
    async () => {
      await writersAndWatchersUnderFaults(scenario, BOUND);
    },
  );

  it(
    'lock contenders under member pauses and kills: no double holder, the counter equals the increments',
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
      const contender = createEtcdStore({ hosts: cluster.hosts, prefix });
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
          `etcd takeover: holder told after ${lostAfterMs} ms, new holder after ${takenAfterMs} ms`,
        );
      } finally {
        await Promise.all([holder.close(), contender.close()]);
      }
    },
  );
});
