// loadConfig's debounced snapshots on real etcd and Consul: a burst of writes gives one snapshot
// with the last value, snapshots are never changed afterwards, and an outage is reported while
// the last good snapshot stays current.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { binaryCodec, loadConfig, openStore, type ConfigTree } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);

const until = (check: () => boolean, what: string, ms = 30_000): Promise<void> =>
  eventually(check, what, { ms });

describe('loadConfig wait, onChange, onDisconnected', { timeout: 180_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  });

  for (const name of ['etcd', 'consul'] as const) {
    it(`${name}: a burst of 50 writes gives one snapshot with the last value; snapshots are never changed`, async () => {
      const url = name === 'etcd' ? `etcd://${etcd.host}/cw` : `consul://${consul.address}/cw`;
      const store = await openStore(url);
      try {
        await store.set('app/db/host', 'h1');
        const changes: [ConfigTree, ReadonlyMap<string, unknown>][] = [];
        const live = await loadConfig(store, 'app', {
          watch: true,
          wait: { min: 2000, max: 60_000 },
          onChange: (config, values) => changes.push([config, values]),
        });
        const first = live.current;
        const firstValues = live.values;
        assert.deepEqual(first, { db: { host: 'h1' } });
        assert.deepEqual([...firstValues], [['app/db/host', 'h1']]);
        for (let i = 0; i < 50; i++) await store.set('app/db/port', String(i));
        await until(() => changes.length > 0, 'a snapshot');
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.equal(changes.length, 1, 'one snapshot for the burst');
        assert.deepEqual(changes[0]![0], { db: { host: 'h1', port: '49' } });
        assert.equal(changes[0]![1].get('app/db/port'), '49');
        assert.deepEqual(first, { db: { host: 'h1' } }, 'the first snapshot is unchanged');
        assert.equal(firstValues.size, 1);
        assert.equal(live.current, changes[0]![0]);
        await live.close();
      } finally {
        await store.close();
      }
    });
  }

  it('an outage is reported; the last good snapshot stays; a failure before the first snapshot rejects', async () => {
    const store = await openStore(`etcd://${etcd.host}/cw2`);
    try {
      await store.set('app/k', 'v');
      const live = await loadConfig(store, 'app', { watch: true, wait: { min: 100 } });
      const events: string[] = [];
      live.on('disconnected', () => events.push('disconnected'));
      live.on('connected', () => events.push('connected'));
      await etcd.stop();
      await until(() => events.includes('disconnected'), 'disconnected');
      assert.deepEqual(live.current, { k: 'v' });
      await etcd.restart();
      await store.set('app/k', 'w');
      await until(() => events.includes('connected') && (live.current as { k?: string }).k === 'w', 'back');
      await live.close();
    } finally {
      await store.close();
    }
    // A value a text codec cannot read (not UTF-8) ends the watch for good: before the first
    // snapshot, loadConfig rejects with it (it used to resolve with an empty object).
    const bytes = await openStore<Uint8Array>(`consul://${consul.address}/cw3`, { codec: binaryCodec });
    const text = await openStore(`consul://${consul.address}/cw3`);
    try {
      await bytes.set('app/k', new Uint8Array([0xff, 0xfe, 0x00]));
      await assert.rejects(
        loadConfig(text, 'app', { watch: true, wait: { min: 100 } }),
        (error: Error & { code?: string }) => error.code === 'UNREPRESENTABLE',
      );
      await assert.rejects(
        loadConfig(text, 'app', { watch: true, wait: { min: -1 } }),
        (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT',
      );
    } finally {
      await Promise.all([bytes.close(), text.close()]);
    }
  });
});
