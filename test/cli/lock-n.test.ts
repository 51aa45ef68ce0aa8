// polykv lock -n N (a semaphore) against real etcd and Consul.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { ConsulCli } from '../helpers/tools.js';
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

  it('--consul-layout: polykv lock and the real consul lock [-n N] exclude each other; Consul only', async () => {
    const tools = new ConsulCli(consul);
    const url = `consul://${consul.address}`;
    const key = `lkc-${randomBytes(3).toString('hex')}`;
    const theirs = tools.lock(key);
    try {
      await theirs.waitHeld();
      const busy = await inProcess([
        'lock',
        key,
        '--consul-layout',
        '--wait',
        '0',
        '--url',
        url,
        '--',
        'true',
      ]);
      assert.equal(busy.code, 4, busy.stderr);
    } finally {
      await theirs.stop();
    }
    const free = await inProcess([
      'lock',
      key,
      '--consul-layout',
      '--wait',
      '30000',
      '--url',
      url,
      '--',
      'true',
    ]);
    assert.equal(free.code, 0, free.stderr);
    // A semaphore: consul lock -n 2 holds one of its slots, polykv takes the other under it.
    const slots = `semc-${randomBytes(3).toString('hex')}`;
    const one = tools.lock(slots, { n: 2 });
    try {
      await one.waitHeld();
      const two = await inProcess([
        'lock',
        slots,
        '-n',
        '2',
        '--consul-layout',
        '--wait',
        '10000',
        '--url',
        url,
        '--',
        'sh',
        '-c',
        'exit 5',
      ]);
      assert.equal(two.code, 5, two.stderr);
    } finally {
      await one.stop();
    }
    const etcdUrl = `etcd://${etcd.host}`;
    const refused = await inProcess(['lock', key, '--consul-layout', '--url', etcdUrl, '--', 'true']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--consul-layout needs a consul/);
  });
});
