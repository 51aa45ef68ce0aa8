// The mirror's fencing on real etcd: the checkpoint carries the writer's fencing token, and an
// instance that finds a newer token there stops writing (it lost its lock to a newer instance that
// it has not heard of yet, e.g. after a long pause). Also: the record itself, and where it lives.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { checkpointUrl, mirror, openStore, sourceIdentity, type PolykvError } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);

const until = (check: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> =>
  eventually(check, what, { ms });

describe('mirror checkpoint and fencing (real etcd)', () => {
  it(
    'a stale instance stops writing once a newer token is in the checkpoint',
    { timeout: 120_000 },
    async () => {
      const [a, b] = await Promise.all([startEtcd(), startEtcd()]);
      const fromUrl = `etcd://${a.host}/f`;
      const toUrl = `etcd://${b.host}/f`;
      const [source, target, checkpoints] = await Promise.all([
        openStore(fromUrl),
        openStore(toUrl),
        openStore(checkpointUrl(toUrl)),
      ]);
      try {
        await source.set('app/x', '1');
        const running = mirror(source, target, {
          prefix: 'app',
          checkpoint: { store: checkpoints, source: sourceIdentity(fromUrl), interval: 0 },
          ha: { ttl: 5, fenceDelay: 100 },
        });
        const lost: PolykvError[] = [];
        const saved: number[] = [];
        let token = 0;
        running.on('active', (fencingToken) => (token = fencingToken));
        running.on('lost', (error) => lost.push(error));
        running.on('checkpoint', (index) => saved.push(index));
        try {
          await until(() => saved.length > 0, 'the first checkpoint');
          // The record: in the target's reserved space (not in its listing), naming source and token.
          assert.equal(checkpoints.prefix, 'f/.polykv/mirror');
          assert.deepEqual(
            (await target.list('', { recursive: true })).map((entry) => entry.key),
            ['app', 'app/x'],
          );
          const entry = await checkpoints.get(running.id);
          const record = JSON.parse(entry!.value) as { source: string; token: number; index: number };
          assert.equal(record.source, `etcd://${a.host}/f`);
          assert.equal(record.token, token);
          assert.ok(record.index >= (await source.get('app/x'))!.index);

          // A newer instance (token + 1000) has taken over and written the checkpoint.
          await checkpoints.set(running.id, JSON.stringify({ ...record, token: token + 1000 }));
          await source.set('app/y', 'written before the stale instance notices');
          await until(() => lost.length > 0, 'the stale instance to be fenced');
          assert.equal(lost[0]!.code, 'LOCK_LOST');
          assert.match(lost[0]!.message, /newer instance/);
          // From now on it writes nothing: it goes back to waiting, and is fenced at every try.
          await source.set('app/z', 'never written by the stale instance');
          await new Promise((resolve) => setTimeout(resolve, 2000));
          assert.equal(await target.get('app/z'), null);
          assert.ok(lost.length >= 1);
        } finally {
          await running.close();
        }
      } finally {
        await Promise.all([source.close(), target.close(), checkpoints.close()]);
      }
    },
  );

  it('checkpointUrl and sourceIdentity', () => {
    assert.equal(checkpointUrl('consul://h:8500/app?dc=x'), 'consul://h:8500/app/.polykv/mirror?dc=x');
    assert.equal(checkpointUrl('etcd://u:p@h1:2379,h2:2379'), 'etcd://u:p@h1:2379,h2:2379/.polykv/mirror');
    assert.equal(sourceIdentity('etcd://u:secret@h2:2379,h1:2379/app/'), 'etcd://h1:2379,h2:2379/app');
    assert.equal(sourceIdentity('consul://h:8500/app?token=t&dc=dc2'), 'consul://h:8500/app?dc=dc2');
  });
});
