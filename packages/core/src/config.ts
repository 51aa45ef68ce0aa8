import { EventEmitter } from 'eventemitter3';
import { jsonCodec } from './codec.js';
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
  watch: true;
  /**
   * Changes arriving within this many ms are coalesced into one snapshot. The last change of a burst
   * is always followed by a snapshot that includes it. @defaultValue 50
   */
  debounce?: number;
}

/** Events of a {@link LiveConfig}. */
export interface LiveConfigEvents {
  /** A fresh snapshot after one or more changes. */
  change: [config: ConfigTree];
  /** The watch ended with an error; `current` keeps the last good snapshot. */
  error: [error: PolykvError];
}

/** A configuration that follows the store; see {@link loadConfig}. */
export interface LiveConfig extends EventEmitter<LiveConfigEvents> {
  /** The latest snapshot. */
  readonly current: ConfigTree;
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
 * `current` follows the store and which emits a fresh snapshot on every change (bursts coalesced).
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
  options: LoadConfigOptions & { watch?: boolean; debounce?: number } = {},
): Promise<ConfigTree | LiveConfig> {
  const base = normalizeKey(prefix, { root: true, argument: 'prefix' });
  const json = options.json ?? false;
  const call = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
  };
  if (!options.watch)
    return buildTree(await store.list(base, { ...call, recursive: true, consistent: true }), base, json);
  return startLiveConfig(store, base, json, options.debounce ?? 50, options.signal);
}

async function startLiveConfig<V>(
  store: Store<V>,
  base: string,
  json: boolean,
  debounce: number,
  signal: AbortSignal | undefined,
): Promise<LiveConfig> {
  const values = new Map<string, unknown>();
  const watcher = store.watch(base, { recursive: true, ...(signal ? { signal } : {}) });
  const emitter = new EventEmitter<LiveConfigEvents>() as EventEmitter<LiveConfigEvents> & {
    current: ConfigTree;
    close(): Promise<void>;
  };
  const snapshot = (): ConfigTree =>
    buildTree(
      [...values].map(([key, value]) => ({ key, value, index: 0, createIndex: 0 })),
      base,
      json,
    );
  let timer: NodeJS.Timeout | undefined;
  let ready: (() => void) | undefined;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const publish = (): void => {
    timer = undefined;
    emitter.current = snapshot();
    emitter.emit('change', emitter.current);
  };
  watcher.on('change', (event) => {
    if (event.type === 'put') values.set(event.key, event.value);
    else if (event.type !== 'resync') values.delete(event.key);
    if (ready) return;
    clearTimeout(timer);
    timer = setTimeout(publish, debounce);
  });
  watcher.on('connected', () => {
    // The initial state has been delivered (as `initial` puts) once the watcher reports connected.
    emitter.current = snapshot();
    ready?.();
    ready = undefined;
  });
  watcher.on('error', (error) => {
    clearTimeout(timer);
    emitter.emit('error', error);
    ready?.();
  });
  emitter.current = {};
  emitter.close = async () => {
    clearTimeout(timer);
    await watcher.close();
  };
  await readyPromise;
  return emitter;
}
