import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { diff, mirror } from '@polykv/core';
import { createEtcdStore } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);

const until = (
  check: () => Promise<boolean>,
  ms: number,
  what: string,
  state?: () => Promise<string>,
): Promise<void> => eventually(check, what, { ms, every: 100, ...(state ? { state } : {}) });

describe('mirror between two real etcd servers', () => {
  it('loses no change when the target and then the source restart', { timeout: 120_000 }, async () => {
    const [sourceMember, targetMember] = await Promise.all([startEtcd(), startEtcd()]);
    const source = createEtcdStore({ hosts: sourceMember.host, prefix: 'mirror', timeout: 2000 });
    const target = createEtcdStore({ hosts: targetMember.host, prefix: 'mirror', timeout: 2000 });
    const inSync = async () => {
      const d = await diff(source, target);
      return d.missing.length + d.extra.length + d.different.length === 0;
    };
    for (let i = 0; i < 20; i++) await source.set(`k/${i}`, `v${i}`);
    const running = mirror(source, target);
    // What the mirror did, to tell a stuck source watch from a target that never recovered.
    const log = { applied: 0, retries: 0, lastRetry: '', synced: 0, sourceEvents: 0 };
    running.on('applied', () => log.applied++);
    running.on('retry', (key, error) => {
      log.retries++;
      log.lastRetry = `${key}: ${String((error as Error)?.message ?? error)}`;
    });
    running.on('synced', () => log.synced++);
    const probe = source.watch('', { recursive: true, initial: false });
    probe.on('change', () => log.sourceEvents++);
    probe.on('error', () => undefined);
    const state = async (): Promise<string> => {
      const d = await diff(source, target).catch((error: unknown) => String(error));
      // The values on both sides of each differing key, to tell a lost write from a late old one.
      const values: Record<string, [unknown, unknown]> = {};
      if (typeof d !== 'string')
        for (const key of d.different)
          values[key] = [(await source.get(key))?.value, (await target.get(key))?.value];
      return JSON.stringify({ ...log, backlog: running.backlog, diff: d, values });
    };
    try {
      await until(inSync, 20_000, 'the initial copy');

      // The target goes away while the source keeps changing.
      await targetMember.stop();
      for (let i = 0; i < 20; i++) await source.set(`k/${i}`, `after-target-stop-${i}`);
      await source.del('k/0');
      await targetMember.restart();
      await until(inSync, 30_000, 'catching up after the target restarted', state);

      // The source goes away; its watch must resume (or re-sync) when it is back.
      await sourceMember.stop();
      await sourceMember.restart();
      for (let i = 1; i < 20; i++) await source.set(`k/${i}`, `after-source-restart-${i}`);
      await source.set('k/new', 'fresh');
      await until(inSync, 30_000, 'following the source after its restart', state);
      assert.equal((await target.get('k/new'))?.value, 'fresh');
      assert.equal(await target.get('k/0'), null);
    } finally {
      await probe.close();
      await running.close();
      await Promise.all([source.close(), target.close()]);
    }
  });
});
