import { offAbort, onAbort, StopSignal, type AbortListener, type AnySignal } from '../stop.js';
import { runWatchLoop, type LoopReport, type PollSource, type WatchTiming } from './loop.js';

/** What every caller waiting on a shared poll has: its signal, and the listener wired to it. */
export interface PollWaiter {
  /** The caller's signal: when it aborts, the caller stops waiting on the poll. `undefined`: none. */
  readonly signal: AnySignal | undefined;
  /** The waiter's abort listener (set while it waits; the waiter itself when it has `handleEvent`). */
  onAbort: AbortListener | undefined;
}

/** Calls `listener` once if the waiter's signal aborts (until {@link stopListening}). */
export function listenForAbort(waiter: PollWaiter, listener: AbortListener): void {
  if (waiter.signal === undefined) return;
  waiter.onAbort = listener;
  onAbort(waiter.signal, listener);
}

/** Undoes {@link listenForAbort}: the waiter was answered, failed or handed elsewhere. */
export function stopListening(waiter: PollWaiter): void {
  if (waiter.onAbort !== undefined && waiter.signal !== undefined) offAbort(waiter.signal, waiter.onAbort);
  waiter.onAbort = undefined;
}

/** The parent folder of a `/`-separated path (`a/b` of `a/b/c`); `''` for a top-level one. */
export function parentFolder(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '' : path.slice(0, slash);
}

/**
 * One long poll of a folder, shared by every caller waiting below it: a {@link PollSource} whose
 * loop is the watch loop ({@link runWatchLoop}). The base keeps what every backend's poll needs:
 * the count of waiting callers, the linger (a poll nobody waits on goes on for `linger` ms, so a
 * watcher coming straight back finds it, then stops), the stop, and starting the loop once. A
 * backend's poll adds its own index of callers and what an answer means for them:
 * etcd v2 (`packages/etcd/src/watch/directory-poll.ts`: an event buffer, callers by key) and Consul
 * (`packages/consul/src/watch/folder-poll.ts`: the listing, diffed by key).
 */
export abstract class SharedPoll<A> implements PollSource<A>, LoopReport {
  /** Aborted when the poll stops; its `signal` goes with the poll's requests. */
  readonly stopSignal = new StopSignal();
  #waiting = 0;
  #lingerTimer: NodeJS.Timeout | undefined = undefined;
  #running = false;

  /** A backend's poll, made through {@link PollRegistry.add}; it starts with {@link SharedPoll.start}. */
  constructor(
    /** The client's registry, which the poll leaves when it stops. */
    readonly registry: PollRegistry<SharedPoll<unknown>>,
    /** The options the poll's answers depend on (a token...), as a string; `''` when none. */
    readonly id: string,
    /** The polled folder. */
    readonly folder: string,
    /** How long the poll goes on with nobody waiting, in ms, so that a returning caller finds it. */
    readonly linger: number,
  ) {}

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** True once the poll has stopped, for good: a caller after that needs a new poll. */
  get stopped(): boolean {
    return this.stopSignal.aborted;
  }

  /** Whether the loop runs (it starts with {@link SharedPoll.start}, ends with the poll). */
  get running(): boolean {
    return this.#running;
  }

  abstract next(failures: number): Promise<A>;
  abstract apply(answer: A): void | Promise<void>;
  abstract isTerminal(error: unknown): boolean;
  delay?(): number;

  /** The poll answered again. */
  connected(): void {}

  /** A request of the poll failed; the loop retries it after a backoff. */
  abstract disconnected(cause: unknown, attempt: number): void;

  /** The loop ended with a terminal error: what becomes of the callers (the poll is stopped after). */
  protected abstract refused(error: unknown): void;

  /** The poll stops: every caller still waiting is rejected with `error` (the client closed, a refusal). */
  protected abstract rejectAll(error: unknown): void;

  /** A caller started waiting. */
  protected joined(): void {
    this.#waiting++;
    if (this.#lingerTimer !== undefined) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
    }
  }

  /** `count` callers stopped waiting (answered, failed, aborted, handed elsewhere). */
  protected left(count = 1): void {
    if (count === 0) return;
    this.#waiting -= count;
    if (this.#waiting === 0 && !this.stopped && this.#lingerTimer === undefined) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = undefined;
        if (this.#waiting === 0) this.stop(undefined);
      }, this.linger);
      this.#lingerTimer.unref();
    }
  }

  /** Starts the loop unless it runs. */
  start(timing: WatchTiming): void {
    if (this.#running || this.stopped) return;
    this.#running = true;
    runWatchLoop<A>(this, this, { stop: this.stopSignal, timing }).then(
      () => {
        this.#running = false;
      },
      (error: unknown) => {
        this.#running = false;
        if (this.stopped) return;
        this.refused(error);
        this.stop(error);
      },
    );
  }

  /** Stops the poll (once): it leaves the registry, and every caller still waiting is rejected. */
  stop(error: unknown): void {
    if (this.stopped) return;
    this.stopSignal.abort(error ?? new DOMException('The shared poll stopped', 'AbortError'));
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.registry.remove(this);
    this.rejectAll(error);
  }
}

/**
 * The shared polls of one client: at most `maxPolls` at once, keyed by options and folder. A caller
 * joins the deepest running poll whose folder holds its key ({@link PollRegistry.find}); else the
 * backend makes one ({@link PollRegistry.add}) while there is room; past that, the caller reads on
 * its own (the private fallback is the backend's own request).
 */
export class PollRegistry<P extends SharedPoll<unknown>> {
  /** Options id → folder → poll (two maps, not one keyed by a joined string: `find` runs every round of every watch). */
  readonly #polls = new Map<string, Map<string, P>>();
  #size = 0;

  /** An empty registry of one client. */
  constructor(
    /** The most polls running at once; past that, callers read on their own. */
    readonly maxPolls: number,
  ) {}

  /** How many polls it holds (a poll leaves it when it stops). */
  get size(): number {
    return this.#size;
  }

  /** True when `maxPolls` polls are running: {@link PollRegistry.add} makes no more. */
  get full(): boolean {
    return this.#size >= this.maxPolls;
  }

  /** Every running poll. */
  values(): P[] {
    const all: P[] = [];
    for (const byFolder of this.#polls.values()) all.push(...byFolder.values());
    return all;
  }

  /** The running poll with this id that covers `folder`, if any. */
  get(id: string, folder: string): P | undefined {
    return this.#polls.get(id)?.get(folder);
  }

  /**
   * The deepest running poll with options `id` whose folder is `folder` or one above it (never the
   * root `''`) and that `accept`s the caller.
   */
  find(id: string, folder: string, accept?: (poll: P) => boolean): P | undefined {
    const byFolder = this.#polls.get(id);
    if (byFolder === undefined) return undefined;
    for (let at = folder; at !== '';) {
      const poll = byFolder.get(at);
      if (poll !== undefined && !poll.stopped && (accept === undefined || accept(poll))) return poll;
      const up = parentFolder(at);
      if (up === at) break;
      at = up;
    }
    return undefined;
  }

  /** Registers a new poll, or returns `undefined` when `maxPolls` are running. */
  add(make: () => P): P | undefined {
    if (this.full) return undefined;
    const poll = make();
    let byFolder = this.#polls.get(poll.id);
    if (byFolder === undefined) this.#polls.set(poll.id, (byFolder = new Map<string, P>()));
    if (!byFolder.has(poll.folder)) this.#size++;
    byFolder.set(poll.folder, poll);
    return poll;
  }

  /** Drops a poll that stopped, so that the next caller starts a new one. */
  remove(poll: P): void {
    const byFolder = this.#polls.get(poll.id);
    if (byFolder?.get(poll.folder) !== poll) return;
    byFolder.delete(poll.folder);
    this.#size--;
    if (byFolder.size === 0) this.#polls.delete(poll.id);
  }

  /** Stops every poll with `error` (the client closed). */
  close(error: unknown): void {
    for (const poll of this.values()) poll.stop(error);
  }
}
