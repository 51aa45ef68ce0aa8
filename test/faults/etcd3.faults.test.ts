import { before } from 'node:test';
import type { Store } from '@polykv/core';
import { createEtcd3Store, type Etcd3StoreOptions } from '@polykv/etcd3';
import { startEtcdCluster, type EtcdCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { faultSuite, rotateMemberFaults, type FaultScenario } from './scenarios.js';

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
  members: 'member',
  open,
  direct: (prefix) => createEtcd3Store({ hosts: cluster.hosts, prefix }),
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.members, () => cluster.leader(), proxies, 1500, afterFault),
};

faultSuite(scenario, () => proxies, BOUND);
