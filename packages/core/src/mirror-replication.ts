import { setMaxListeners } from 'node:events';
import { copy } from './copy.js';
import { isPolykvError, PolykvError } from './errors.js';
import { extend } from './extend.js';
import { planFlags, planTtl, valueWithChildrenError } from './fidelity.js';
import type { Lock } from './lock.js';
import type { CheckpointKeeper } from './mirror-checkpoint.js';
import { isExcluded } from './mirror-view.js';
import type { MirrorEvents } from './mirror-events.js';
import { anySignal, backoffDelay, type CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { KeyEvent, WatchEvent } from './watch/events.js';
import type { Watcher } from './watch/watcher.js';

/** Errors no retry can fix: the target refuses the key or value itself. */
export function isPermanent(error: unknown): error is PolykvError {
  return (
    isPolykvError(error) &&
    (error.code === 'INVALID_ARGUMENT' ||
      error.code === 'VALUE_TOO_LARGE' ||
      error.code === 'NOT_SUPPORTED' ||
      error.code === 'UNREPRESENTABLE' ||
      error.code === 'HELD')
  );
}

type Pending = (
  { type: 'put'; value: unknown; ttl: number | undefined; flags: bigint | undefined } | { type: 'delete' }
) & { index: number; event: KeyEvent<unknown> };

/** How a replication run ended: closed, its `ha` lock lost (or fenced), or the source watch failed. */
export type RunEnd = { reason: 'closed' } | { reason: 'lost' | 'error'; error: PolykvError };

/** What one run needs; see {@link Replication}. */
export interface RunSettings {
  from: Store<unknown>;
  to: Store<unknown>;
  /** `from` and `to` without the excluded keys, for the re-reads (`copy` and `diff`). */
  fromView: Store<unknown>;
  toView: Store<unknown>;
  prefix: string;
  excluded: readonly string[];
  concurrency: number;
  dropFlags: boolean;
  deleteExtras: boolean;
  checkpoint: CheckpointKeeper | undefined;
  checkpointInterval: number;
  /** Resume after this source index (from the checkpoint); none: start with a full re-read. */
  resumeAfter: number | undefined;
  /** Keys not carried, shared across runs (the checkpoint keeps them). */
  refused: Map<string, { code: string; message: string }>;
  lock: Lock | undefined;
  /** Per-write timeout while `ha` (ms): bounds how late a write of a fenced instance can land. */
  writeTimeout: number | undefined;
  emit: <E extends keyof MirrorEvents>(event: E, ...args: MirrorEvents[E]) => void;
}

/**
 * One run of a mirror: the source watch, the writes to the target, the re-reads, the checkpoint.
 * A mirror has one run at a time; with `ha`, one per term of holding the lock.
 *
 * The rules that make a checkpoint safe to resume from:
 * - a change waits in `#pending` (the latest state per key) until it is written; the checkpoint
 *   is the index just below the oldest change not yet written (or the last index seen), so every
 *   change at or below it is on the target;
 * - while a re-read is due (`#dirty`: at start without a checkpoint, after the source's history
 *   ran out, after a failed write) no change is written and the checkpoint does not move; the
 *   re-read covers every change seen before it started, so those waiting puts are dropped after it;
 * - one write per key at a time, so an older state never lands after a newer one.
 */
export class Replication {
  readonly ended: Promise<RunEnd>;
  /** What the run was started with (see {@link RunSettings}). */
  readonly #s: RunSettings;
  readonly #stop = new AbortController();
  /** The signal of every write while `ha` (see `#call`), made at the first write. */
  #writeSignal: AbortSignal | undefined;
  readonly #watcher: Watcher<unknown>;
  readonly #pending = new Map<string, Pending>();
  /** Keys being written, with the index of the change. */
  readonly #inFlight = new Map<string, number>();
  /** Target keys the source lacks that were kept (`delete` off): reported once. */
  readonly #kept = new Set<string>();
  #finish!: (end: RunEnd) => void;
  #ending: RunEnd | undefined;
  #seen: number | undefined;
  #anchored: boolean;
  #dirty: boolean;
  #resyncing = false;
  #scheduled = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #saving = false;
  #lastCheck = 0;
  #refusedChanged = false;

  constructor(settings: RunSettings) {
    this.#s = settings;
    // Every write in flight (a re-read's copy has `concurrency` of them) listens to the run's stop.
    setMaxListeners(0, this.#stop.signal);
    const resuming = settings.resumeAfter !== undefined;
    this.#seen = settings.resumeAfter;
    this.#dirty = !resuming;
    this.#anchored = resuming;
    this.ended = new Promise((resolve) => (this.#finish = resolve));
    // Without a checkpoint the watch starts without the initial values (the first re-read copies
    // the state, page by page: the values need not be held twice): `connected` once it is armed,
    // its `nextIndex` the index its changes start after, then every change.
    this.#watcher = settings.from.watch(settings.prefix, {
      recursive: true,
      signal: this.#stop.signal,
      ...(resuming ? { fromIndex: settings.resumeAfter! + 1 } : { initial: false }),
    });
    this.#watcher.on('change', (event) => this.#onChange(event));
    this.#watcher.on('connected', () => {
      const next = this.#watcher.nextIndex;
      if (next !== undefined && (this.#seen === undefined || next - 1 > this.#seen)) this.#seen = next - 1;
      this.#anchored = true;
      settings.emit('connected');
      this.#schedule();
    });
    this.#watcher.on('disconnected', (cause) => settings.emit('disconnected', cause));
    this.#watcher.on('error', (error) => void this.stop({ reason: 'error', error }));
    settings.lock?.on('lost', (error) => void this.stop({ reason: 'lost', error }));
  }

  /** Keys waiting to be written to the target. */
  get backlog(): number {
    return this.#pending.size + this.#inFlight.size;
  }

  /**
   * Ends the run: the watch stops, writes in flight are aborted (a change whose write was cut off
   * stays below the checkpoint), and when closing normally a last checkpoint is written.
   */
  async stop(end: RunEnd): Promise<void> {
    if (this.#ending) return;
    this.#ending = end;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#saveTimer);
    this.#stop.abort();
    await this.#watcher.close();
    while (this.#inFlight.size > 0 || this.#resyncing || this.#saving)
      await new Promise((resolve) => setTimeout(resolve, 10));
    if (end.reason === 'closed' && this.#heldOrFree()) await this.#save(true).catch(() => undefined);
    this.#finish(end);
  }

  #heldOrFree(): boolean {
    return this.#s.lock === undefined || this.#s.lock.held;
  }

  #onChange(event: WatchEvent<unknown>): void {
    if (this.#seen === undefined || event.index > this.#seen) this.#seen = event.index;
    if (event.type === 'resync') {
      // The source's history did not reach: a re-read and diff brings the target level.
      this.#dirty = true;
      return this.#schedule();
    }
    if (isExcluded(event.key, this.#s.excluded)) return;
    if (event.type === 'put') {
      // The TTL rule of copy: rounded up, raised to the target's minimum; gone already: nothing to write.
      const ttl = planTtl(event.expiresAt, this.#s.to);
      if (ttl === 'expired') return;
      this.#pending.set(event.key, {
        type: 'put',
        value: event.value,
        ttl: ttl.ttl,
        flags: event.flags,
        index: event.index,
        event,
      });
    } else this.#pending.set(event.key, { type: 'delete', index: event.index, event });
    this.#schedule();
  }

  /**
   * Pumps on a microtask: a watch delivers a re-read's differences and its `resync` in one go, and
   * none of those puts may be written before the `resync` has marked the tree for a re-read.
   */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#ending || this.#retryTimer) return;
    if (this.#dirty) {
      if (this.#inFlight.size === 0 && !this.#resyncing && this.#anchored) void this.#resync();
      return;
    }
    for (const [key, wanted] of this.#pending) {
      if (this.#inFlight.size >= this.#s.concurrency) break;
      if (this.#inFlight.has(key)) continue;
      this.#pending.delete(key);
      this.#inFlight.set(key, wanted.index);
      void this.#apply(key, wanted).finally(() => {
        this.#inFlight.delete(key);
        this.#schedule();
      });
    }
    this.#maybeSave();
  }

  /** Options of a write: aborted when the run stops or the lock is lost; bounded while `ha`. */
  #call(): CallOptions {
    const lock = this.#s.lock;
    if (!lock) return { signal: this.#stop.signal };
    // One signal for every write of the run (both sources live as long as the run), not one per
    // write: a per-write combination of two long-lived signals is what `follow` warns of.
    if (this.#writeSignal === undefined) {
      this.#writeSignal = anySignal([this.#stop.signal, lock.signal]).signal;
      setMaxListeners(0, this.#writeSignal);
    }
    return { signal: this.#writeSignal, ...(this.#s.writeTimeout ? { timeout: this.#s.writeTimeout } : {}) };
  }

  /** Fenced: no write starts once the lock is not held (its renewal deadline is checked here). */
  #mayWrite(): boolean {
    if (this.#ending) return false;
    if (this.#heldOrFree()) return true;
    void this.stop({ reason: 'lost', error: new PolykvError('LOCK_LOST', 'the mirror lock was lost') });
    return false;
  }

  async #apply(key: string, wanted: Pending): Promise<void> {
    if (!this.#mayWrite()) return this.#requeue(key, wanted);
    const { to } = this.#s;
    try {
      if (wanted.type === 'put') {
        const entry = { key, value: wanted.value, index: 0, createIndex: 0 };
        const flags = planFlags(
          wanted.flags === undefined ? entry : extend(entry, { flags: wanted.flags }),
          to,
          this.#s.dropFlags,
        );
        if ('error' in flags) throw flags.error;
        await to.set(
          key,
          wanted.value,
          extend(
            this.#call(),
            wanted.ttl === undefined ? {} : { ttl: wanted.ttl },
            flags.flags === undefined ? {} : { flags: flags.flags },
          ),
        );
        if (flags.note !== undefined) this.#s.emit('adjusted', key, flags.note);
      } else
        await to.del(key, this.#call()).catch((error: unknown) => {
          if (!(isPolykvError(error) && error.code === 'IS_A_DIRECTORY')) throw error;
        });
      this.#attempt = 0;
      if (this.#s.refused.delete(key)) this.#refusedChanged = true;
      this.#s.emit('applied', wanted.event);
    } catch (caught) {
      if (this.#ending) return this.#requeue(key, wanted);
      const error = await this.#typeConflict(key, caught);
      if (isPermanent(error)) {
        this.#s.refused.set(key, { code: error.code, message: error.message });
        this.#refusedChanged = true;
        this.#s.emit('skipped', key, error);
        return;
      }
      this.#requeue(key, wanted);
      this.#dirty = true;
      this.#s.emit('retry', key, error);
      this.#backOff();
    }
  }

  /** Keeps the newest state: a change that arrived meanwhile supersedes this one. */
  #requeue(key: string, wanted: Pending): void {
    if (!this.#pending.has(key)) this.#pending.set(key, wanted);
  }

  /**
   * A directory/value conflict on a target with typed directories (etcd, memory://) is permanent
   * when the source (Consul) has a value with children at the key or above it: that key can never
   * be carried as it is (copy names it the same way). Any other conflict is a moment of the
   * mirror's own ordering, retried.
   */
  async #typeConflict(key: string, error: unknown): Promise<unknown> {
    const { from, to } = this.#s;
    const conflict =
      isPolykvError(error) && (error.code === 'NOT_A_DIRECTORY' || error.code === 'IS_A_DIRECTORY');
    if (!conflict || from.capabilities.typedDirectories || !to.capabilities.typedDirectories) return error;
    try {
      const segments = key.split('/');
      for (let end = 1; end <= segments.length; end++) {
        const at = segments.slice(0, end).join('/');
        if ((await from.get(at)) && (await from.list(at)).length > 0) return valueWithChildrenError(at, to);
      }
    } catch {
      // The source cannot tell now: retry like any failure.
    }
    return error;
  }

  /**
   * The re-read: copies what differs (writing only keys whose value or flags differ), then deletes
   * target keys the source lacks (`delete`) or names them (`kept`). It covers every change seen
   * before it started.
   */
  async #resync(): Promise<void> {
    if (!this.#mayWrite()) return;
    this.#resyncing = true;
    const covered = this.#seen;
    const { fromView, toView, prefix, emit } = this.#s;
    try {
      const call = this.#call();
      const summary = await copy(fromView, toView, {
        ...call,
        prefix,
        overwrite: true,
        concurrency: this.#s.concurrency,
        dropFlags: this.#s.dropFlags,
        onProgress: (progress) => emit('progress', progress),
      });
      for (const { key, note } of summary.adjusted) emit('adjusted', key, note);
      // The copy's own reads name the target's keys the source lacks: no second read of both trees.
      for (const key of summary.extra) {
        if (!this.#s.deleteExtras) {
          if (!this.#kept.has(key)) emit('kept', key);
          this.#kept.add(key);
          continue;
        }
        if (!this.#mayWrite()) return;
        await this.#s.to.del(key, this.#call()).catch((error: unknown) => {
          if (!(isPolykvError(error) && error.code === 'IS_A_DIRECTORY')) throw error;
        });
        emit('removed', key);
      }
      // A child of a value-with-children key the watch wrote first fails with a type conflict: as
      // permanent here as in #apply (else the re-read would be retried for ever, never `synced`).
      const failed = await Promise.all(
        summary.failed.map(async ({ key, error }) => ({ key, error: await this.#typeConflict(key, error) })),
      );
      const failure = failed.find(({ error }) => !isPermanent(error));
      if (failure) throw failure.error;
      // The re-read saw every key: what it could not carry is now the whole refused list.
      const before = new Set(this.#s.refused.keys());
      this.#s.refused.clear();
      for (const { key, error } of failed) {
        if (!isPermanent(error)) continue;
        this.#s.refused.set(key, { code: error.code, message: error.message });
        if (!before.has(key)) emit('skipped', key, error);
      }
      this.#refusedChanged = true;
      this.#dirty = false;
      this.#attempt = 0;
      for (const [key, wanted] of this.#pending)
        if (wanted.type === 'put' && covered !== undefined && wanted.index <= covered)
          this.#pending.delete(key);
      emit('synced', summary);
    } catch (error) {
      if (this.#ending) return;
      emit('retry', prefix, error);
      this.#backOff();
    } finally {
      this.#resyncing = false;
      this.#schedule();
    }
  }

  #backOff(): void {
    if (this.#ending || this.#retryTimer) return;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#schedule();
      },
      backoffDelay(this.#attempt++, 100, 5000),
    );
  }

  /** The checkpoint now: just below the oldest change not yet written, else the last index seen. */
  #watermark(): number | undefined {
    let low = this.#seen;
    if (low === undefined) return undefined;
    for (const wanted of this.#pending.values()) low = Math.min(low, wanted.index - 1);
    for (const index of this.#inFlight.values()) low = Math.min(low, index - 1);
    return low;
  }

  /**
   * Saves the checkpoint when it moved, looking at most once per `checkpointInterval` (the
   * watermark goes through every waiting change: not once per write).
   */
  #maybeSave(): void {
    const { checkpoint } = this.#s;
    if (!checkpoint || this.#saving || this.#saveTimer || this.#dirty || this.#resyncing) return;
    const wait = this.#lastCheck + this.#s.checkpointInterval - Date.now();
    if (wait > 0) {
      this.#saveTimer = setTimeout(() => {
        this.#saveTimer = undefined;
        this.#maybeSave();
      }, wait);
      return;
    }
    this.#lastCheck = Date.now();
    void this.#save(false).catch((error: unknown) => {
      if (isPolykvError(error) && error.code === 'LOCK_LOST') void this.stop({ reason: 'lost', error });
      else this.#s.emit('retry', this.#s.checkpoint!.key, error);
    });
  }

  async #save(last: boolean): Promise<void> {
    const { checkpoint } = this.#s;
    const low = this.#watermark();
    if (!checkpoint || low === undefined || this.#dirty || this.#saving) return;
    if (low <= (checkpoint.index ?? -1) && !this.#refusedChanged) return;
    this.#saving = true;
    this.#refusedChanged = false;
    try {
      const lock = this.#s.lock;
      await checkpoint.save(low, this.#s.refused, last ? { timeout: 5000 } : this.#call());
      if (lock && !lock.held) return;
      this.#s.emit('checkpoint', low);
    } catch (error) {
      this.#refusedChanged = true;
      throw error;
    } finally {
      this.#saving = false;
      if (!this.#ending) this.#schedule();
    }
  }
}
