import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Watcher } from '@polykv/core';
import { ConsulClient, createConsulStore } from '@polykv/consul';
import { EtcdClient, createEtcdStore } from '@polykv/etcd';
import { FakeServer } from '../helpers/fake-server.js';
import { freePort } from '../helpers/processes.js';
import { eventually } from '../helpers/eventually.js';

// Issue 13.2: a watch that cannot reach its server must say so from the first failed attempt
// (`disconnected` with the cause; the native watchers' `reconnect` / `error`), and go on retrying
// with its backoff, instead of looking like "no changes". No real server can refuse or garble on
// demand: a port nobody listens on, and a fake server answering 500 or garbage.

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A deadline against hangs only: the first report comes after one failed request. */
const DEADLINE_MS = 20_000;

const until = (check: () => boolean, what: () => string, ms = DEADLINE_MS): Promise<void> =>
  eventually(check, what, { ms, every: 10 });

/** Where the watch points, and how many requests the server there has seen (undefined: no server). */
interface Target {
  name: string;
  address: string;
  requests(): number | undefined;
  close(): Promise<void>;
}

async function refused(): Promise<Target> {
  const port = await freePort();
  return {
    name: 'a refused port',
    address: `127.0.0.1:${port}`,
    requests: () => undefined,
    close: async () => {},
  };
}

async function fake(name: string, reply: { status: number; body: string }): Promise<Target> {
  const server = await FakeServer.start();
  server.setFallback({ ...reply, headers: { 'content-type': 'application/json' } });
  return {
    name,
    address: server.address,
    requests: () => server.requests.length,
    close: () => server.close(),
  };
}

const TARGETS: [string, () => Promise<Target>][] = [
  ['a refused port', refused],
  ['a server answering 500', () => fake('a server answering 500', { status: 500, body: 'internal error' })],
  [
    'a server answering garbage',
    () => fake('a server answering garbage', { status: 200, body: '<html>not json' }),
  ],
];

/** What a watch reports: its failure reports in order, and whether it ended. */
interface Probe {
  reports: { cause: unknown; requests: number | undefined }[];
  ended(): boolean;
  close(): Promise<void>;
}

type Make = (target: Target, probe: Probe['reports']) => { ended(): boolean; close(): Promise<void> };

function storeProbe(watcher: Watcher<string>, target: Target, reports: Probe['reports']) {
  watcher.on('disconnected', (cause) => reports.push({ cause, requests: target.requests() }));
  watcher.on('error', () => undefined);
  return { ended: () => watcher.ended, close: () => watcher.close() };
}

const WATCHES: [string, Make][] = [
  [
    'etcd Store watch',
    (target, reports) => {
      const store = createEtcdStore({ hosts: [target.address], prefix: 'p' });
      const probe = storeProbe(store.watch('k'), target, reports);
      return { ended: probe.ended, close: () => probe.close().then(() => store.close()) };
    },
  ],
  [
    'Consul Store watch',
    (target, reports) => {
      const store = createConsulStore({ client: { address: target.address }, prefix: 'p' });
      const probe = storeProbe(store.watch('k'), target, reports);
      return { ended: probe.ended, close: () => probe.close().then(() => store.close()) };
    },
  ],
  [
    'etcd client.watcher',
    (target, reports) => {
      const client = new EtcdClient({ hosts: [target.address] });
      const watcher = client.watcher('p/k');
      watcher.on('reconnect', ({ error }) => reports.push({ cause: error, requests: target.requests() }));
      watcher.on('error', () => undefined);
      let ended = false;
      watcher.on('stop', () => (ended = true));
      return { ended: () => ended, close: () => watcher.stop().then(() => client.close()) };
    },
  ],
  [
    'Consul client.watchKv',
    (target, reports) => {
      const client = new ConsulClient({ address: target.address });
      const watch = client.watchKv('p/k');
      watch.on('error', (error) => reports.push({ cause: error, requests: target.requests() }));
      return { ended: () => watch.ended, close: () => (watch.end(), client.close()) };
    },
  ],
  [
    'ConsulWatch (client.watch)',
    (target, reports) => {
      const client = new ConsulClient({ address: target.address });
      const watch = client.watch((options) => client.kv.get('p/k', options));
      watch.on('error', (error) => reports.push({ cause: error, requests: target.requests() }));
      return { ended: () => watch.ended, close: () => (watch.end(), client.close()) };
    },
  ],
];

describe('a watch that cannot connect says so from the first failed attempt, and keeps retrying', () => {
  for (const [targetName, makeTarget] of TARGETS) {
    for (const [watchName, make] of WATCHES) {
      it(`${watchName}, ${targetName}`, async (t) => {
        const target = await makeTarget();
        t.diagnostic(target.name);
        const reports: Probe['reports'] = [];
        const started = Date.now();
        const watch = make(target, reports);
        try {
          await until(
            () => reports.length > 0,
            () => `${watchName} reported a failure against ${target.name}`,
          );
          const first = reports[0]!;
          t.diagnostic(`first report after ${Date.now() - started} ms: ${String(first.cause)}`);
          assert.ok(first.cause instanceof Error, `the cause is an error: ${String(first.cause)}`);
          // The first failed request is reported, not the last of a retry series.
          if (first.requests !== undefined)
            assert.equal(first.requests, 1, 'reported after the first request');
          // It goes on retrying (the backoff starts at 100-200 ms), and does not end.
          if (target.requests() !== undefined)
            await until(
              () => target.requests()! >= 4,
              () => `${watchName} kept retrying (${target.requests()} requests)`,
            );
          else await delay(1500);
          assert.equal(watch.ended(), false, 'the watch goes on');
        } finally {
          await watch.close();
          await target.close();
        }
      });
    }
  }
});
