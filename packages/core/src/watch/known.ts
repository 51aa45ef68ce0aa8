/**
 * A string-keyed map for what one watch keeps per key: one key is kept in two fields and a Map is
 * made only once a second key shows up. A watch on one key never knows more, and a one-entry Map
 * per watcher is 0.15–0.3 KB of S6's (bench/) 3 KB heap per idle watcher.
 */
export class SmallMap<V> {
  #map: Map<string, V> | undefined;
  #key: string | undefined = undefined;
  #value: V | undefined = undefined;

  /** Empty, or over `map` (taken as is: it becomes this one's only store). */
  constructor(map?: Map<string, V>) {
    this.#map = map;
  }

  /** How many keys it holds. */
  get size(): number {
    if (this.#map) return this.#map.size;
    return this.#key === undefined ? 0 : 1;
  }

  /** A key's value, or `undefined` for a key not held. */
  get(key: string): V | undefined {
    if (this.#map) return this.#map.get(key);
    return key === this.#key ? this.#value : undefined;
  }

  /** Whether a key is held. */
  has(key: string): boolean {
    if (this.#map) return this.#map.has(key);
    return key === this.#key;
  }

  /** Sets a key's value. */
  set(key: string, value: V): void {
    if (this.#map) this.#map.set(key, value);
    else if (this.#key === undefined || this.#key === key) {
      this.#key = key;
      this.#value = value;
    } else this.map().set(key, value);
  }

  /** Forgets a key. */
  delete(key: string): void {
    if (this.#map) this.#map.delete(key);
    else if (key === this.#key) {
      this.#key = undefined;
      this.#value = undefined;
    }
  }

  /** The keys, live: not to be changed while going through them (see `KnownKeys.keys` for a copy). */
  keys(): Iterable<string> {
    if (this.#map) return this.#map.keys();
    return this.#key === undefined ? [] : [this.#key];
  }

  /** The entries, live (as {@link SmallMap.keys}). */
  entries(): Iterable<[string, V]> {
    if (this.#map) return this.#map.entries();
    return this.#key === undefined ? [] : [[this.#key, this.#value as V]];
  }

  /** The keys as a Map (made on first use; from then on the only store). */
  map(): Map<string, V> {
    if (this.#map === undefined) {
      this.#map = new Map();
      if (this.#key !== undefined) this.#map.set(this.#key, this.#value as V);
      this.#key = undefined;
      this.#value = undefined;
    }
    return this.#map;
  }
}

/** What a watcher has delivered: key → the index of its last `put`, for the differences of a resync. */
export class KnownKeys extends SmallMap<number> {
  /** A copy of the keys (safe to change the set while going through it). */
  override keys(): string[] {
    return [...super.keys()];
  }
}
