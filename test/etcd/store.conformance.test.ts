import { after } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { createEtcdStore, type EtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';

after(stopAllServers);

const member = await startEtcd();

runStoreConformance(
  'etcd (one member)',
  ({ prefix, codec }) => createEtcdStore({ hosts: member.host, prefix, ...(codec ? { codec } : {}) }),
  { breakLock: (store: Store, lock) => (store as EtcdStore).breakLock(lock) },
);

runStoreConformance(
  'etcd:// via openStore (one member)',
  ({ prefix, codec }) => openStore(`etcd://${member.host}/${prefix}`, codec ? { codec } : {}),
  { breakLock: (store: Store, lock) => (store as unknown as EtcdStore).breakLock(lock) },
);
