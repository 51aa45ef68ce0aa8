import { randomBytes } from 'node:crypto';
import * as nodeTest from 'node:test';
import type { Codec } from '../../codec.js';
import type { Lock } from '../../lock.js';
import type { Store } from '../../store.js';
import { cancellationTests } from './cancellation.js';
import { casTests } from './cas.js';
import { directoryTests } from './directories.js';
import { fidelityTests } from './fidelity.js';
import { keyTests } from './keys.js';
import { lockTests } from './locks.js';
import { optionTests } from './options.js';
import { pushTests } from './push.js';
import { semaphoreTests } from './semaphores.js';
import { ttlTests } from './ttl.js';
import { watchTests } from './watch.js';

/** Makes a store scoped to `prefix`; called several times with one prefix for multi-client tests. */
export type MakeStore = <V = string>(context: {
  prefix: string;
  codec?: Codec<V>;
}) => Store<V> | Promise<Store<V>>;

/** The test functions the suite registers with; node:test's by default. */
export interface TestApi {
  /** The test runner's `describe`: a group of tests. */
  describe: (name: string, fn: () => void) => unknown;
  /** The test runner's `it` (or `test`): one test with a timeout. */
  it: (name: string, options: { timeout?: number }, fn: () => Promise<void>) => unknown;
}

/** Options of {@link runStoreConformance}. */
export interface ConformanceOptions {
  /**
   * Makes the backend drop a held lock behind its holder's back (delete its node, destroy its
   * session). Without it the lost-lock case is reported as not covered by failing loudly, so give it.
   */
  breakLock: (store: Store, lock: Lock) => Promise<void> | void;
  /** The test functions to register with. @defaultValue node:test */
  test?: TestApi;
  /** Extra time per test for slow backends (ms). @defaultValue 0 */
  slack?: number;
}

const PREFIX_ROOT = 'conformance';

/**
 * Registers the Store conformance suite: every sentence of the `Store` contract, the edge cases of
 * the key model, and the store scenarios users of the peer libraries lost data to (watches that
 * skip or repeat events, CAS and TTL edge cases, locks). Run it against your own adapter too:
 *
 * ```ts
 * import { runStoreConformance } from '@polykv/core/testing';
 * runStoreConformance('my-store', ({ prefix, codec }) => createMyStore({ prefix, codec }), { breakLock });
 * ```
 *
 * Each test gets its own random prefix under `conformance/`, so a shared server is fine.
 */
export function runStoreConformance(name: string, makeStore: MakeStore, options: ConformanceOptions): void {
  const { describe, it } = options.test ?? nodeTest;
  const slack = options.slack ?? 0;

  /** A test with fresh stores on one fresh prefix; every store it opens is closed afterwards. */
  const test = (
    title: string,
    fn: (open: <V = string>(codec?: Codec<V>) => Promise<Store<V>>) => Promise<void>,
    timeout = 10_000,
  ): void => {
    it(title, { timeout: timeout + slack }, async () => {
      const prefix = `${PREFIX_ROOT}/${randomBytes(6).toString('hex')}`;
      const opened: Store<unknown>[] = [];
      const open = async <V = string>(codec?: Codec<V>): Promise<Store<V>> => {
        const store = await makeStore<V>({ prefix, ...(codec ? { codec } : {}) });
        opened.push(store);
        return store;
      };
      try {
        await fn(open);
      } finally {
        const cleaner = opened[0];
        if (cleaner) await cleaner.del('', { recursive: true }).catch(() => undefined);
        await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
      }
    });
  };

  const suite = { name, breakLock: options.breakLock };
  describe(`Store conformance: ${name}`, () => {
    describe('keys and values', () => keyTests(test));
    describe('directories and list', () => directoryTests(test));
    describe('compare-and-swap and compare-and-delete', () => casTests(test));
    describe('TTL', () => ttlTests(test));
    describe('push (in-order keys)', () => pushTests(test));
    describe('watch', () => watchTests(test));
    describe('locks', () => lockTests(test, suite));
    describe('semaphores', () => semaphoreTests(test));
    describe('fidelity with data other tools wrote', () => fidelityTests(test));
    describe('options', () => optionTests(test));
    describe('cancellation and close', () => cancellationTests(test));
  });
}
