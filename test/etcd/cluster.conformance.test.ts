import { after } from 'node:test';
import type { Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { createEtcdStore, type EtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startCluster } from './util.js';

after(stopAllServers);

const cluster = await startCluster(3);

// Each store of a test gets its own host order, so that writes and reads go through different members.
let turn = 0;
runStoreConformance(
  'etcd (3-member cluster)',
  ({ prefix, codec }) =>
    createEtcdStore({
      hosts: cluster.hosts.map((_, i) => cluster.hosts[(i + turn++) % cluster.hosts.length]!),
      deterministicOrder: true,
      prefix,
      ...(codec ? { codec } : {}),
    }),
  { breakLock: (store: Store, lock) => (store as EtcdStore).breakLock(lock), slack: 5000 },
);
