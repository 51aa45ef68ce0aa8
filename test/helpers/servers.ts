// The server starters live in @polykv/testing; this file keeps the test suite's import paths
// (and the suite's older name for the dev agent, startConsulDev).
export {
  CONSUL_MASTER_TOKEN,
  ConsulAgent,
  EtcdMember,
  startConsul,
  startConsul as startConsulDev,
  startConsulCluster,
  startCustomEtcd,
  startEtcd,
  startEtcdCluster,
  type ConsulCluster,
  type ConsulOptions,
  type EtcdCluster,
} from '@polykv/testing';
