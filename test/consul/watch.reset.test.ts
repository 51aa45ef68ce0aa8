import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Watcher } from '@polykv/core';
import { ConsulClient, createConsulStore, kvText, type ConsulWatch, type KvPair } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

// Issue 13.1: a dev agent killed (-9) mid-watch and started again on the same port comes back with
// its indexes far below the watchers'. A watcher that blocks again on its old index is held for the
// whole `wait` (60 s by default) and sees nothing meanwhile; after any connection failure it must
// learn the current index with a plain read first, then emit the differences (and `resync`).

after(stopAllServers);

const until = (check: () => boolean, what: () => string, ms: number): Promise<void> =>
  eventually(check, what, { ms, every: 10 });

/** Far below the default 60 s wait a blind watcher would sit out; far above the 5 s target. */
const DEADLINE_MS = 30_000;

describe('Consul watches across a kill -9 and restart of the agent (index reset)', () => {
  it('a write made after the agent is back reaches every kind of watch well before the wait ends', async () => {
    const agent = await startConsulDev();
    // Default waits (60 s) and backoff: the watchers as an application would make them.
    const client = new ConsulClient({ address: agent.address });
    const store = createConsulStore({ client, prefix: 'reset' });
    const names = ['solo', 'tree', 'shared', 'native', 'generic'] as const;
    type Name = (typeof names)[number];
    const seen = new Map<Name, string | undefined>();
    const resyncs = new Map<Name, number>();
    const log: string[] = [];
    const storeWatch = (name: Name, watcher: Watcher<string>): Watcher<string> => {
      watcher.on('put', (event) => {
        if (name !== 'tree' || event.key === 'tree/k') seen.set(name, event.value);
      });
      watcher.on('resync', () => resyncs.set(name, (resyncs.get(name) ?? 0) + 1));
      watcher.on('connected', () => log.push(`${name} connected`));
      watcher.on('disconnected', () => log.push(`${name} disconnected`));
      watcher.on('error', (error) => log.push(`${name} error ${String(error)}`));
      return watcher;
    };
    const watchers: Watcher<string>[] = [
      storeWatch('solo', store.watch('solo')),
      storeWatch('tree', store.watch('tree', { recursive: true })),
      // Four watchers under one folder: they share one poll of it (minCallers 4).
      storeWatch('shared', store.watch('shared/k0')),
      ...[1, 2, 3].map((i) => store.watch(`shared/k${i}`)),
    ];
    const native = client.watchKv('reset/native');
    native.on('change', (pair: KvPair | null) => seen.set('native', kvText(pair) ?? undefined));
    native.on('error', () => undefined); // refused while the agent is down: retried
    const generic = client.watch((options) => client.kv.get('reset/generic', options));
    generic.on('change', (pair) => seen.set('generic', kvText(pair) ?? undefined));
    generic.on('error', () => undefined);
    const watches: ConsulWatch<unknown>[] = [native, generic];
    const keys: Record<Name, string> = {
      solo: 'reset/solo',
      tree: 'reset/tree/k',
      shared: 'reset/shared/k0',
      native: 'reset/native',
      generic: 'reset/generic',
    };
    try {
      const writer = new ConsulClient({ address: agent.address });
      // Raise the index far above where the restarted agent will start.
      for (let i = 0; i < 40; i++) await writer.kv.put('reset/filler', String(i));
      for (const name of names) await writer.kv.put(keys[name], 'before');
      await until(
        () => names.every((name) => seen.get(name) === 'before'),
        () => `every watch saw 'before': ${JSON.stringify([...seen])}`,
        DEADLINE_MS,
      );
      await writer.close();
      assert.ok(
        client.kvReads.polls.some((poll) => poll.folder === 'reset/shared'),
        `a shared poll of reset/shared runs: ${JSON.stringify(client.kvReads.polls)}`,
      );

      await agent.kill();
      agent.start();
      await agent.waitReady();
      const back = new ConsulClient({ address: agent.address });
      const written = Date.now();
      for (const name of names) await back.kv.put(keys[name], 'after');
      const arrived = new Map<Name, number>();
      await until(
        () => {
          for (const name of names)
            if (!arrived.has(name) && seen.get(name) === 'after') arrived.set(name, Date.now() - written);
          return arrived.size === names.length;
        },
        () => `every watch saw 'after' (so far: ${JSON.stringify([...seen])}); ${log.join(', ')}`,
        DEADLINE_MS,
      );
      await back.close();
      const slowest = Math.max(...arrived.values());
      console.log(
        `recovery after an index reset (write after the restart → event): ${[...arrived]
          .map(([name, ms]) => `${name} ${ms} ms`)
          .join(', ')}; slowest ${slowest} ms`,
      );
      for (const name of ['solo', 'tree', 'shared'] as const)
        assert.ok((resyncs.get(name) ?? 0) >= 1, `${name}: a resync after the reset (${log.join(', ')})`);
      assert.ok(log.includes('solo disconnected') && log.at(-1) !== 'solo disconnected', log.join(', '));
      for (const watch of watches) assert.equal(watch.ended, false);
    } finally {
      native.end();
      generic.end();
      await Promise.all(watchers.map((watcher) => watcher.close()));
      await store.close();
      await client.close();
      await agent.stop();
    }
  });
});
