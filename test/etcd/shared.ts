import assert from 'node:assert/strict';
import type { Watcher, WatchEvent } from '@polykv/core';
import {
  createEtcdStore,
  EtcdClient,
  SharedWaits,
  type EtcdClientOptions,
  type EtcdStore,
  type EtcdWatcher,
  type EtcdWatchEvent,
} from '@polykv/etcd';
import { Agent, Dispatcher } from 'undici';
import { startEtcd, type EtcdMember } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { portOf } from './util.js';

// What the shared-poll tests (shared-watch, shared-reads) share: one member, watchers that record
// their events, an agent that records requests, and the clients each test starts with.

let shared: Promise<EtcdMember> | undefined;
/** One member for the tests that do not stop it. */
export function member(): Promise<EtcdMember> {
  shared ??= startEtcd();
  return shared;
}

export function polls(client: EtcdClient): SharedWaits['polls'] {
  assert.ok(client.waits instanceof SharedWaits);
  return client.waits.polls;
}

/** Native watchers and their events by key. */
export function nativeWatchers(
  client: EtcdClient,
  keys: string[],
  recursive = false,
): { watchers: EtcdWatcher[]; events: Map<string, EtcdWatchEvent[]>; ready: Promise<void> } {
  const events = new Map<string, EtcdWatchEvent[]>();
  const watchers = keys.map((key) => {
    const watcher = client.watcher(key, { recursive });
    const list: EtcdWatchEvent[] = [];
    events.set(key, list);
    watcher.on('change', (event) => list.push(event));
    watcher.on('error', () => undefined);
    return watcher;
  });
  const ready = Promise.all(
    watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('ready', () => resolve()))),
  ).then(() => undefined);
  return { watchers, events, ready };
}

export function storeWatchers(
  store: ReturnType<typeof createEtcdStore>,
  keys: string[],
  recursive = false,
  initial = false,
): { watchers: Watcher<unknown>[]; events: Map<string, WatchEvent<unknown>[]>; ready: Promise<void> } {
  const events = new Map<string, WatchEvent<unknown>[]>();
  const watchers = keys.map((key) => {
    const watcher = store.watch(key, { recursive, initial });
    const list: WatchEvent<unknown>[] = [];
    events.set(key, list);
    watcher.on('change', (event) => list.push(event));
    watcher.on('error', () => undefined);
    return watcher;
  });
  const ready = Promise.all(
    watchers.map((watcher) => new Promise<void>((resolve) => watcher.once('connected', () => resolve()))),
  ).then(() => undefined);
  return { watchers, events, ready };
}

/** An agent that records the path of every request it sends. */
export class CountingAgent extends Dispatcher {
  readonly paths: string[] = [];
  readonly #agent = new Agent({ keepAliveTimeout: 1000 });

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.paths.push(options.path);
    return this.#agent.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await this.#agent.close();
  }

  override async destroy(): Promise<void> {
    await this.#agent.destroy();
  }

  /** Quorum reads (baselines) sent so far. */
  get reads(): string[] {
    return this.paths.filter((path) => path.includes('quorum=true'));
  }
}

/** What {@link withClients} hands a test: all on the shared member. */
export interface Clients {
  prefix: string;
  /** A client straight to the member, for writes. */
  writer: EtcdClient;
  /** The client under test (through `proxy` or `agent` when asked). */
  client: EtcdClient;
  /** A Store on `client`, under `prefix`. */
  store: EtcdStore<string>;
  proxy: TcpProxy;
  agent: CountingAgent;
}

/**
 * Runs `test` with a writer, a client under test (through a TCP proxy with `viaProxy`, through a
 * {@link CountingAgent} with `counting`, with `client`'s options) and a Store on it, on the shared
 * member under the prefix `<tag>-<pid>`; closes them afterwards.
 */
export async function withClients(
  tag: string,
  options: { viaProxy?: boolean; counting?: boolean; client?: EtcdClientOptions },
  test: (clients: Clients) => Promise<void>,
): Promise<void> {
  const server = await member();
  const proxy = options.viaProxy ? await TcpProxy.start('127.0.0.1', portOf(server.host)) : undefined;
  const agent = options.counting ? new CountingAgent() : undefined;
  const prefix = `${tag}-${process.pid}`;
  const writer = new EtcdClient({ hosts: server.host });
  const client = new EtcdClient({
    hosts: proxy ? proxy.host : server.host,
    ...(agent ? { dispatcher: agent } : {}),
    ...options.client,
  });
  const store = createEtcdStore({ client, prefix });
  try {
    await test({ prefix, writer, client, store, proxy: proxy!, agent: agent! });
  } finally {
    await store.close();
    await client.close();
    await writer.close();
    await proxy?.close();
  }
}
