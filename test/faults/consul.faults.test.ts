import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '@polykv/core';
import { createConsulStore, type ConsulStoreOptions } from '@polykv/consul';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulCluster, type ConsulCluster } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import {
  rotateMemberFaults,
  bounded,
  cycleProxyFaults,
  eventually,
  expectNoLeaks,
  liveHandles,
  lossBeforeTakeover,
  printTotals,
  runLockContenders,
  runWriters,
  sleep,
  unhandled,
  WatchLog,
} from './harness.js';

// Issue 8, faults, on a real 3-server Consul cluster (with data folders, so a restarted server keeps
// its state) with a TCP proxy in front of each server's HTTP port.

let cluster: ConsulCluster;
let proxies: TcpProxy[] = [];

before(async () => {
  cluster = await startConsulCluster(3, { hcl: ['session_ttl_min = "1s"'] });
  proxies = await Promise.all(cluster.servers.map((server) => TcpProxy.start('127.0.0.1', server.httpPort)));
});

after(async () => {
  printTotals('consul');
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection during the fault tests');
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await stopAllServers();
});

const TIMEOUT = 3000;
const BOUND = TIMEOUT + 5000;

function open(prefix: string, extra: Partial<ConsulStoreOptions> = {}): Store {
  return createConsulStore({
    client: { address: proxies.map((proxy) => proxy.host), failover: true, timeout: TIMEOUT },
    prefix,
    minTtl: 1,
    lockDelay: 1000,
    watchWait: 5000,
    ...extra,
  });
}

function direct(prefix: string): Store {
  return createConsulStore({ client: { address: cluster.addresses, failover: true }, prefix, minTtl: 1 });
}

/** Server faults: SIGKILL + restart, SIGSTOP + SIGCONT, proxy resets; the leader included. */
function serverFaults(stop: AbortSignal): Promise<void> {
  return rotateMemberFaults(stop, cluster.servers, () => cluster.leader(), proxies, 2000);
}

describe('consul faults', () => {
  it(
    'every call ends in success or a typed error within its timeout under every proxy fault; close() leaks nothing',
    { timeout: 120_000 },
    async () => {
      const baseline = liveHandles();
      const store = open(`faults/${randomBytes(4).toString('hex')}`);
      const watcher = store.watch('', { recursive: true });
      watcher.on('error', () => undefined);
      const stop = new AbortController();
      const load = (async () => {
        for (let i = 0; !stop.signal.aborted; i++) {
          await Promise.all([
            bounded('set', BOUND, () => store.set(`k${i % 5}`, String(i))),
            bounded('get', BOUND, () => store.get(`k${i % 5}`)),
            bounded('list', BOUND, () => store.list('', { recursive: true })),
            bounded('cas', BOUND, () => store.compareAndSwap(`c${i}`, 'v', { prevExist: false })),
            bounded('del', BOUND, () => store.del(`k${(i + 2) % 5}`)),
          ]);
        }
      })();
      try {
        await cycleProxyFaults(proxies, 2500);
      } finally {
        stop.abort();
        await load;
      }
      const healthy = await bounded('set after faults', BOUND, () => store.set('after', 'ok'));
      assert.ok(healthy.ok, 'the store recovers once the network does');
      await store.close();
      assert.ok(watcher.ended, 'close() ended the watcher');
      await expectNoLeaks(baseline, 'consul store');
    },
  );

  it(
    'sequence-numbered writers and watchers: no acknowledged write lost, no event missed or duplicated across server kills, pauses and resets',
    { timeout: 180_000 },
    async () => {
      const prefix = `faults/${randomBytes(4).toString('hex')}`;
      const writer = open(prefix);
      const reader = direct(prefix);
      const proxiedStore = open(prefix);
      const viaProxy = proxiedStore.watch('', { recursive: true });
      const viaServers = reader.watch('', { recursive: true });
      const logs = [
        new WatchLog('proxied watcher', viaProxy, true),
        new WatchLog('direct watcher', viaServers, true),
      ];
      const stop = new AbortController();
      const writing = runWriters(writer, 3, stop.signal, BOUND);
      await sleep(1000);
      const faulting = serverFaults(stop.signal);
      let log;
      try {
        await sleep(20_000);
      } finally {
        stop.abort();
        log = await writing;
        await faulting;
      }
      assert.ok(log.acked.size > 50, `enough writes were acknowledged (${log.acked.size})`);
      for (const watch of logs) {
        await eventually(() => watch.missing(log.acked).length === 0, 30_000);
        assert.deepEqual(watch.problems, [], `${watch.name}: no duplicate or out-of-order event`);
        assert.deepEqual(
          watch.missing(log.acked).slice(0, 10),
          [],
          `${watch.name}: no acknowledged write missed`,
        );
      }
      const stored = new Set(
        (await reader.list('', { recursive: true, consistent: true }))
          .filter((e) => !e.dir)
          .map((e) => e.key),
      );
      const lost = [...log.acked].filter((key) => !stored.has(key));
      assert.deepEqual(lost, [], 'no acknowledged write is lost');
      console.log(
        `consul writers: ${log.acked.size} acknowledged, ${log.uncertain.size} failed with a typed error ` +
          `(${[...log.uncertain].filter((key) => stored.has(key)).length} of those applied anyway)`,
      );
      await viaProxy.close();
      await viaServers.close();
      await Promise.all([writer.close(), reader.close(), proxiedStore.close()]);
    },
  );

  it(
    'lock contenders under server pauses and kills: no double holder, the counter equals the increments',
    { timeout: 180_000 },
    async () => {
      const prefix = `faults/${randomBytes(4).toString('hex')}`;
      const stores = Array.from({ length: 4 }, () => open(prefix));
      const stop = new AbortController();
      const contending = runLockContenders(stores, stop.signal, { ttl: 5, boundMs: BOUND, holdMs: 30 });
      await sleep(1000);
      const faulting = serverFaults(stop.signal);
      let result;
      try {
        await sleep(20_000);
      } finally {
        stop.abort();
        result = await contending;
        await faulting;
      }
      const checker = direct(prefix);
      const counter = Number((await checker.get('counter', { consistent: true }))?.value ?? '0');
      console.log(
        `consul locks: ${result.acquisitions} acquisitions, ${result.increments} increments, ` +
          `${result.uncertain} uncertain, ${result.lost} lost, ${result.retried} retried writes, counter ${counter}`,
      );
      assert.deepEqual(result.problems, [], 'no double holder; fencing tokens grow');
      assert.ok(result.increments > 10, 'the contenders made progress');
      assert.ok(
        counter >= result.increments && counter <= result.increments + result.uncertain,
        `counter ${counter} equals the increments (${result.increments}, + up to ${result.uncertain} uncertain)`,
      );
      await Promise.all([...stores, checker].map((store) => store.close()));
    },
  );

  it(
    'a holder cut off by a black hole is told it lost the lock before another client takes it',
    { timeout: 90_000 },
    async () => {
      const prefix = `faults/${randomBytes(4).toString('hex')}`;
      const holder = open(prefix);
      const contender = direct(prefix);
      try {
        const { lostAfterMs, takenAfterMs } = await lossBeforeTakeover(
          holder,
          contender,
          {
            cut: () => proxies.forEach((proxy) => proxy.setMode({ kind: 'blackhole' })),
            heal: () => proxies.forEach((proxy) => proxy.pass()),
          },
          3,
          60_000,
        );
        console.log(
          `consul takeover: holder told after ${lostAfterMs} ms, new holder after ${takenAfterMs} ms`,
        );
      } finally {
        await Promise.all([holder.close(), contender.close()]);
      }
    },
  );
});
