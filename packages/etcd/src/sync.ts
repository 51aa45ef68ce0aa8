import { BlockingWorker } from '@polykv/core';
import { EtcdError, type EtcdErrorFields } from './errors.js';
import type { EtcdClientOptions } from './options.js';

/** What crosses the thread boundary for one synchronous call. */
export interface SyncCall {
  method: 'get' | 'set' | 'del' | 'mkdir' | 'rmdir' | 'create';
  args: unknown[];
}

/** How an error crosses back (see sync-worker.ts). */
export type SyncError = EtcdErrorFields & { name?: string };

/**
 * The client's synchronous calls (`getSync` and friends) on core's `BlockingWorker`: a worker
 * thread owns its own `EtcdClient` and runs each call while the calling thread waits. For start-up
 * configuration only: it blocks the event loop for the whole call.
 */
export class SyncRunner {
  readonly #worker: BlockingWorker;
  readonly #timeoutMs: number;

  constructor(options: EtcdClientOptions, timeoutMs: number) {
    // Functions and dispatchers cannot cross threads: the worker makes its own Agent.
    const { dispatcher: _dispatcher, random: _random, refresh: _refresh, ...cloneable } = options;
    this.#timeoutMs = timeoutMs;
    this.#worker = new BlockingWorker(new URL('./sync-worker.js', import.meta.url), cloneable);
  }

  call(call: SyncCall): unknown {
    const outcome = this.#worker.call(call, this.#timeoutMs);
    if ('timedOut' in outcome) {
      throw new EtcdError({
        code: 'ETCD_TIMEOUT',
        message: `synchronous etcd ${call.method} timed out after ${this.#timeoutMs} ms`,
      });
    }
    if (outcome.ok) return outcome.value;
    throw new EtcdError(outcome.error as SyncError);
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
