import assert from 'node:assert/strict';
import type { Codec } from '../../codec.js';
import { isPolykvError, type PolykvErrorCode } from '../../errors.js';
import type { Lock } from '../../lock.js';
import type { Store } from '../../store.js';
import type { WatchEvent } from '../../watch/events.js';
import type { Watcher } from '../../watch/watcher.js';

/** For `assert.rejects`: a PolykvError with this code. */
export function expectCode(code: PolykvErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(isPolykvError(error), `expected a PolykvError with code ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
    return true;
  };
}

/** The suite's test helper: fresh stores on one fresh prefix (see `runStoreConformance`). */
export type StoreTest = (
  title: string,
  fn: (open: <V = string>(codec?: Codec<V>) => Promise<Store<V>>) => Promise<void>,
  timeout?: number,
) => void;

/** What the area tests know of the suite: the backend's name and how to break its locks. */
export interface SuiteInfo {
  name: string;
  breakLock: (store: Store, lock: Lock) => Promise<void> | void;
}

/** Collects a watcher's events and waits for the ones a test expects. */
export class EventLog<V> {
  readonly events: WatchEvent<V>[] = [];
  #waiters: (() => void)[] = [];

  constructor(readonly watcher: Watcher<V>) {
    watcher.on('change', (event) => {
      this.events.push(event);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    watcher.on('error', () => undefined);
  }

  /** Resolves once `count` events that pass `filter` have arrived. */
  async waitFor(
    count: number,
    timeoutMs: number,
    filter: (event: WatchEvent<V>) => boolean = () => true,
  ): Promise<WatchEvent<V>[]> {
    const started = Date.now();
    for (;;) {
      const matching = this.events.filter(filter);
      if (matching.length >= count) return matching;
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) {
        assert.fail(
          `expected ${count} events within ${timeoutMs} ms, got ${JSON.stringify(matching, replacer)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  keyEvents(): { type: string; key: string }[] {
    return this.events
      .filter((event) => event.type !== 'resync')
      .map((event) => ({ type: event.type, key: (event as { key: string }).key }));
  }
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `<${value.length} bytes>` : value;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
