import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copy, diff, readPages, type Entry, type Store } from '@polykv/core';
import { ConsulClient, createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';
import { createEtcd3Store } from '@polykv/etcd3';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';

after(stopAllServers);

/**
 * `store`, refusing any whole-tree read: a recursive `list` throws. A copy or diff that passes
 * through it read the tree in pages (issue 19: S8's memory must not grow with the values).
 */
function pagedOnly<V>(store: Store<V>): Store<V> {
  return new Proxy(store, {
    get(target, name) {
      const member = Reflect.get(target, name, target) as unknown;
      if (name === 'list')
        return (dir: string, options?: { recursive?: boolean }) => {
          if (options?.recursive) throw new Error(`a whole-tree read of ${JSON.stringify(dir)}`);
          return target.list(dir, options);
        };
      return typeof member === 'function' ? (member as (...args: unknown[]) => unknown).bind(target) : member;
    },
  });
}

/**
 * Keys that make Consul's paged read split its prefixes: more than a page below one prefix, a key
 * equal to a prefix the split stops at (`s/k` beside `s/k0000`...), keys that differ only after a
 * character outside the BMP (a prefix must not end inside a surrogate pair), and a nested tree.
 */
function sampleKeys(): string[] {
  const keys = ['s/k'];
  for (let i = 0; i < 1200; i++) keys.push(`s/k${String(i).padStart(4, '0')}`);
  for (let i = 0; i < 600; i++) keys.push(`u/😀${i}`, `u/😁${i}`);
  for (let i = 0; i < 700; i++) keys.push(`n/${i % 7}/${i % 3}/leaf-${i}`);
  return keys;
}

describe('copy and diff read in pages (issue 19)', { timeout: 180_000 }, () => {
  let consulAgent: ConsulAgent;
  let member: EtcdMember;
  let consul: ConsulClient;
  const stores: Store<unknown>[] = [];
  const openConsul = (prefix: string): Store => {
    const store = createConsulStore({ client: consul, prefix });
    stores.push(store);
    return store;
  };
  const openEtcd = (prefix: string): Store => {
    const store = createEtcdStore({ hosts: member.host, prefix });
    stores.push(store);
    return store;
  };
  const openEtcd3 = (prefix: string): Store => {
    const store = createEtcd3Store({ hosts: member.host, prefix });
    stores.push(store);
    return store;
  };
  const keys = sampleKeys();

  before(async () => {
    [consulAgent, member] = await Promise.all([startConsulDev(), startEtcd()]);
    consul = new ConsulClient({ address: consulAgent.address });
    const seed = createConsulStore({ client: consul, prefix: 'paged' });
    for (let at = 0; at < keys.length; at += 64)
      assert.ok(
        (
          await seed.writeMany(
            keys.slice(at, at + 64).map((key) => ({ key, value: `v:${key}`, prevIndex: 0 })),
          )
        ).every((error) => error === undefined),
      );
    await seed.close();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await consul?.close();
  });

  it('Consul: pages of at most 250 keys that together hold every key once, as list does', async () => {
    const store = openConsul('paged');
    const seen: string[] = [];
    let pages = 0;
    for await (const page of readPages(store, '')) {
      const values = page.entries.filter((entry): entry is Entry => !entry.dir);
      assert.ok(values.length <= 250, `a page of ${values.length} keys`);
      for (const entry of values) assert.equal(entry.value, `v:${entry.key}`);
      seen.push(...values.map((entry) => entry.key));
      pages++;
    }
    assert.ok(pages >= 4, `${pages} pages`);
    assert.equal(new Set(seen).size, seen.length, 'no key twice');
    assert.deepEqual(seen.sort(), [...keys].sort());
    const listed = await store.list('', { recursive: true });
    assert.deepEqual(
      listed
        .filter((entry) => !entry.dir)
        .map((entry) => entry.key)
        .sort(),
      [...keys].sort(),
    );
  });

  it('copy Consul → etcd → Consul and diff, without one whole-tree read; a re-run writes nothing', async () => {
    const consulSource = pagedOnly(openConsul('paged'));
    const etcdTarget = pagedOnly(openEtcd('paged-copy'));
    const there = await copy(consulSource, etcdTarget, { concurrency: 32 });
    assert.deepEqual(there.failed, []);
    assert.equal(there.copied.length, keys.length);
    assert.deepEqual(await diff(consulSource, etcdTarget), {
      missing: [],
      extra: [],
      different: [],
      unlisted: [],
    });

    const again = await copy(consulSource, etcdTarget, { concurrency: 32 });
    assert.equal(again.copied.length, 0);
    assert.equal(again.skipped.filter((skip) => skip.reason === 'same').length, keys.length);

    const consulTarget = pagedOnly(openConsul('paged-back'));
    const back = await copy(etcdTarget, consulTarget, { concurrency: 32 });
    assert.deepEqual(back.failed, []);
    assert.equal(back.copied.length, keys.length);
    const report = await diff(consulSource, consulTarget);
    assert.deepEqual(report, { missing: [], extra: [], different: [], unlisted: [] });

    // A changed and an extra key on the target are found by the paged diff.
    await consulTarget.set('s/k0007', 'changed');
    await consulTarget.set('n/extra', 'x');
    const changed = await diff(consulSource, consulTarget);
    assert.deepEqual(changed, { missing: [], extra: ['n/extra'], different: ['s/k0007'], unlisted: [] });
  });

  it('etcd v3: Range pages of at most 1,000 keys; copy etcd v2 → v3 and diff without a whole-tree read', async () => {
    const v2 = pagedOnly(openEtcd('paged-v2'));
    assert.equal((await copy(openConsul('paged'), v2, { concurrency: 32 })).copied.length, keys.length);
    const v3 = pagedOnly(openEtcd3('paged-v3'));
    const moved = await copy(v2, v3, { concurrency: 32 });
    assert.deepEqual(moved.failed, []);
    assert.equal(moved.copied.length, keys.length);
    let pages = 0;
    const seen: string[] = [];
    for await (const page of readPages(v3, '')) {
      const values = page.entries.filter((entry): entry is Entry => !entry.dir);
      assert.ok(values.length <= 1000, `a page of ${values.length} keys`);
      seen.push(...values.map((entry) => entry.key));
      pages++;
    }
    assert.ok(pages >= 3, `${pages} pages`);
    assert.deepEqual(seen.sort(), [...keys].sort());
    assert.deepEqual(await diff(v2, v3), { missing: [], extra: [], different: [], unlisted: [] });
    const again = await copy(v2, v3, { concurrency: 32 });
    assert.equal(again.copied.length, 0);
  });
});
