/**
 * What a watcher has delivered: key → the index of its last `put`, for the differences of a resync.
 * One key is kept in two fields and a Map is made only once a second key shows up: a watch on one
 * key never knows more, and a one-entry Map per watcher is about 0.15 KB of S6's (bench/) 3 KB heap
 * per idle watcher.
 */
export class KnownKeys {
  #map: Map<string, number> | undefined = undefined;
  #key: string | undefined = undefined;
  #index = 0;

  /** A key's latest index, or `undefined` for a key not known. */
  get(key: string): number | undefined {
    if (this.#map) return this.#map.get(key);
    return key === this.#key ? this.#index : undefined;
  }

  /** Records a key's latest index. */
  set(key: string, index: number): void {
    if (this.#map) this.#map.set(key, index);
    else if (this.#key === undefined || this.#key === key) {
      this.#key = key;
      this.#index = index;
    } else this.map().set(key, index);
  }

  /** Forgets a key (it was deleted). */
  delete(key: string): void {
    if (this.#map) this.#map.delete(key);
    else if (key === this.#key) this.#key = undefined;
  }

  /** A copy of the keys (safe to change the set while going through it). */
  keys(): string[] {
    if (this.#map) return [...this.#map.keys()];
    return this.#key === undefined ? [] : [this.#key];
  }

  /** The keys as a Map (made on first use; from then on the only store). */
  map(): Map<string, number> {
    if (this.#map === undefined) {
      this.#map = new Map();
      if (this.#key !== undefined) this.#map.set(this.#key, this.#index);
      this.#key = undefined;
    }
    return this.#map;
  }
}
