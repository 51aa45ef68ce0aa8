// polykv lock -n N (a semaphore) against real etcd and Consul.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { inProcess, killAll } from './run.js';

after(stopAllServers);
after(killAll);

describe('polykv lock -n N against real etcd and Consul', { timeout: 180_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  });

  it('runs while a slot is free, exits 4 with --wait 0 when N others hold it; exit code passes through', async () => {
    const urls = [
      `etcd://${etcd.host}/lockn-${randomBytes(3).toString('hex')}`,
      `consul://${consul.address}/lockn-${randomBytes(3).toString('hex')}`,
    ];
    for (const url of urls) {
      const stores: Store[] = [await openStore(url), await openStore(url)];
      try {
        const first = await stores[0]!.semaphore('jobs', { limit: 2, ttl: 10 });
        const ran = await inProcess([
          'lock',
          '-n',
          '2',
          'jobs',
          '--wait',
          '0',
          '--url',
          url,
          '--',
          'sh',
          '-c',
          'exit 7',
        ]);
        assert.equal(ran.code, 7, `${url}: ${ran.stderr}`);
        const second = await stores[1]!.semaphore('jobs', { limit: 2, ttl: 10 });
        const busy = await inProcess(['lock', '-n', '2', 'jobs', '--wait', '0', '--url', url, '--', 'true']);
        assert.equal(busy.code, 4, `${url}: ${busy.stderr}`);
        assert.match(busy.stderr, /2 holders have it/);
        await second.release();
        const again = await inProcess([
          'lock',
          '-n',
          '2',
          'jobs',
          '--wait',
          '5000',
          '--url',
          url,
          '--',
          'true',
        ]);
        assert.equal(again.code, 0, `${url}: ${again.stderr}`);
        await first.release();
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    }
  });
});
