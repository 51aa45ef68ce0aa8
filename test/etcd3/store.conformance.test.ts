import { after } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { createEtcd3Store, type Etcd3Store } from '@polykv/etcd3';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd, startEtcdCluster } from '../helpers/servers.js';

after(stopAllServers);

const member = await startEtcd();
const cluster = await startEtcdCluster(3);
const breakLock = (store: Store, lock: Parameters<Etcd3Store['breakLock']>[0]): Promise<void> =>
  (store as unknown as Etcd3Store).breakLock(lock);

runStoreConformance(
  'etcd3 (one member)',
  ({ prefix, codec }) => createEtcd3Store({ hosts: member.host, prefix, ...(codec ? { codec } : {}) }),
  { breakLock },
);

runStoreConformance(
  'etcd3:// via openStore (one member)',
  ({ prefix, codec }) => openStore(`etcd3://${member.host}/${prefix}`, codec ? { codec } : {}),
  { breakLock },
);

// Each store of a test gets its own host order, so that writes and reads go through different members.
let turn = 0;
runStoreConformance(
  'etcd3 (3-member cluster)',
  ({ prefix, codec }) =>
    createEtcd3Store({
      hosts: cluster.hosts.map((_, i) => cluster.hosts[(i + turn++) % cluster.hosts.length]!),
      deterministicOrder: true,
      prefix,
      ...(codec ? { codec } : {}),
    }),
  { breakLock, slack: 5000 },
);
