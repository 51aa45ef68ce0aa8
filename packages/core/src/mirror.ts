import { EventEmitter } from 'eventemitter3';
import { InvalidArgumentError, LockLostError, PolykvError, isPolykvError } from './errors.js';
import { normalizeKey } from './keys.js';
import type { Lock } from './lock.js';
import { CheckpointKeeper, checkCheckpoint, mirrorId, type Resume } from './mirror-checkpoint.js';
import { Replication, type RunEnd } from './mirror-replication.js';
import { checkExcludes, excluding } from './mirror-view.js';
import { backoffDelay, sleep } from './signal.js';
import type { Store } from './store.js';
import { checkOptionTable, checkTtl, type OptionTableOf } from './validate.js';
import type { MirrorEvents } from './mirror-events.js';

/** Options of {@link mirror}. */
export interface MirrorOptions {
  /** The directory to mirror, the same path on both sides. @defaultValue '' */
  prefix?: string;
  /**
   * Keys to leave out, each with everything below it: full keys like `prefix` (not relative to
   * it), each below the prefix. An excluded key is not carried, and on the target it is never
   * taken for an extra (never deleted).
   */
  exclude?: string[];
  /** Writes to the target in flight at once. @defaultValue 16 */
  concurrency?: number;
  /**
   * Carry keys that have flags into a target without flags, without the flags (see `copy`).
   * Without it such changes are `skipped` with `UNREPRESENTABLE`. @defaultValue false
   */
  dropFlags?: boolean;
  /**
   * Delete target keys below the prefix that the source does not hold, when a full re-read finds
   * them (the initial copy; after the source's history ran out; after a failed write). Without it
   * they are kept and reported once each (`kept`). Deletions the source's watch reports are carried
   * either way. A re-read cannot tell a key deleted on the source while nobody watched (Consul keeps
   * no deletion history) from a key only the target has: this option decides. @defaultValue true
   */
  delete?: boolean;
  /**
   * Keep a checkpoint so a restarted mirror resumes where it stopped: the last source index up to
   * which every change is on the target, kept in `store` (open it on the target's reserved space:
   * `openStore(checkpointUrl(targetUrl))`, so it never shows in `list` or `watch`). `source` names the
   * source (`sourceIdentity(url)`): a checkpoint of another source, or taken with another prefix,
   * exclusions, `delete` or `dropFlags`, is not resumed from. `resume: false` starts with a full re-read anyway.
   */
  checkpoint?: {
    /** Where the checkpoint is kept: a store on the target's reserved space (`checkpointUrl`). */
    store: Store<unknown>;
    /** The source's identity, from `sourceIdentity(url)`. */
    source: string;
    /** `false`: start with a full re-read even when the checkpoint fits. @defaultValue true */
    resume?: boolean;
    /** The least time between two saves of the checkpoint, in ms. @defaultValue 1000 */
    interval?: number;
  };
  /**
   * Several instances, one active: each takes the lock `mirror/<id>` on the target (Store `lock`,
   * TTL `ttl` seconds) and only the holder writes. Its writes stop as soon as it does not hold the
   * lock, each write is bounded by `fenceDelay` ms and a new holder waits that long before its
   * first write (so no write of the old holder lands after it), and the checkpoint carries the
   * lock's fencing token (a stale holder's checkpoint write is refused). An instance that loses
   * the lock goes back to waiting for it. @defaultValue no `ha`
   */
  ha?: {
    /**
     * The lock's TTL in seconds: how long an active instance that went silent holds the others off.
     * @defaultValue 15
     */
    ttl?: number;
    /**
     * The bound on each write of the active instance, and the wait of a new one before its first
     * write, in ms. @defaultValue the smaller of 5000 and a third of `ttl`
     */
    fenceDelay?: number;
  };
  /** Stops the mirror. */
  signal?: AbortSignal;
}

export type { MirrorEvents, MirrorStart } from './mirror-events.js';

const MIRROR_OPTIONS = {
  prefix: 'string',
  exclude: 'array',
  concurrency: 'number',
  dropFlags: 'boolean',
  delete: 'boolean',
  checkpoint: 'object',
  ha: 'object',
  signal: 'signal',
} satisfies OptionTableOf<MirrorOptions>;

/**
 * A running mirror; see {@link mirror}. `close()` stops it; `closed` settles when it has stopped
 * (rejecting with the error that stopped it, if any).
 */
export class Mirror extends EventEmitter<MirrorEvents> {
  /**
   * Settles once the mirror has stopped: resolves after `close()` or the signal, rejects with the
   * error that stopped it.
   */
  readonly closed: Promise<void>;
  readonly #from: Store<unknown>;
  readonly #to: Store<unknown>;
  readonly #prefix: string;
  readonly #excluded: string[];
  readonly #options: MirrorOptions;
  readonly #checkpoint: CheckpointKeeper | undefined;
  readonly #id: string;
  readonly #stop = new AbortController();
  readonly #refused = new Map<string, { code: string; message: string }>();
  #run: Replication | undefined;

  /** The same as {@link mirror}: checks `options` and starts (listeners attached right after hear it all). */
  constructor(from: Store<unknown>, to: Store<unknown>, options: MirrorOptions) {
    super();
    checkOptionTable(options, MIRROR_OPTIONS, 'mirror');
    this.#from = from;
    this.#to = to;
    this.#options = options;
    this.#prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
    this.#excluded = checkExcludes(options.exclude, this.#prefix);
    if (options.ha !== undefined) {
      checkTtl(options.ha.ttl, 1, 'ha.ttl');
      const fence = options.ha.fenceDelay;
      if (fence !== undefined && !(Number.isFinite(fence) && fence >= 0))
        throw new InvalidArgumentError('ha', 'ha.fenceDelay must be a number of ms >= 0');
    }
    const checkpoint = checkCheckpoint(options.checkpoint);
    this.#id = mirrorId(checkpoint?.source ?? `${from.kind}:${from.prefix}`, this.#prefix);
    if (checkpoint) {
      const settings = JSON.stringify({
        prefix: this.#prefix,
        exclude: [...this.#excluded].sort(),
        delete: options.delete ?? true,
        dropFlags: options.dropFlags ?? false,
      });
      this.#checkpoint = new CheckpointKeeper(checkpoint.store, this.#id, checkpoint.source, settings);
    }
    const interval = options.checkpoint?.interval;
    if (interval !== undefined && !(Number.isFinite(interval) && interval >= 0))
      throw new InvalidArgumentError('checkpoint', 'checkpoint.interval must be a number of ms >= 0');
    if (options.signal?.aborted) this.#stop.abort();
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.closed = this.#main();
  }

  /** Keys waiting to be written to the target. */
  get backlog(): number {
    return this.#run?.backlog ?? 0;
  }

  /**
   * The keys not carried now (each with the target's refusal), as `skipped` reported them: a key
   * leaves the list once a later change of it is carried or it is deleted on the source.
   */
  get notCarried(): ReadonlyMap<
    string,
    {
      /** The refusal's error code (`UNREPRESENTABLE`, `VALUE_TOO_LARGE`...). */
      code: string;
      /** The refusal's message. */
      message: string;
    }
  > {
    return this.#refused;
  }

  /** The name of the checkpoint and of the `ha` lock (`mirror/<id>`), from the source and prefix. */
  get id(): string {
    return this.#id;
  }

  /** Stops the mirror and releases its checkpoint and watch. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#run?.stop({ reason: 'closed' });
    await this.closed.catch(() => undefined);
  }

  async #main(): Promise<void> {
    try {
      // Listeners attached right after `mirror()` hear the first events (`standby`, `start`).
      await Promise.resolve();
      await this.#loop();
    } catch (error) {
      const failure = isPolykvError(error)
        ? error
        : new PolykvError('BACKEND_ERROR', 'the mirror failed', { cause: error });
      // Loud like a watcher: unhandled unless someone listens for `error` or awaits `closed`.
      if (this.listenerCount('error') > 0) this.closed.catch(() => undefined);
      this.emit('error', failure);
      throw failure;
    } finally {
      this.emit('end');
    }
  }

  /** Runs until closed: (with `ha`: wait for the lock,) take the checkpoint, replicate. */
  async #loop(): Promise<void> {
    const ha = this.#options.ha;
    const ttl = ha?.ttl ?? 15;
    const fenceDelay = ha?.fenceDelay ?? Math.min(5000, (ttl * 1000) / 3);
    const signal = this.#stop.signal;
    for (let attempt = 0; !signal.aborted;) {
      let lock: Lock | undefined;
      try {
        if (ha) {
          this.emit('standby');
          lock = await this.#to.lock(`mirror/${this.#id}`, { ttl, signal });
          this.emit('active', lock.fencingToken);
          // Any write of the previous holder is bounded by fenceDelay: let them land first.
          await sleep(fenceDelay, AbortSignal.any([signal, lock.signal]));
        }
        const resume: Resume = this.#checkpoint
          ? await this.#checkpoint.claim(lock?.fencingToken, this.#options.checkpoint?.resume ?? true, {
              signal,
            })
          : { reason: 'no checkpoint' };
        attempt = 0;
        if ('index' in resume) {
          this.emit('start', { resumedFrom: resume.index });
          this.#refused.clear();
          for (const { key, code, message } of resume.record.refused) {
            this.#refused.set(key, { code, message });
            this.emit('skipped', key, new PolykvError(code as PolykvError['code'], message, { key }));
          }
        } else this.emit('start', { fullRead: resume.reason });
        const end = await this.#replicate(lock, 'index' in resume ? resume.index : undefined, fenceDelay);
        if (end.reason === 'error') throw end.error;
        if (end.reason === 'lost') this.emit('lost', end.error);
      } catch (error) {
        if (signal.aborted) break;
        const lockLost = isPolykvError(error) && error.code === 'LOCK_LOST';
        if (ha && (lockLost || (lock !== undefined && !lock.held)))
          this.emit('lost', lockLost ? error : new LockLostError(`mirror/${this.#id}`));
        else if (!isPolykvError(error) || !RETRIED.has(error.code)) throw error;
        else this.emit('retry', this.#prefix, error);
        await sleep(backoffDelay(attempt++, 200, 5000), signal).catch(() => undefined);
      } finally {
        if (lock?.held) await lock.release({ timeout: 5000 }).catch(() => undefined);
      }
    }
  }

  async #replicate(lock: Lock | undefined, resumeAfter: number | undefined, fenceDelay: number) {
    const run = new Replication({
      from: this.#from,
      to: this.#to,
      fromView: excluding(this.#from, this.#excluded),
      toView: excluding(this.#to, this.#excluded),
      prefix: this.#prefix,
      excluded: this.#excluded,
      concurrency: this.#options.concurrency ?? 16,
      dropFlags: this.#options.dropFlags ?? false,
      deleteExtras: this.#options.delete ?? true,
      checkpoint: this.#checkpoint,
      checkpointInterval: this.#options.checkpoint?.interval ?? 1000,
      resumeAfter,
      refused: this.#refused,
      lock,
      writeTimeout: lock ? fenceDelay : undefined,
      emit: (event, ...args) => (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args),
    });
    this.#run = run;
    if (this.#stop.signal.aborted) void run.stop({ reason: 'closed' });
    const end: RunEnd = await run.ended;
    return end;
  }
}

/** Failures of taking the lock or reading the checkpoint that a later attempt may not meet. */
const RETRIED = new Set(['UNAVAILABLE', 'TIMEOUT', 'BACKEND_ERROR', 'LOCK_LOST', 'COMPARE_FAILED']);

/**
 * Keeps `to` equal to `from` below `prefix`: an initial copy (only keys that differ are written),
 * then every change as the source's watch reports it. It survives a restart of either side: the
 * source's watch resumes or re-reads by itself, and after any failed write the mirror re-reads
 * the whole tree (copy, then extras) once the target answers again, so no change is lost, only
 * superseded by a newer one. With `checkpoint`, a restarted mirror resumes from the last source
 * index it carried; with `ha`, several instances share the work, one at a time.
 */
export function mirror<V>(from: Store<V>, to: Store<V>, options: MirrorOptions = {}): Mirror {
  return new Mirror(from, to, options);
}
