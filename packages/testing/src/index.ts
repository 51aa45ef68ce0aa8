/**
 * Real etcd and Consul servers for tests: the binaries found (environment variable, cache, `PATH`)
 * or installed from Debian's archive, members, clusters and dev agents on free loopback ports, each
 * with its store URL and a `stop()`.
 *
 * @packageDocumentation
 */
export { SERVER_MANIFEST, type ServerKind, type ServerPackage } from './manifest.js';
export { cacheDir, cachedBinary, findBinary, isCached, packageDir, type FoundBinary } from './binaries.js';
export { installServers, resolveBinary, type InstallOptions } from './install.js';
export {
  freePort,
  freePorts,
  makeDir,
  ManagedProcess,
  probe,
  stopAllServers,
  testRoot,
  waitUntil,
  type ProbeResponse,
} from './processes.js';
export {
  EtcdMember,
  startCustomEtcd,
  startEtcd,
  startEtcdCluster,
  type EtcdCluster,
  type EtcdOptions,
} from './etcd.js';
export {
  CONSUL_MASTER_TOKEN,
  ConsulAgent,
  startConsul,
  startConsulCluster,
  type ConsulCluster,
  type ConsulOptions,
} from './consul.js';
