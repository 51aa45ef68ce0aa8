import { SplitDispatcher, tlsConnectOptions } from '@polykv/core';
import { Agent } from 'undici';
import type { ConsulClientOptions } from './options.js';

/** Long-poll connections an agent closed or reset, in this process (see {@link lostLongPolls}). */
let lostLongPollConnections = 0;

/**
 * How many long-poll connections agents have closed or reset so far, in this process (the pools of
 * every client made without a caller's `dispatcher`). A watch that sees it change since its last
 * round reads before it blocks again: an agent that restarted between two of its rounds (a dev
 * agent is back within 0.1 s) has indexes far below the watch's, and a blocking query on the old
 * index would be held for the whole wait with nothing reported. Undici's own closes (idle sockets,
 * aborted requests, a closed client) do not count.
 */
export function lostLongPolls(): number {
  return lostLongPollConnections;
}

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
  const longPolls = new Agent(base);
  longPolls.on('disconnect', (_origin, _targets, error) => {
    const code = (error as { code?: unknown }).code;
    if (code === 'UND_ERR_SOCKET' || (typeof code === 'string' && /^E[A-Z]/.test(code)))
      lostLongPollConnections++;
  });
  return new SplitDispatcher(new Agent({ ...base, connections }), longPolls, (path) => BLOCKING.test(path));
}
