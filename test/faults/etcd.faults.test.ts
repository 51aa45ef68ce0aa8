import { before } from 'node:test';
import type { Store } from '@polykv/core';
import { createEtcdStore, type EtcdStoreOptions } from '@polykv/etcd';
import { startEtcdCluster, type EtcdCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { faultSuite, rotateMemberFaults, type FaultScenario } from './scenarios.js';

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
  members: 'member',
  open,
  direct: (prefix) => createEtcdStore({ hosts: cluster.hosts, prefix }),
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.members, () => cluster.leader(), proxies, 1500, afterFault),
};

faultSuite(scenario, () => proxies, BOUND);
