import { after } from 'node:test';
import { createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { runToolsSuite } from '../helpers/tools-suite.js';

// copy, diff, mirror and loadConfig between real etcd and real Consul, both ways. The etcd stores opt
// into base64 for bytes that are not UTF-8 (etcd v2 holds text): the suite copies such bytes.
after(stopAllServers);
const [etcd, consul] = await Promise.all([
  startEtcd(),
  startConsulDev({ acl: true, hcl: ['session_ttl_min = "1s"'] }),
]);

const openEtcd = async <V>(prefix: string, codec?: import('@polykv/core').Codec<V>) =>
  createEtcdStore<V>({ hosts: etcd.host, prefix, binaryEncoding: 'base64', ...(codec ? { codec } : {}) });
const openConsul = async <V>(prefix: string, codec?: import('@polykv/core').Codec<V>) =>
  createConsulStore<V>({
    client: { address: consul.address, token: consul.token },
    prefix,
    minTtl: 1,
    ...(codec ? { codec } : {}),
  });

runToolsSuite('etcd to Consul', openEtcd, openConsul);
runToolsSuite('Consul to etcd', openConsul, openEtcd);
