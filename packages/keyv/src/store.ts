import { EventEmitter } from 'node:events';
import { openStore, type OpenStoreOptions, type Store } from '@polykv/core';
import { namespaceDir, storeKey } from './keys.js';

/** Options of {@link KeyvPolykv}. */
export interface KeyvPolykvOptions {
  /**
   * The directory below which the adapter keeps its keys (a namespace is a directory below it).
   * Never empty: `clear()` without a namespace removes everything below it.
   * @defaultValue `'keyv'`
   */
  prefix?: string;
  /** Options for {@link openStore} when the adapter is given a URL. */
  open?: OpenStoreOptions;
}

/** A value set through {@link KeyvPolykv.setMany}. */
export interface KeyvPolykvEntry {
  /** The Keyv key (namespace-prefixed by Keyv). */
  key: string;
  /** The serialized value. */
  value: unknown;
  /** Milliseconds to live, as Keyv gives it. */
  ttl?: number;
}

/**
 * A Keyv store over any polykv store: `new Keyv({ store: new KeyvPolykv('etcd://127.0.0.1:2379') })`.
 *
 * - Values are the strings Keyv serializes (anything else is JSON-encoded first).
 * - TTLs: Keyv gives milliseconds, polykv backends take whole seconds with a minimum
 *   (`store.capabilities.minTtl`: Consul 10 s, etcd and `memory://` 1 s). The adapter rounds up
 *   to whole seconds and raises to that minimum, so the backend deletes the key at or after the
 *   Keyv expiry, never before. Keyv itself stores the exact expiry in the value and treats an
 *   expired value as missing (and deletes it), so what Keyv users see expires to the millisecond.
 * - Namespaces are directories below the adapter's prefix (see `keys.ts` for the key encoding);
 *   `clear()` deletes the current namespace's directory, or the whole prefix without a namespace.
 * - Errors of the store (a polykv `PolykvError` with its `code`) reject the call; Keyv emits them.
 */
export class KeyvPolykv extends EventEmitter {
  /** What the adapter was built with; Keyv and its test suite read and extend it. */
  opts: {
    /** The store URL the adapter opened; absent when it was given an open `Store`. */
    url?: string;
    /** The adapter's directory, without slashes at either end (see {@link KeyvPolykvOptions.prefix}). */
    prefix: string;
    /** The adapter's name for Keyv, which reads `opts.dialect` to tell adapters apart. */
    dialect: 'polykv';
    [name: string]: unknown;
  };
  /** The namespace Keyv sets (its keys arrive prefixed `<namespace>:`). */
  namespace?: string | undefined;
  readonly #store: Promise<Store>;
  readonly #owned: boolean;

  /**
   * Opens `store` when it is a URL (a failure rejects the first call), or uses the open `Store` given.
   * Throws a `TypeError` when the prefix is empty.
   * @param store - a store URL (opened with `openStore`, closed by {@link KeyvPolykv.disconnect}) or
   *   an open polykv `Store` (left open: the caller owns it)
   * @param options - see {@link KeyvPolykvOptions}
   */
  constructor(store: string | Store, options: KeyvPolykvOptions = {}) {
    super();
    const prefix = (options.prefix ?? 'keyv').replace(/^\/+|\/+$/g, '');
    if (prefix === '') throw new TypeError('KeyvPolykv: prefix must not be empty (clear() removes it)');
    this.opts = { prefix, dialect: 'polykv', ...(typeof store === 'string' ? { url: store } : {}) };
    this.#owned = typeof store === 'string';
    this.#store = typeof store === 'string' ? openStore(store, options.open) : Promise.resolve(store);
    // An open failure surfaces on the first call; this keeps it from being unhandled until then.
    this.#store.catch(() => undefined);
  }

  #key(key: string): string {
    return storeKey(this.opts.prefix, this.namespace, key);
  }

  /** Milliseconds to live → the backend's whole seconds (rounded up, at least its minimum). */
  #ttl(store: Store, ttl: number | undefined): number | undefined {
    if (ttl === undefined || !(ttl > 0) || !Number.isFinite(ttl)) return undefined;
    return Math.max(Math.ceil(ttl / 1000), store.capabilities.minTtl);
  }

  /** The value at `key`, or `undefined`. */
  async get<Value>(key: string): Promise<Value | undefined> {
    const entry = await (await this.#store).get(this.#key(key));
    return entry === null ? undefined : (entry.value as Value);
  }

  /** The values at `keys`, in order, `undefined` where missing. */
  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return Promise.all(keys.map((key) => this.get<Value>(key)));
  }

  /** Writes `value` at `key`; `ttl` in milliseconds (see the class for the rounding). */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const store = await this.#store;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const seconds = this.#ttl(store, ttl);
    await store.set(this.#key(key), text, seconds === undefined ? {} : { ttl: seconds });
    return true;
  }

  /** Writes every entry (concurrently). */
  async setMany(entries: KeyvPolykvEntry[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.set(entry.key, entry.value, entry.ttl)));
  }

  /** Deletes `key`; `true` when there was one. */
  async delete(key: string): Promise<boolean> {
    return (await this.#store).del(this.#key(key));
  }

  /** Deletes every key; `true` only when every one of them was there. */
  async deleteMany(keys: string[]): Promise<boolean> {
    const deleted = await Promise.all(keys.map((key) => this.delete(key)));
    return deleted.length > 0 && deleted.every(Boolean);
  }

  /** True when `key` holds a value. */
  async has(key: string): Promise<boolean> {
    return (await (await this.#store).get(this.#key(key))) !== null;
  }

  /** Deletes the current namespace (its directory), or everything below the prefix without one. */
  async clear(): Promise<void> {
    const dir =
      this.namespace === undefined ? this.opts.prefix : namespaceDir(this.opts.prefix, this.namespace);
    await (await this.#store).del(dir, { recursive: true });
  }

  /** Closes the store when the adapter opened it from a URL; a store passed in stays open. */
  async disconnect(): Promise<void> {
    if (this.#owned) await (await this.#store).close();
  }
}
