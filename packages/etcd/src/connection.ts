import { SplitDispatcher, tlsConnectOptions, type HostPool } from '@polykv/core';
import { Agent, type Dispatcher } from 'undici';
import { createHostPool } from './failover.js';
import {
  checkClientOptions,
  DEFAULTS,
  normalizeHost,
  resolveOptions,
  type EtcdClientOptions,
  type ResolvedEtcdOptions,
} from './options.js';
import { createRequest, type RequestFn } from './request.js';

/** What a client talks to its cluster through: made from its options by {@link openConnection}. */
export interface Connection {
  /** The options as given, with the hosts normalized and without duplicates. */
  readonly given: EtcdClientOptions;
  readonly options: ResolvedEtcdOptions;
  readonly pool: HostPool;
  readonly dispatcher: Dispatcher;
  /** The dispatcher was made here (not given), so closing the client closes it. */
  readonly ownDispatcher: boolean;
  /** THE request function. */
  readonly request: RequestFn;
}

/**
 * Checks and resolves client options, and makes the host pool, the dispatcher and the request
 * function: `EtcdClient`'s constructor, and the short-lived connection `discoverHosts` reads the
 * discovery registry through.
 */
export function openConnection(opts: EtcdClientOptions, isClosed: () => boolean): Connection {
  checkClientOptions(opts);
  const given =
    opts.hosts === undefined ? [DEFAULTS.host] : Array.isArray(opts.hosts) ? opts.hosts : [opts.hosts];
  // With `tls`, a host written without a scheme is `https://` (as in the v3 client); an explicit one stays.
  const hosts = [...new Set(given.map((host) => normalizeHost(host, opts.tls !== undefined)))];
  const options = resolveOptions(opts, hosts);
  const pool = createHostPool(hosts, options);
  let dispatcher: Dispatcher;
  if (opts.dispatcher) dispatcher = opts.dispatcher;
  else {
    const connect = {
      timeout: options.connectTimeout,
      rejectUnauthorized: true,
      ...tlsConnectOptions(opts.tls),
    };
    // Long polls (`wait=true`) on their own uncapped agent, every other request on the capped one.
    dispatcher = new SplitDispatcher(
      new Agent({ keepAliveTimeout: 30_000, connections: options.connections, connect }),
      new Agent({ keepAliveTimeout: 30_000, connect }),
      (path) => path.includes('wait=true'),
    );
  }
  return {
    given: { ...opts, hosts },
    options,
    pool,
    dispatcher,
    ownDispatcher: opts.dispatcher === undefined,
    request: createRequest(dispatcher, pool, options, isClosed),
  };
}
