import { ClosedError, InvalidArgumentError, NotSupportedError } from './errors.js';
import { throwIfAborted, type CallOptions } from './signal.js';
import type { DeleteCondition, SwapCondition } from './types.js';

/** The largest TTL any backend is asked for: 2^31 - 1 seconds (about 68 years). */
export const MAX_TTL_SECONDS = 2 ** 31 - 1;

/** Checks a TTL in seconds: a whole number from `minTtl` to {@link MAX_TTL_SECONDS}. */
export function checkTtl(ttl: unknown, minTtl = 1, argument = 'ttl'): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0) {
    throw new InvalidArgumentError(
      argument,
      `${argument} must be a positive whole number of seconds, got ${typeof ttl === 'number' ? ttl : typeof ttl}`,
    );
  }
  if (ttl > MAX_TTL_SECONDS) throw new InvalidArgumentError(argument, `${argument} ${ttl} s is too large`);
  if (ttl < minTtl) {
    throw new InvalidArgumentError(
      argument,
      `${argument} ${ttl} s is below this backend's minimum of ${minTtl} s`,
    );
  }
  return ttl;
}

/** Checks the common options bag (`signal`, `timeout`) and that it is an object at all. */
export function checkOptions<T extends CallOptions>(options: T | undefined): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object') throw new InvalidArgumentError('options', 'options must be an object');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal', 'signal must be an AbortSignal');
  }
  if (options.timeout !== undefined && (typeof options.timeout !== 'number' || !(options.timeout >= 0))) {
    throw new InvalidArgumentError('timeout', 'timeout must be a number of milliseconds >= 0');
  }
  return options;
}

/** Checks a modification index given as a condition or a watch start. */
export function checkIndex(index: unknown, argument: string): number {
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    throw new InvalidArgumentError(argument, `${argument} must be a whole number >= 0, got ${String(index)}`);
  }
  return index;
}

export type CheckedSwap<V> =
  { kind: 'prevExist' } | { kind: 'prevValue'; prevValue: V } | { kind: 'prevIndex'; prevIndex: number };

/** Checks that a CAS condition has exactly one of its forms. */
export function checkSwapCondition<V>(condition: SwapCondition<V> | DeleteCondition<V>): CheckedSwap<V> {
  if (typeof condition !== 'object' || condition === null) {
    throw new InvalidArgumentError(
      'condition',
      'condition must be { prevValue }, { prevIndex } or { prevExist: false }',
    );
  }
  const forms = ['prevExist', 'prevValue', 'prevIndex'].filter((name) => name in condition);
  if (forms.length !== 1) {
    throw new InvalidArgumentError(
      'condition',
      `condition needs exactly one of prevValue, prevIndex, prevExist; got ${forms.length}`,
    );
  }
  if ('prevExist' in condition) {
    if (condition.prevExist !== false)
      throw new InvalidArgumentError('prevExist', 'prevExist may only be false (create)');
    return { kind: 'prevExist' };
  }
  if ('prevIndex' in condition)
    return { kind: 'prevIndex', prevIndex: checkIndex(condition.prevIndex, 'prevIndex') };
  return { kind: 'prevValue', prevValue: condition.prevValue };
}

/**
 * The start of every Store call: checks the options bag, then rejects when the store is closed or
 * the caller's signal has already fired.
 */
export function beginCall<T extends CallOptions>(options: T | undefined, closed: boolean): T {
  const checked = checkOptions(options);
  if (closed) throw new ClosedError();
  throwIfAborted(checked.signal);
  return checked;
}

/** Checks a lock's `wait`: milliseconds >= 0, `Infinity` allowed. */
export function checkWait(wait: unknown): number {
  if (wait === undefined) return Infinity;
  if (typeof wait !== 'number' || Number.isNaN(wait) || wait < 0) {
    throw new InvalidArgumentError(
      'wait',
      `wait must be a number of milliseconds >= 0, got ${typeof wait === 'number' ? wait : typeof wait}`,
    );
  }
  return wait;
}

const MAX_FLAGS = (1n << 64n) - 1n;

/**
 * Checks `SetOptions.flags`: a whole number from 0 to 2^64 - 1 (a `number` only up to 2^53 - 1, a
 * `bigint` for more). Resolves `0n` when absent.
 */
export function checkFlags(flags: unknown): bigint {
  if (flags === undefined) return 0n;
  if (typeof flags === 'number' && Number.isSafeInteger(flags) && flags >= 0) return BigInt(flags);
  if (typeof flags === 'bigint' && flags >= 0n && flags <= MAX_FLAGS) return flags;
  throw new InvalidArgumentError(
    'flags',
    `flags must be a whole number from 0 to 2^64 - 1 (a bigint past 2^53), got ${
      typeof flags === 'number' || typeof flags === 'bigint' ? String(flags) : typeof flags
    }`,
  );
}

/** For backends without `capabilities.flags`: non-zero flags reject with `NOT_SUPPORTED`, before anything is written. */
export function checkNoFlags(flags: unknown, key: string, backend: string): void {
  if (checkFlags(flags) !== 0n)
    throw new NotSupportedError(`${backend} keys have no flags: cannot write flags on ${key}`, { key });
}
