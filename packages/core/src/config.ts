import { EventEmitter } from 'eventemitter3';
import { jsonCodec } from './codec.js';
import { checkDebounceWait, Debouncer, type DebounceWait } from './debounce.js';
import type { PolykvError } from './errors.js';
import { normalizeKey } from './keys.js';
import type { CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { ListEntry } from './types.js';

/** A configuration tree: directories become objects, keys become values. */
export interface ConfigTree {
  [name: string]: unknown;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions extends CallOptions {
  /**
   * Parse each value as JSON where it is JSON (`"5432"` becomes `5432`, `"{...}"` an object); other
   * text stays a string. @defaultValue false
   */
  json?: boolean;
}

/** Options of {@link loadConfig} with `watch: true`. */
export interface WatchConfigOptions extends LoadConfigOptions {
  /** Follow the store: {@link loadConfig} resolves a {@link LiveConfig} rather than one snapshot. */
  watch: true;
  /**
   * How long to wait after a change before publishing a snapshot (ms): `min` of quiet (each further
   * change starts it again), at most `max` after the burst's first change (default 4 × `min`), so
   * a burst of writes gives one snapshot, as consul-template's `wait` does. The last change of a
   * burst is always followed by a snapshot that includes it. @defaultValue `{ min: debounce }`
   */
  wait?: DebounceWait;
  /** The same as `wait: { min: debounce }` (when `wait` is not given). @defaultValue 50 */
  debounce?: number;
  /**
   * Called with each new snapshot (not the first, which `loadConfig` resolves with): the tree and
   * the flat values it was built from. Both are built at once from the state after a whole answer
   * of the store (a re-read after an outage is applied whole), never from half of one, and are
   * never changed afterwards.
   */
  onChange?: (config: ConfigTree, values: ReadonlyMap<string, unknown>) => void;
  /**
   * Called when the store cannot be reached (from the first failed attempt, also before the first
   * snapshot); the watch retries, and the last good snapshot stays `current`.
   */
  onDisconnected?: (cause: unknown) => void;
}

/** Events of a {@link LiveConfig}. */
export interface LiveConfigEvents {
  /** A fresh snapshot after one or more changes (the same call as `onChange`). */
  change: [config: ConfigTree, values: ReadonlyMap<string, unknown>];
  /** The store cannot be reached; the watch retries, `current` keeps the last good snapshot. */
  disconnected: [cause: unknown];
  /** The store answers again (after `disconnected`). */
  connected: [];
  /** The watch ended with an error; `current` keeps the last good snapshot. */
  error: [error: PolykvError];
}

/** A configuration that follows the store; see {@link loadConfig}. */
export interface LiveConfig extends EventEmitter<LiveConfigEvents> {
  /** The latest snapshot. */
  readonly current: ConfigTree;
  /** The latest snapshot's values by key (keys relative to the store, as `list` gives them). */
  readonly values: ReadonlyMap<string, unknown>;
  /** Stops the watch behind the live configuration. */
  close(): Promise<void>;
}

function decodeValue(value: unknown, json: boolean): unknown {
  if (!json || typeof value !== 'string') return value;
  return jsonCodec.decode(value);
}

/**
 * Turns `a/b/c = 1` style keys into `{ a: { b: { c: '1' } } }`. Where a path holds a value and also
 * has keys below it (possible on Consul), the directory wins. Empty directories become `{}`.
 */
export function buildTree(entries: Iterable<ListEntry<unknown>>, base: string, json: boolean): ConfigTree {
  const root: ConfigTree = {};
  const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const entry of sorted) {
    const relative = base === '' ? entry.key : entry.key.slice(base.length + 1);
    if (relative === '') continue;
    const segments = relative.split('/');
    let node = root;
    for (const segment of segments.slice(0, -1)) {
      const child = node[segment];
      if (typeof child !== 'object' || child === null || Array.isArray(child)) node[segment] = {};
      node = node[segment] as ConfigTree;
    }
    const last = segments.at(-1)!;
    if (entry.dir) {
      if (typeof node[last] !== 'object' || node[last] === null) node[last] = {};
    } else if (!(last in node) || typeof node[last] !== 'object') {
      node[last] = decodeValue(entry.value, json);
    }
  }
  return root;
}

/**
 * Reads every key below `prefix` into a plain nested object. The same data gives the same object
 * from etcd, Consul and `memory://`. With `watch: true` it resolves a {@link LiveConfig} whose
 * `current` follows the store and which emits a fresh snapshot on every change (bursts coalesced,
 * see `wait`); it resolves once the initial state is read (waiting through an outage, reported to
 * `onDisconnected`) and rejects when the watch fails for good before that.
 */
export function loadConfig<V>(
  store: Store<V>,
  prefix: string,
  options?: LoadConfigOptions & { watch?: false },
): Promise<ConfigTree>;
export function loadConfig<V>(
  store: Store<V>,
  prefix: string,
  options: WatchConfigOptions,
): Promise<LiveConfig>;
export async function loadConfig<V>(
  store: Store<V>,
  prefix: string,
  options: LoadConfigOptions & Partial<Omit<WatchConfigOptions, 'watch'>> & { watch?: boolean } = {},
): Promise<ConfigTree | LiveConfig> {
  const base = normalizeKey(prefix, { root: true, argument: 'prefix' });
  const json = options.json ?? false;
  const call = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
  };
  if (!options.watch)
    return buildTree(await store.list(base, { ...call, recursive: true, consistent: true }), base, json);
  const wait = checkDebounceWait(options.wait ?? { min: options.debounce ?? 50, max: Infinity });
  return startLiveConfig(store, base, json, wait, options);
}

class LiveConfigImpl extends EventEmitter<LiveConfigEvents> implements LiveConfig {
  current: ConfigTree = {};
  values: ReadonlyMap<string, unknown> = new Map();
  close: () => Promise<void> = () => Promise.resolve();
}

function startLiveConfig<V>(
  store: Store<V>,
  base: string,
  json: boolean,
  wait: Required<DebounceWait>,
  options: Partial<Omit<WatchConfigOptions, 'watch'>>,
): Promise<LiveConfig> {
  /** The state as the watch has delivered it; snapshots are copies. */
  const values = new Map<string, unknown>();
  const watcher = store.watch(base, {
    recursive: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const live = new LiveConfigImpl();
  const snapshot = (): void => {
    live.values = new Map(values);
    live.current = buildTree(
      [...values].map(([key, value]) => ({ key, value, index: 0, createIndex: 0 })),
      base,
      json,
    );
  };
  let ready = false;
  const debouncer = new Debouncer(() => {
    snapshot();
    options.onChange?.(live.current, live.values);
    live.emit('change', live.current, live.values);
  }, wait);
  live.close = async () => {
    debouncer.cancel();
    await watcher.close();
  };
  return new Promise<LiveConfig>((resolve, reject) => {
    watcher.on('change', (event) => {
      if (event.type === 'put') values.set(event.key, event.value);
      else if (event.type !== 'resync') values.delete(event.key);
      // A snapshot waits at least for the end of this task: a re-read's differences and its
      // `resync` come in one go, and a snapshot taken between them would be half of it.
      if (ready) debouncer.poke();
    });
    let down = false;
    watcher.on('connected', () => {
      if (!ready) {
        // The initial state has been delivered (as `initial` puts) once the watcher reports connected.
        ready = true;
        snapshot();
        resolve(live);
      } else if (down) live.emit('connected');
      down = false;
    });
    watcher.on('disconnected', (cause) => {
      down = true;
      options.onDisconnected?.(cause);
      if (ready) live.emit('disconnected', cause);
    });
    watcher.on('error', (error) => {
      debouncer.cancel();
      if (ready) live.emit('error', error);
      else reject(error);
    });
  });
}
