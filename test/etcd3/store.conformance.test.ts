import * as nodeTest from 'node:test';
import { after } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { runStoreConformance, type TestApi } from '@polykv/core/testing';
import { createEtcd3Store, type Etcd3Store } from '@polykv/etcd3';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd, startEtcdCluster } from '../helpers/servers.js';

after(stopAllServers);

/**
 * The suite without its watch tests: the etcd3 store's watch is a poll source of core's watch
 * engine, which is being built (issue 14); `store.watch` rejects with NOT_SUPPORTED until then.
 */
const withoutWatch: TestApi = {
  describe: (name, fn) => nodeTest.describe(name, fn),
  it: (name, options, fn) =>
    /watch|text codecs never read/.test(name) || currentDescribe === 'watch'
      ? nodeTest.it(name, { ...options, skip: 'the etcd3 store watch waits for the core watch engine' }, fn)
      : nodeTest.it(name, options, fn),
};
let currentDescribe = '';
const plainDescribe = withoutWatch.describe;
withoutWatch.describe = (name, fn) =>
  plainDescribe(name, () => {
    const outer = currentDescribe;
    currentDescribe = name;
    fn();
    currentDescribe = outer;
  });

const member = await startEtcd();
const cluster = await startEtcdCluster(3);
const breakLock = (store: Store, lock: Parameters<Etcd3Store['breakLock']>[0]): Promise<void> =>
  (store as unknown as Etcd3Store).breakLock(lock);

runStoreConformance(
  'etcd3 (one member)',
  ({ prefix, codec }) => createEtcd3Store({ hosts: member.host, prefix, ...(codec ? { codec } : {}) }),
  { breakLock, test: withoutWatch },
);

runStoreConformance(
  'etcd3:// via openStore (one member)',
  ({ prefix, codec }) => openStore(`etcd3://${member.host}/${prefix}`, codec ? { codec } : {}),
  { breakLock, test: withoutWatch },
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
  { breakLock, test: withoutWatch, slack: 5000 },
);
