import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '@polykv/core';
import { createEtcd3Store, type Etcd3StoreOptions } from '@polykv/etcd3';
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

// The fault scenarios of issue 8 on the etcd3 store (the v3 API): a real 3-member etcd cluster with
// a TCP proxy in front of each member's client port.

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
  printTotals('etcd3');
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection during the fault tests');
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await stopAllServers();
});

const TIMEOUT = 3000;
const BOUND = TIMEOUT + 5000;

function open(prefix: string, extra: Etcd3StoreOptions = {}): Store {
  return createEtcd3Store({
    hosts: proxies.map((proxy) => proxy.host),
    prefix,
    timeout: TIMEOUT,
    attemptTimeout: 1500,
    connectTimeout: 1000,
    maxRetries: 2,
    // A paused member or a black hole keeps a watch stream open and silent: a ping unanswered
    // within attemptTimeout drops the connection, and the watch resumes elsewhere.
    pingIntervalMs: 1000,
    ...extra,
  });
}

/** Member faults: SIGKILL + restart, SIGSTOP + SIGCONT, proxy resets; the leader included. */
const scenario: FaultScenario = {
  backend: 'etcd3',
  open,
  direct: (prefix) => createEtcd3Store({ hosts: cluster.hosts, prefix }),
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.members, () => cluster.leader(), proxies, 1500, afterFault),
};

describe('etcd3 faults', () => {
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
      const contender = createEtcd3Store({ hosts: cluster.hosts, prefix });
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
          `etcd3 takeover: holder told after ${lostAfterMs} ms, new holder after ${takenAfterMs} ms`,
        );
      } finally {
        await Promise.all([holder.close(), contender.close()]);
      }
    },
  );
});
