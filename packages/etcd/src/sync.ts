import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { EtcdError, type EtcdErrorFields } from './errors.js';
import type { EtcdClientOptions } from './options.js';

/** What crosses the thread boundary for one synchronous call. */
export interface SyncCall {
  method: 'get' | 'set' | 'del' | 'mkdir' | 'rmdir' | 'create';
  args: unknown[];
}

export type SyncReply =
  { ok: true; value: unknown } | { ok: false; error: EtcdErrorFields & { name?: string } };

/**
 * Synchronous calls without a native addon (node-etcd's deasync broke installs): a worker thread
 * owns its own `EtcdClient` and runs each call; the calling thread blocks in `Atomics.wait` until
 * the worker has posted the answer, then takes it with `receiveMessageOnPort`. For start-up
 * configuration only: it blocks the event loop for the whole call.
 */
export class SyncRunner {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  readonly #timeoutMs: number;

  constructor(options: EtcdClientOptions, timeoutMs: number) {
    // Functions and dispatchers cannot cross threads: the worker makes its own Agent.
    const { dispatcher: _dispatcher, random: _random, refresh: _refresh, ...cloneable } = options;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#timeoutMs = timeoutMs;
    this.#worker = new Worker(new URL('./sync-worker.js', import.meta.url), {
      workerData: { options: cloneable, flag: this.#flag, port: port2 },
      transferList: [port2],
    });
    // A sync runner must never keep the process alive.
    this.#worker.unref();
    this.#port.unref();
  }

  call(call: SyncCall): unknown {
    Atomics.store(this.#flag, 0, 0);
    this.#worker.postMessage(call);
    const result = Atomics.wait(this.#flag, 0, 0, this.#timeoutMs);
    const message = receiveMessageOnPort(this.#port);
    if (result === 'timed-out' || !message) {
      throw new EtcdError({
        code: 'ETCD_TIMEOUT',
        message: `synchronous etcd ${call.method} timed out after ${this.#timeoutMs} ms`,
      });
    }
    const reply = message.message as SyncReply;
    if (reply.ok) return reply.value;
    throw new EtcdError(reply.error);
  }

  async close(): Promise<void> {
    this.#port.close();
    await this.#worker.terminate();
  }
}
