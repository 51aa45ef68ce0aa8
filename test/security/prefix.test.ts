import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore, isPolykvError, type Store, type WatchEvent } from '@polykv/core';
import { createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';

// Issue 8, security: no key can escape a store's prefix (`..`, encoded slashes and dots), on every
// backend, and a prefix never matches a longer sibling (tenant/a vs tenant/ab, tenant/a-b).

after(stopAllServers);

type Open = (prefix: string) => Store;
const backends: { name: string; open: Open }[] = [];

before(async () => {
  const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  const memoryName = `prefix-${randomBytes(4).toString('hex')}`;
  backends.push(
    { name: 'memory', open: (prefix) => createMemoryStore({ name: memoryName, prefix }) },
    { name: 'etcd', open: (prefix) => createEtcdStore({ hosts: etcd.host, prefix }) },
    { name: 'consul', open: (prefix) => createConsulStore({ client: { address: consul.address }, prefix }) },
  );
});

const ESCAPES = ['..', '../b/x', 'x/../../b/x', '/../b', '../../outside', 'a/../../../outside', './x', 'x/.'];
/** Literal text that only looks like a path: it stays one segment inside the prefix. */
const LITERAL = ['%2e%2e/b/x', '..%2Fb%2Fx', '%2F..%2Fb', '..%2F..%2Foutside', '%2E%2E', '.%2e', '..\\b'];

async function values(store: Store): Promise<string[]> {
  return (
    (await store.list('', { recursive: true }))
      .filter((entry) => !entry.dir)
      .map((entry) => entry.key)
      // A tenant's lock bookkeeping (Consul keeps a released lock's key) lives inside its prefix.
      .filter((key) => !key.includes('/.polykv/'))
      .sort()
  );
}

describe('no key escapes a store prefix', () => {
  for (const name of ['memory', 'etcd', 'consul']) {
    it(`${name}: .., encoded slashes and siblings`, { timeout: 60_000 }, async () => {
      const { open } = backends.find((b) => b.name === name)!;
      const base = `sec-${randomBytes(4).toString('hex')}`;
      const root = open(base);
      const tenant = open(`${base}/tenant/a`);
      const events: WatchEvent[] = [];
      const watcher = tenant.watch('', { recursive: true });
      watcher.on('change', (event) => void events.push(event));
      watcher.on('error', () => undefined);
      try {
        const siblings = ['tenant/ab/x', 'tenant/a-b/x', 'tenant/b/x', 'outside', 'b/x'];
        for (const key of siblings) await root.set(key, 'sibling');
        while (!watcher.isConnected) await new Promise((resolve) => setTimeout(resolve, 50));

        for (const key of ESCAPES) {
          for (const attempt of [
            () => tenant.set(key, 'escaped'),
            () => tenant.get(key),
            () => tenant.del(key, { recursive: true }),
            () => tenant.compareAndSwap(key, 'escaped', { prevExist: false }),
            () => tenant.lock(key, { wait: 0 }),
            () => tenant.watch(key),
          ]) {
            let error: unknown;
            try {
              await attempt();
            } catch (caught) {
              error = caught;
            }
            assert.ok(
              isPolykvError(error) && error.code === 'INVALID_ARGUMENT',
              `${JSON.stringify(key)} refused`,
            );
          }
        }
        for (const key of LITERAL) {
          const entry = await tenant.set(key, 'inside');
          assert.equal(entry.key, key, 'stored under its literal name');
          assert.equal((await tenant.get(key))?.value, 'inside');
        }
        const lock = await tenant.lock('job');
        await lock.release();

        const all = await values(root);
        const inside = all.filter(
          (key) => key.startsWith('tenant/a/') && !key.startsWith('tenant/a/.polykv/'),
        );
        assert.deepEqual(
          all.filter((key) => !key.startsWith('tenant/a/')),
          [...siblings].sort(),
          'nothing was written outside tenant/a/, and every sibling is intact',
        );
        assert.deepEqual(inside, LITERAL.map((key) => `tenant/a/${key}`).sort());
        assert.deepEqual(await values(tenant), [...LITERAL].sort(), 'the tenant sees only its own keys');

        // A recursive delete of the tenant's root leaves the longer siblings alone.
        assert.equal(await tenant.del('', { recursive: true }), true);
        assert.deepEqual(await values(root), [...siblings].sort());
        await root.set('tenant/ab/y', 'sibling');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const foreign = events.filter((event) => event.type !== 'resync' && !LITERAL.includes(event.key));
        assert.deepEqual(foreign, [], "the tenant's watcher saw no sibling's change");
      } finally {
        await watcher.close();
        await root.del('', { recursive: true }).catch(() => undefined);
        await Promise.all([root.close(), tenant.close()]);
      }
    });
  }
});
