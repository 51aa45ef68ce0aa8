import { throwIfAborted, type CallOptions } from './signal.js';

/** Runs `work` over `items` with at most `limit` in flight; stops starting new work once `signal` aborts. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      throwIfAborted(signal);
      await work(items[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** One write of a bulk copy: `prevIndex` is the target key's index, 0 when it must not exist. */
export interface BulkWrite<V> {
  /** The key, relative to the target store. */
  key: string;
  /** The value to write, in the target's codec. */
  value: V;
  /** The target key's index the write is conditional on; 0: the key must not exist. */
  prevIndex: number;
  /** The key's flags (only on targets with `capabilities.flags`); none writes 0. */
  flags?: bigint;
}

/**
 * An optional capability of a Store: writing many keys in few round trips (the Consul store sends one
 * transaction per batch). `copy` uses it when the target has it. Each write is conditional on
 * `prevIndex`; the result has one entry per write: `undefined` for success, else the error.
 */
export interface BulkWriter<V> {
  /** Writes a batch; resolves one entry per write: `undefined` when it was written, else its error. */
  writeMany(writes: readonly BulkWrite<V>[], options?: CallOptions): Promise<unknown[]>;
}

/** True when `store` offers {@link BulkWriter.writeMany}. */
export function isBulkWriter<V>(store: object): store is BulkWriter<V> {
  return typeof (store as Partial<BulkWriter<V>>).writeMany === 'function';
}

/**
 * Starts tasks with at most `limit` running at once: `start` waits for a free slot, which is how a
 * streamed copy keeps from reading further ahead than it writes. The first task failure is thrown
 * by the next `start` and by `drain`; no new task starts after it.
 */
export class TaskLimiter {
  readonly #limit: number;
  #running = 0;
  #failure: { error: unknown } | undefined;
  readonly #waiting: (() => void)[] = [];
  readonly #tasks = new Set<Promise<void>>();

  /** @param limit - tasks running at once (at least 1). */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` once a slot is free; resolves when it has started, not when it is done. */
  async start(task: () => Promise<void>): Promise<void> {
    while (this.#running >= this.#limit && this.#failure === undefined)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#failure) throw this.#failure.error;
    this.#running++;
    const run = task()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => {
        this.#running--;
        this.#tasks.delete(run);
        // A failure wakes every waiting start, so that each throws it.
        if (this.#failure) for (const wake of this.#waiting.splice(0)) wake();
        else this.#waiting.shift()?.();
      });
    this.#tasks.add(run);
  }

  /** Waits until every started task is done; throws the first failure. */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
    if (this.#failure) throw this.#failure.error;
  }
}
