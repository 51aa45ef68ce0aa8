import { after } from 'node:test';
import { createMemoryStore } from '@polykv/core';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { runToolsSuite } from '../helpers/tools-suite.js';

// copy, diff, mirror and loadConfig between real etcd members and memory://. The etcd stores opt into
// base64 for bytes that are not UTF-8 (etcd v2 holds text): the suite copies such bytes.
after(stopAllServers);
const [source, target] = await Promise.all([startEtcd(), startEtcd()]);

runToolsSuite(
  'etcd to etcd (two servers)',
  async (prefix, codec) =>
    createEtcdStore({ hosts: source.host, prefix, binaryEncoding: 'base64', ...(codec ? { codec } : {}) }),
  async (prefix, codec) =>
    createEtcdStore({ hosts: target.host, prefix, binaryEncoding: 'base64', ...(codec ? { codec } : {}) }),
);

runToolsSuite(
  'memory:// to etcd',
  async (prefix, codec) =>
    createMemoryStore({ name: 'integration-memory', prefix, ...(codec ? { codec } : {}) }),
  async (prefix, codec) =>
    createEtcdStore({ hosts: target.host, prefix, binaryEncoding: 'base64', ...(codec ? { codec } : {}) }),
);
