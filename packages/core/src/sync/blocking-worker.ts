import {
  MessageChannel,
  parentPort,
  receiveMessageOnPort,
  Worker,
  workerData,
  type MessagePort,
} from 'node:worker_threads';

/**
 * Blocking calls without a native addon (node-etcd's deasync broke installs): a worker thread runs
 * the normal async code; the calling thread blocks in `Atomics.wait` until the worker has posted the
 * answer, then takes it with `receiveMessageOnPort`. The answer travels over a `MessagePort`, which
 * has no size cap (a structured clone of any size), so a large result is never cut; the
 * `SharedArrayBuffer` only carries the wake-up counter. For start-up work only: the calling thread's
 * event loop stops for the whole call.
 *
 * Both sides live here: {@link BlockingWorker} on the calling thread, {@link serveBlockingCalls} in
 * the worker script.
 */

/**
 * The process's flags for the worker, but `--input-type`: it is about the main entry (`node
 * --input-type=module --eval ...`) and makes a worker started from a file fail to load.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i]!;
    if (flag === '--input-type') i++;
    else if (!flag.startsWith('--input-type=')) out.push(flag);
  }
  return out;
}

/** One call as it crosses to the worker. */
interface CallMessage {
  id: number;
  call: unknown;
}

/** One answer as it crosses back: `error` is whatever the worker's `describeError` made of it. */
export type BlockingReply =
  | {
      /** The call this answers (an answer to an earlier call that timed out is dropped). */
      id: number;
      /** The call succeeded. */
      ok: true;
      /** The call's result. */
      value: unknown;
    }
  | {
      /** The call this answers (an answer to an earlier call that timed out is dropped). */
      id: number;
      /** The call failed. */
      ok: false;
      /** The failure, as `describeError` made it. */
      error: unknown;
    };

/** What `workerData` holds in a script started by {@link BlockingWorker}. */
interface BlockingWorkerData {
  counter: Int32Array;
  port: MessagePort;
  data: unknown;
}

/** The outcome of {@link BlockingWorker.call}: the worker's answer, or `timedOut`. */
export type BlockingOutcome =
  | {
      /** The call succeeded in the worker. */
      ok: true;
      /** The call's result, as a structured clone. */
      value: unknown;
    }
  | {
      /** The call failed in the worker. */
      ok: false;
      /** The failure, as the worker's `describeError` made it. */
      error: unknown;
    }
  | {
      /** No answer came within `timeoutMs` (a later one is dropped). */
      timedOut: true;
    };

/**
 * A worker thread that runs calls while the calling thread waits. `script` must call
 * {@link serveBlockingCalls}; `data` (structured-cloneable) is handed to it. The worker never keeps
 * the process alive.
 */
export class BlockingWorker {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  /** Incremented by the worker after each answer it posts. */
  readonly #counter = new Int32Array(new SharedArrayBuffer(4));
  #nextId = 1;

  /** Starts the worker thread on `script`, handing it `data`. */
  constructor(script: URL, data: unknown) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const shared: BlockingWorkerData = { counter: this.#counter, port: port2, data };
    this.#worker = new Worker(script, {
      workerData: shared,
      transferList: [port2],
      execArgv: workerExecArgv(),
    });
    // An error of the worker (one that kept it from answering ends the call as a timeout) must not
    // become an uncaught 'error' in the caller's process.
    this.#worker.on('error', () => undefined);
    this.#worker.unref();
    this.#port.unref();
  }

  /**
   * Posts `call` and blocks until its answer or until `timeoutMs` ran out. An answer to an earlier
   * call that timed out is dropped, never taken for this one's.
   */
  call(call: unknown, timeoutMs: number): BlockingOutcome {
    const id = this.#nextId++;
    this.#worker.postMessage({ id, call } satisfies CallMessage);
    const end = Date.now() + timeoutMs;
    for (;;) {
      // Read the counter before the port: an answer posted after this read changes the counter,
      // so the wait below returns at once instead of missing it.
      const seen = Atomics.load(this.#counter, 0);
      for (
        let message = receiveMessageOnPort(this.#port);
        message;
        message = receiveMessageOnPort(this.#port)
      ) {
        const reply = message.message as BlockingReply;
        if (reply.id !== id) continue;
        return reply.ok ? { ok: true, value: reply.value } : { ok: false, error: reply.error };
      }
      const left = end - Date.now();
      if (left <= 0) return { timedOut: true };
      Atomics.wait(this.#counter, 0, seen, left);
    }
  }

  /**
   * Stops the worker. The thread ends shortly after (its sockets with it); nothing waits for that,
   * and the worker is unref'ed, so the process can exit meanwhile.
   */
  terminate(): Promise<void> {
    this.#port.close();
    return this.#worker.terminate().then(() => undefined);
  }
}

/**
 * The worker side: answers each call with `handle(call)`'s result, or with `describeError(error)`
 * when it rejects (errors cross threads as plain data; see `error-transfer.ts` for polykv errors).
 * Values must be structured-cloneable.
 */
export function serveBlockingCalls(
  handle: (call: unknown, data: unknown) => Promise<unknown>,
  describeError: (error: unknown) => unknown,
): void {
  const { counter, port, data } = workerData as BlockingWorkerData;
  const answer = (reply: BlockingReply): void => {
    try {
      port.postMessage(reply);
    } catch (error) {
      // A value that cannot be cloned must still wake the caller, with a reason.
      port.postMessage({ id: reply.id, ok: false, error: describeError(error) } satisfies BlockingReply);
    }
    Atomics.add(counter, 0, 1);
    Atomics.notify(counter, 0);
  };
  parentPort!.on('message', ({ id, call }: CallMessage) => {
    let result: Promise<unknown>;
    try {
      result = handle(call, data);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => answer({ id, ok: true, value }),
      (error: unknown) => answer({ id, ok: false, error: describeError(error) }),
    );
  });
}
