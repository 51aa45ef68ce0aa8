import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createMemoryStore, mirror, type Mirror, type WatchEvent } from '@polykv/core';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);

const within = (check: () => Promise<boolean>, ms: number, what: string): Promise<void> =>
  eventually(check, what, { ms });

/**
 * etcd v2 names only the directory when one is deleted; a watch turns that into one `delete` per
 * key it delivered. A watch started from an index has not delivered the keys that were there
 * before, so such a deletion makes it re-read and emit `resync` (found this session: a mirror
 * resumed from its checkpoint kept, silently, every key of a directory deleted on the source).
 */
describe('etcd v2: a directory deleted under a watch that started from an index', { timeout: 60_000 }, () => {
  it('the Store watch emits resync rather than nothing', async () => {
    const member = await startEtcd();
    const store = createEtcdStore({ hosts: member.host, prefix: 'resume-dirs' });
    try {
      await store.set('d/a', '1');
      const last = await store.set('d/b', '2');
      const watcher = store.watch('', { recursive: true, fromIndex: last.index + 1 });
      const events: WatchEvent<string>[] = [];
      watcher.on('change', (event) => events.push(event));
      await new Promise<void>((resolve) => watcher.once('connected', () => resolve()));
      await store.del('d', { recursive: true });
      await within(async () => events.some((event) => event.type === 'resync'), 10_000, 'a resync event');
      await watcher.close();
    } finally {
      await store.close();
    }
  });

  it('a mirror resumed from its checkpoint deletes the keys of a directory deleted on the source', async () => {
    const member = await startEtcd();
    const source = createEtcdStore({ hosts: member.host, prefix: 'mirror-src' });
    const target = createMemoryStore();
    const checkpoint = { store: createMemoryStore(), source: 'etcd://resume-dirs-test' };
    const running: Mirror[] = [];
    try {
      await source.set('d/a', '1');
      await source.set('d/b', '2');
      await source.set('keep', 'k');
      const first = mirror(source, target, { checkpoint, delete: true });
      running.push(first);
      await new Promise((resolve, reject) => {
        first.once('synced', resolve);
        first.once('error', reject);
      });
      await first.close();
      assert.equal((await target.get('d/a'))?.value, '1');

      const second = mirror(source, target, { checkpoint, delete: true });
      running.push(second);
      const start = await new Promise<unknown>((resolve) => second.once('start', resolve));
      assert.ok(start && typeof start === 'object' && 'resumedFrom' in start, JSON.stringify(start));
      await new Promise<void>((resolve) => second.once('connected', () => resolve()));
      await source.del('d', { recursive: true });
      await within(async () => (await target.get('d/a')) === null, 15_000, 'd/a gone from the target');
      assert.equal(await target.get('d/b'), null);
      assert.equal((await target.get('keep'))?.value, 'k');
    } finally {
      for (const m of running) await m.close().catch(() => undefined);
      await source.close();
    }
  });
});
