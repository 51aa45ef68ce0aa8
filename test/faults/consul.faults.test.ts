import { before } from 'node:test';
import type { Store } from '@polykv/core';
import { createConsulStore, type ConsulStoreOptions } from '@polykv/consul';
import { startConsulCluster, type ConsulCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { faultSuite, rotateMemberFaults, type FaultScenario } from './scenarios.js';

// Issue 8, faults, on a real 3-server Consul cluster (with data folders, so a restarted server keeps
// its state) with a TCP proxy in front of each server's HTTP port.

let cluster: ConsulCluster;
let proxies: TcpProxy[] = [];

before(async () => {
  cluster = await startConsulCluster(3, { hcl: ['session_ttl_min = "1s"'] });
  proxies = await Promise.all(cluster.servers.map((server) => TcpProxy.start('127.0.0.1', server.httpPort)));
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
  members: 'server',
  open,
  direct,
  // SIGKILL + restart, SIGSTOP + SIGCONT, proxy resets; the leader included.
  faults: (stop, afterFault) =>
    rotateMemberFaults(stop, cluster.servers, () => cluster.leader(), proxies, 2000, afterFault),
};

faultSuite(scenario, () => proxies, BOUND);
