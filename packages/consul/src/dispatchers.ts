import { SplitDispatcher } from '@polykv/core';
import { Agent } from 'undici';
import type { ConsulClientOptions } from './options.js';
import { tlsConnectOptions } from './request.js';

/** A blocking query: `?index=` (KV, catalog, health, ...) or `?hash=` (agent endpoints). */
const BLOCKING = /[?&](?:index|hash)=/;

/**
 * The client's own transport (core's {@link SplitDispatcher}): blocking queries get a pool of their
 * own with no cap (each long poll holds a socket for up to its wait, and a cap would let polls
 * starve ordinary reads), and every other request goes through a pool capped at `connections`
 * sockets per agent, so that a burst of reads queues instead of opening hundreds of sockets
 * (Consul 1.8 allows 200 per client IP).
 */
export function consulDispatcher(options: ConsulClientOptions): SplitDispatcher {
  const connect = tlsConnectOptions(options.tls);
  const base: Agent.Options = { keepAliveTimeout: 30_000, ...(connect ? { connect } : {}) };
  const connections = options.connections ?? 64;
  if (!Number.isInteger(connections) || connections < 1) {
    throw new RangeError(`connections must be an integer >= 1, got ${connections}`);
  }
  return new SplitDispatcher(new Agent({ ...base, connections }), new Agent(base), (path) =>
    BLOCKING.test(path),
  );
}
