import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createMemoryStore, mirror, type PolykvError } from '@polykv/core';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';

after(stopAllServers);

describe('mirror: a change the target can never hold', () => {
  it(
    'is reported once as skipped and does not stall the others (memory:// to real etcd)',
    { timeout: 60_000 },
    async () => {
      const member = await startEtcd();
      const source = createMemoryStore();
      const target = createEtcdStore({ hosts: member.host, prefix: 'mirror-skipped' });
      // etcd v2 hides `_` segments, so the etcd store refuses to create them: INVALID_ARGUMENT.
      await source.set('_hidden', 'a');
      await source.set('plain', 'b');
      const running = mirror(source, target);
      const skipped: [string, PolykvError][] = [];
      const retried: string[] = [];
      running.on('skipped', (key, error) => skipped.push([key, error]));
      running.on('retry', (key) => retried.push(key));
      const synced = new Promise((resolve) => running.once('synced', resolve));
      try {
        await synced;
        assert.deepEqual(
          skipped.map(([key, error]) => [key, error.code]),
          [['_hidden', 'INVALID_ARGUMENT']],
        );
        assert.equal((await target.get('plain'))?.value, 'b');

        // A later change to the refused key is skipped again; a change to another key still flows.
        const applied = new Promise((resolve) =>
          running.on('applied', (event) => event.key === 'after' && resolve(event)),
        );
        await source.set('_hidden', 'c');
        await source.set('after', 'd');
        await applied;
        for (let waited = 0; skipped.length < 2 && waited < 5000; waited += 50)
          await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal((await target.get('after'))?.value, 'd');
        assert.deepEqual(
          skipped.map(([key]) => key),
          ['_hidden', '_hidden'],
        );
        assert.deepEqual(retried, [], 'a permanent refusal is never retried');
      } finally {
        await running.close();
        await target.del('', { recursive: true }).catch(() => undefined);
        await Promise.all([source.close(), target.close()]);
      }
    },
  );
});
