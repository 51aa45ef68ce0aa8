import { randomBytes } from 'node:crypto';
import { createMemoryStore, isPolykvError, type Codec, type PolykvErrorCode, type Store } from '@polykv/core';
import { createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';
import { startConsulDev, startEtcd } from '../helpers/servers.js';

/** Opens a store of one backend on a prefix. */
export type Opener = <V = string>(prefix: string, codec?: Codec<V>) => Store<V>;

export interface Backend {
  name: 'memory' | 'etcd' | 'consul';
  open: Opener;
}

/**
 * One store of every backend: memory://, a real etcd member and a real Consul dev agent (one server
 * of each per test file). Call from a `before()`; `after(stopAllServers)` stops them.
 */
export async function startBackends(): Promise<Backend[]> {
  const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  const memoryName = `bad-input-${randomBytes(4).toString('hex')}`;
  return [
    {
      name: 'memory',
      open: (prefix, codec) => createMemoryStore({ name: memoryName, prefix, ...(codec ? { codec } : {}) }),
    },
    {
      name: 'etcd',
      // etcd v2 holds text: arbitrary bytes need the base64 opt-in (test/etcd/store.binary covers the refusal).
      open: (prefix, codec) =>
        createEtcdStore({ hosts: etcd.host, prefix, binaryEncoding: 'base64', ...(codec ? { codec } : {}) }),
    },
    {
      name: 'consul',
      open: (prefix, codec) =>
        createConsulStore({ client: { address: consul.address }, prefix, ...(codec ? { codec } : {}) }),
    },
  ];
}

export function freshPrefix(tag: string): string {
  return `${tag}/${randomBytes(5).toString('hex')}`;
}

/** For `assert.rejects`: a PolykvError with one of these codes. */
export function hasCode(...codes: PolykvErrorCode[]): (error: unknown) => boolean {
  return (error: unknown) => {
    if (!isPolykvError(error))
      throw new Error(`expected a PolykvError (${codes.join('|')}), got ${String(error)}`, { cause: error });
    if (!codes.includes(error.code))
      throw new Error(`expected ${codes.join('|')}, got ${error.code}: ${error.message}`, { cause: error });
    return true;
  };
}

/** Runs `fn` and returns what it threw (synchronously or as a rejection), or `undefined`. */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return error;
  }
}
