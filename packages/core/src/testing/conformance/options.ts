import assert from 'node:assert/strict';
import { isPolykvError } from '../../errors.js';
import type { Store } from '../../store.js';
import type { StoreTest } from './support.js';
import { STORE_OPTIONS, type OptionKind, type StoreMethod } from '../../validate.js';

/** Calls one Store method with `options` (a synchronous throw counts as a rejection). */
const CALLS: Record<StoreMethod, ((store: Store, options: object) => unknown) | undefined> = {
  get: (store, options) => store.get('opt/k', options),
  list: (store, options) => store.list('opt', options),
  set: (store, options) => store.set('opt/k', 'v', options),
  mkdir: (store, options) => store.mkdir('opt/d', options),
  compareAndSwap: (store, options) => store.compareAndSwap('opt/k', 'v', { prevExist: false }, options),
  push: (store, options) => store.push('opt/q', 'v', options),
  del: (store, options) => store.del('opt/k', options),
  compareAndDelete: (store, options) => store.compareAndDelete('opt/k', { prevIndex: 1 }, options),
  unlisted: (store, options) => store.unlisted('opt', options),
  watch: (store, options) => store.watch('opt/k', options),
  lock: (store, options) => store.lock('opt/l', { wait: 0, ...options }),
  semaphore: (store, options) => store.semaphore('opt/s', { limit: 1, wait: 0, ...options }),
  close: (store, options) => store.close(options),
  // Checked by their own tests: a held lock's release, and the optional capabilities.
  release: undefined,
  writeMany: undefined,
  foreignHolds: undefined,
  readPages: undefined,
};

/** A value of none of `kinds`. */
function wrongValue(kinds: OptionKind | readonly OptionKind[]): unknown {
  const list: readonly OptionKind[] = typeof kinds === 'string' ? [kinds] : kinds;
  if (!list.includes('string')) return 'yes';
  return Symbol('not an option value');
}

async function rejection(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    // A watch that accepted its options is a watcher: close it, it is the failure to report.
    if (
      result &&
      typeof (result as { close?: unknown }).close === 'function' &&
      !(result instanceof Promise)
    ) {
      await (result as { close(): Promise<void> }).close();
      return undefined;
    }
    await result;
    return undefined;
  } catch (error) {
    return error;
  }
}

function assertNames(error: unknown, option: string, what: string): void {
  assert.ok(
    isPolykvError(error),
    `${what}: expected INVALID_ARGUMENT naming ${option}, got ${String(error)}`,
  );
  assert.equal(error.code, 'INVALID_ARGUMENT', `${what}: ${error.message}`);
  assert.equal((error as { argument?: unknown }).argument, option, `${what}: ${error.message}`);
}

/**
 * Every row of `STORE_OPTIONS` against `store`: an unknown key and each known option with a value
 * of the wrong type reject with `INVALID_ARGUMENT` naming the option, before anything happens.
 * Closes the store last (`close` with bad options must not close it).
 */
export async function checkStoreOptions(store: Store): Promise<void> {
  for (const [method, table] of Object.entries(STORE_OPTIONS) as [
    StoreMethod,
    Record<string, OptionKind>,
  ][]) {
    const call = CALLS[method];
    if (call === undefined) continue;
    assertNames(
      await rejection(() => call(store, { bogusOption: 1 })),
      'bogusOption',
      `${method} { bogusOption }`,
    );
    for (const [option, kinds] of Object.entries(table)) {
      const what = `${method} { ${option}: wrong type }`;
      assertNames(await rejection(() => call(store, { [option]: wrongValue(kinds) })), option, what);
    }
  }
  // The store is still open and nothing was written.
  assert.equal(await store.get('opt/k'), null);
  assert.deepEqual(await store.list('opt'), []);
}

/** The cases users hit: a typo that wrote a permanent key, a string for a boolean, a value of another codec. */
export async function checkOptionMistakes(store: Store): Promise<void> {
  assertNames(await rejection(() => store.set('k', 'v', { tll: 30 } as object)), 'tll', 'set { tll: 30 }');
  assert.equal(await store.get('k'), null, 'set with a misspelled ttl wrote nothing');
  assertNames(
    await rejection(() => store.list('', { recursive: 'yes' } as object)),
    'recursive',
    "list { recursive: 'yes' }",
  );
  assertNames(
    await rejection(() =>
      store.compareAndSwap('k', 'v', { prevValue: 5 } as unknown as { prevValue: string }),
    ),
    'prevValue',
    'compareAndSwap { prevValue: 5 } on a text store',
  );
  assertNames(
    await rejection(() => store.compareAndDelete('k', { prevValue: 5 } as unknown as { prevValue: string })),
    'prevValue',
    'compareAndDelete { prevValue: 5 } on a text store',
  );
  assertNames(
    await rejection(() =>
      store.compareAndSwap('k', 'v', { prevIndex: 1, prevIdx: 2 } as unknown as { prevIndex: number }),
    ),
    'prevIdx',
    'compareAndSwap with an unknown condition key',
  );
}

/** Options: every option of every method checked, and the common mistakes refused before anything happens. */
export function optionTests(test: StoreTest): void {
  test('every option of every method: an unknown key or a wrong type is INVALID_ARGUMENT naming it', async (open) => {
    await checkStoreOptions(await open());
  });

  test('set { tll }, list { recursive: "yes" }, CAS { prevValue: 5 }: INVALID_ARGUMENT, nothing written', async (open) => {
    await checkOptionMistakes(await open());
  });
}
