import { EventEmitter } from 'eventemitter3';
import { copy, diff, type CopySummary } from './copy.js';
import { isPolykvError, type PolykvError } from './errors.js';
import { planFlags, planTtl, valueWithChildrenError } from './fidelity.js';
import { normalizeKey } from './keys.js';
import { backoffDelay } from './signal.js';
import type { Store } from './store.js';
import type { KeyEvent } from './watch/events.js';

/** Options of {@link mirror}. */
export interface MirrorOptions {
  /** The directory to mirror, the same path on both sides. @defaultValue '' */
  prefix?: string;
  /** Writes to the target in flight at once. @defaultValue 16 */
  concurrency?: number;
  /**
   * Carry keys that have flags into a target without flags, without the flags (see `copy`).
   * Without it such changes are `skipped` with `UNREPRESENTABLE`. @defaultValue false
   */
  dropFlags?: boolean;
  /** Stops the mirror. */
  signal?: AbortSignal;
}

/** Events of a {@link Mirror}. */
export interface MirrorEvents {
  /** The target matches the source (after the initial copy, and after each re-sync). */
  synced: [summary: CopySummary];
  /** A source change was written to the target. */
  applied: [event: KeyEvent<unknown>];
  /** A write to the target failed; it is retried (with the key's latest state) until it succeeds. */
  retry: [key: string, error: unknown];
  /**
   * The target can never hold this change as it is (`INVALID_ARGUMENT`, `VALUE_TOO_LARGE`,
   * `NOT_SUPPORTED`, `UNREPRESENTABLE`, `HELD`: a key etcd would hide, a value over Consul's limit,
   * flags into etcd, a value with children into typed directories, a TTL on a key a foreign session
   * holds): reported once per change and not retried, so one such key cannot stall the mirror. The
   * key is missing on the target (or not as on the source).
   */
  skipped: [key: string, error: PolykvError];
  /** The source watch ended with an error: the mirror has stopped. */
  error: [error: PolykvError];
  end: [];
}

/** Errors no retry can fix: the target refuses the key or value itself. */
function isPermanent(error: unknown): error is PolykvError {
  return (
    isPolykvError(error) &&
    (error.code === 'INVALID_ARGUMENT' ||
      error.code === 'VALUE_TOO_LARGE' ||
      error.code === 'NOT_SUPPORTED' ||
      error.code === 'UNREPRESENTABLE' ||
      error.code === 'HELD')
  );
}

type Pending =
  { type: 'put'; value: unknown; ttl: number | undefined; flags: bigint | undefined } | { type: 'delete' };

/**
 * A running mirror; see {@link mirror}. `close()` stops it; `closed` settles when it has stopped
 * (rejecting with the error that stopped it, if any).
 */
export class Mirror extends EventEmitter<MirrorEvents> {
  readonly closed: Promise<void>;
  readonly #from: Store<unknown>;
  readonly #to: Store<unknown>;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #dropFlags: boolean;
  /** The latest wanted state of each key not yet written: a burst of changes to one key costs one write. */
  readonly #pending = new Map<string, Pending>();
  /** Keys whose latest change was reported `skipped`: a re-sync does not report them again. */
  readonly #refused = new Set<string>();
  #inFlight = 0;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #resyncing = false;
  #stopped = false;
  readonly #watcher;

  constructor(from: Store<unknown>, to: Store<unknown>, options: MirrorOptions) {
    super();
    this.#from = from;
    this.#to = to;
    this.#prefix = normalizeKey(options.prefix ?? '', { root: true, argument: 'prefix' });
    this.#concurrency = options.concurrency ?? 16;
    this.#dropFlags = options.dropFlags ?? false;
    this.#watcher = from.watch(this.#prefix, {
      recursive: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.#watcher.on('change', (event) => {
      if (event.type === 'resync') return;
      if (event.type !== 'put') this.#pending.set(event.key, { type: 'delete' });
      else {
        // The TTL rule of copy: rounded up, raised to the target's minimum; gone already: nothing to write.
        const ttl = planTtl(event.expiresAt, to);
        if (ttl === 'expired') return;
        this.#pending.set(event.key, { type: 'put', value: event.value, ttl: ttl.ttl, flags: event.flags });
      }
      this.#pump();
    });
    // The first `connected` follows the initial state: once it is written, remove what the target has extra.
    this.#watcher.once('connected', () => this.#markDirty());
    this.#watcher.on('error', (error) => {
      // Loud like a watcher: unhandled unless someone listens for `error` or awaits `closed`.
      if (this.listenerCount('error') > 0) this.closed.catch(() => undefined);
      this.emit('error', error);
    });
    this.closed = new Promise<void>((resolve, reject) => {
      this.#watcher.once('end', () => {
        this.#stopped = true;
        clearTimeout(this.#retryTimer);
        this.emit('end');
        this.#watcher.closed.then(resolve, reject);
      });
    });
  }

  /** Keys waiting to be written to the target. */
  get backlog(): number {
    return this.#pending.size + this.#inFlight;
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#watcher.close();
  }

  /** After a target failure (it may have lost data) or at start: reconcile the whole tree once writes flow. */
  #markDirty(): void {
    this.#dirty = true;
    this.#pump();
  }

  #pump(): void {
    if (this.#stopped || this.#retryTimer) return;
    while (this.#inFlight < this.#concurrency && this.#pending.size > 0) {
      const [key, wanted] = this.#pending.entries().next().value as [string, Pending];
      this.#pending.delete(key);
      this.#inFlight++;
      void this.#apply(key, wanted).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
    if (this.#dirty && this.#inFlight === 0 && this.#pending.size === 0 && !this.#resyncing)
      void this.#resync();
  }

  async #apply(key: string, wanted: Pending): Promise<void> {
    try {
      if (wanted.type === 'put') {
        const entry = { key, value: wanted.value, index: 0, createIndex: 0 };
        const flags = planFlags(
          wanted.flags === undefined ? entry : { ...entry, flags: wanted.flags },
          this.#to,
          this.#dropFlags,
        );
        if ('error' in flags) throw flags.error;
        await this.#to.set(key, wanted.value, {
          ...(wanted.ttl === undefined ? {} : { ttl: wanted.ttl }),
          ...(flags.flags === undefined ? {} : { flags: flags.flags }),
        });
      } else
        await this.#to.del(key).catch((error: unknown) => {
          if (!(isPolykvError(error) && error.code === 'IS_A_DIRECTORY')) throw error;
        });
      this.#attempt = 0;
      this.#refused.delete(key);
      this.emit(
        'applied',
        wanted.type === 'put'
          ? { type: 'put', key, value: wanted.value, index: 0, createIndex: 0 }
          : { type: 'delete', key, index: 0 },
      );
    } catch (caught) {
      const error = await this.#typeConflict(key, caught);
      if (isPermanent(error)) {
        this.#refused.add(key);
        this.emit('skipped', key, error);
        return;
      }
      // Keep the newest state: a change that arrived meanwhile supersedes this one.
      if (!this.#pending.has(key)) this.#pending.set(key, wanted);
      this.#dirty = true;
      this.emit('retry', key, error);
      this.#backOff();
    }
  }

  /**
   * A directory/value conflict on a target with typed directories (etcd, memory://) is permanent
   * when the source (Consul) has a value with children at the key or above it: that key can never
   * be carried as it is (copy names it the same way). Any other conflict is a moment of the
   * mirror's own ordering, retried.
   */
  async #typeConflict(key: string, error: unknown): Promise<unknown> {
    const conflict =
      isPolykvError(error) && (error.code === 'NOT_A_DIRECTORY' || error.code === 'IS_A_DIRECTORY');
    if (!conflict || this.#from.capabilities.typedDirectories || !this.#to.capabilities.typedDirectories)
      return error;
    try {
      const segments = key.split('/');
      for (let end = 1; end <= segments.length; end++) {
        const at = segments.slice(0, end).join('/');
        if ((await this.#from.get(at)) && (await this.#from.list(at)).length > 0)
          return valueWithChildrenError(at, this.#to);
      }
    } catch {
      // The source cannot tell now: retry like any failure.
    }
    return error;
  }

  async #resync(): Promise<void> {
    this.#resyncing = true;
    try {
      const summary = await copy(this.#from, this.#to, {
        prefix: this.#prefix,
        overwrite: true,
        concurrency: this.#concurrency,
        dropFlags: this.#dropFlags,
      });
      const { extra } = await diff(this.#from, this.#to, { prefix: this.#prefix });
      for (const key of extra) await this.#to.del(key);
      // A child of a value-with-children key the watch wrote first fails with a type conflict: as
      // permanent here as in #apply (else the re-sync would be retried for ever, never `synced`).
      const failed = await Promise.all(
        summary.failed.map(async ({ key, error }) => ({ key, error: await this.#typeConflict(key, error) })),
      );
      for (const { key, error } of failed) {
        if (!isPermanent(error) || this.#refused.has(key)) continue;
        this.#refused.add(key);
        this.emit('skipped', key, error);
      }
      const failure = failed.find(({ error }) => !isPermanent(error));
      if (failure) throw failure.error;
      this.#dirty = false;
      this.#attempt = 0;
      this.emit('synced', summary);
    } catch (error) {
      this.emit('retry', this.#prefix, error);
      this.#backOff();
    } finally {
      this.#resyncing = false;
    }
  }

  #backOff(): void {
    if (this.#stopped || this.#retryTimer) return;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#pump();
      },
      backoffDelay(this.#attempt++, 100, 5000),
    );
  }
}

/**
 * Keeps `to` equal to `from` below `prefix`: an initial copy, then every change as the source's
 * watch reports it. It survives a restart of either side: the source's watch resumes or re-syncs by
 * itself, and after any failed write the mirror reconciles the whole tree (copy + delete extras)
 * once the target answers again, so no change is lost, only superseded by a newer one.
 */
export function mirror<V>(from: Store<V>, to: Store<V>, options: MirrorOptions = {}): Mirror {
  return new Mirror(from, to, options);
}
