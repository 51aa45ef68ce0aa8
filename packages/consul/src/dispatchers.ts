import { Agent, Dispatcher } from 'undici';
import type { ConsulClientOptions } from './options.js';
import { tlsConnectOptions } from './request.js';

/** A blocking query: `?index=` (KV, catalog, health, ...) or `?hash=` (agent endpoints). */
const BLOCKING = /[?&](?:index|hash)=/;

/**
 * The client's own transport: blocking queries get a pool of their own with no cap (each long poll
 * holds a socket for up to its wait, and a cap would let polls starve ordinary reads), and every
 * other request goes through a pool capped at `connections` sockets per agent, so that a burst of
 * reads queues instead of opening hundreds of sockets (Consul 1.8 allows 200 per client IP).
 */
export class SplitDispatcher extends Dispatcher {
  readonly #ordinary: Agent;
  readonly #blocking: Agent;

  constructor(options: ConsulClientOptions) {
    super();
    const connect = tlsConnectOptions(options.tls);
    const base: Agent.Options = { keepAliveTimeout: 30_000, ...(connect ? { connect } : {}) };
    const connections = options.connections ?? 64;
    if (!Number.isInteger(connections) || connections < 1) {
      throw new RangeError(`connections must be an integer >= 1, got ${connections}`);
    }
    this.#ordinary = new Agent({ ...base, connections });
    this.#blocking = new Agent(base);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (BLOCKING.test(options.path) ? this.#blocking : this.#ordinary).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.#ordinary.close(), this.#blocking.close()]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const done = Promise.all([this.#ordinary.destroy(err), this.#blocking.destroy(err)]).then(
      () => undefined,
    );
    if (!cb) return done;
    void done.then(cb, cb);
  }
}
