import { ClosedError, InvalidArgumentError, NotSupportedError } from './errors.js';
import type { KeySpace } from './keys.js';
import { throwIfAborted, type CallOptions } from './signal.js';
import type {
  DeleteCondition,
  DelOptions,
  GetOptions,
  ListOptions,
  LockOptions,
  PageOptions,
  SemaphoreOptions,
  SetOptions,
  SwapCondition,
  WatchOptions,
} from './types.js';

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

/** The type an option must have; a list for any of several. */
export type OptionKind =
  'boolean' | 'number' | 'string' | 'bigint' | 'object' | 'array' | 'function' | 'signal' | 'null' | 'any';

/** The options a call knows, each with its type(s). */
export type OptionTable = Readonly<Record<string, OptionKind | readonly OptionKind[]>>;

/**
 * A table for the options interface `T`: every key of `T` must have a row (so that an option added
 * to the interface and forgotten here fails to compile), and more rows are allowed.
 */
export type OptionTableOf<T> = {
  readonly [K in keyof Required<T>]-?: OptionKind | readonly OptionKind[];
} & OptionTable;

/** What is wrong with an options bag: the option, and a sentence naming it. */
export interface OptionProblem {
  /** The option at fault, with its path when nested (`tls.ca`); `options` when the bag is not an object. */
  option: string;
  /** A sentence for an error message: what is wrong, with a hint when the name is one typo away. */
  message: string;
}

function kindMatches(value: unknown, kind: OptionKind): boolean {
  switch (kind) {
    case 'any':
      return true;
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'signal':
      return value instanceof AbortSignal;
    default:
      return typeof value === kind;
  }
}

function kindsMatch(value: unknown, kind: OptionKind | readonly OptionKind[]): boolean {
  if (typeof kind === 'string') return kindMatches(value, kind);
  for (const one of kind) if (kindMatches(value, one)) return true;
  return false;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** The known option one edit (or a swap of two neighbours) away from `name`, for a hint. */
function nearest(name: string, known: readonly string[]): string | undefined {
  const close = (a: string, b: string): boolean => {
    if (Math.abs(a.length - b.length) > 1 || a === b) return false;
    if (a.length === b.length) {
      const diff = [...a].flatMap((char, i) => (char === b[i] ? [] : [i]));
      return (
        diff.length === 1 ||
        (diff.length === 2 &&
          diff[1] === diff[0]! + 1 &&
          a[diff[0]!] === b[diff[1]] &&
          a[diff[1]] === b[diff[0]!])
      );
    }
    const [short, long] = a.length < b.length ? [a, b] : [b, a];
    for (let i = 0; i < long.length; i++) if (long.slice(0, i) + long.slice(i + 1) === short) return true;
    return false;
  };
  return known.find((candidate) => close(name.toLowerCase(), candidate.toLowerCase()));
}

/**
 * What is wrong with `options` against `table` (an unknown key, or a value of the wrong type;
 * `undefined` values are fine), or `undefined`. For the native clients, which throw their own
 * error class; the Store uses {@link checkOptions}.
 */
export function optionProblem(
  options: unknown,
  table: OptionTable,
  what: string,
  prefix = '',
): OptionProblem | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object' || Array.isArray(options)) {
    const option = prefix === '' ? 'options' : prefix.slice(0, -1);
    return { option, message: `${what}: ${option} must be an object, got ${typeOf(options)}` };
  }
  // Every Store call checks its options here: a `for...in` and plain loops, not `Object.keys`, an
  // array per option and a closure per check (about 0.2 KB of garbage per call, bench S6's
  // `heap-s6.mjs --allocations`). `for...in` also lists inherited keys: skipped, as `Object.keys` does.
  for (const key in options) {
    if (!Object.hasOwn(options, key)) continue;
    const name = prefix === '' ? key : prefix + key;
    const kind = Object.hasOwn(table, key) ? table[key] : undefined;
    if (kind === undefined) {
      const known = Object.keys(table).map((option) => prefix + option);
      const hint = nearest(name, known);
      return {
        option: name,
        message: `${what}: unknown option ${JSON.stringify(name)}${hint ? ` (did you mean ${hint}?)` : ''}; known: ${known.join(', ')}`,
      };
    }
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (!kindsMatch(value, kind)) {
      const kinds: readonly OptionKind[] = typeof kind === 'string' ? [kind] : kind;
      return {
        option: name,
        message: `${what}: option ${name} must be ${kinds.map((one) => (one === 'signal' ? 'an AbortSignal' : one)).join(' or ')}, got ${typeOf(value)}`,
      };
    }
  }
  return undefined;
}

const CALL = {
  /** An `AbortSignal`: {@link CallOptions.signal}. */
  signal: 'signal',
  /** A number of milliseconds: {@link CallOptions.timeout}. */
  timeout: 'number',
} satisfies OptionTableOf<CallOptions>;
// `flags` (a uint64 stored with the value) is known to every store; backends without flags refuse it by name.
const WRITE = {
  ...CALL,
  /** A number of seconds: {@link SetOptions.ttl}. */
  ttl: 'number',
  /** A number or a bigint: {@link SetOptions.flags}. */
  flags: ['number', 'bigint'],
} satisfies OptionTableOf<SetOptions>;

/**
 * The options each Store method knows (the `Store` contract's option types as data). Unknown keys
 * and wrong types are `INVALID_ARGUMENT` naming the option, on every backend. The conformance suite
 * checks every row against every store.
 */
export const STORE_OPTIONS = Object.freeze({
  /** `Store.get`. */
  get: {
    ...CALL,
    /** A boolean: {@link GetOptions.consistent}. */
    consistent: 'boolean',
  } satisfies OptionTableOf<GetOptions>,
  /** `Store.list`. */
  list: {
    ...CALL,
    /** A boolean: {@link GetOptions.consistent}. */
    consistent: 'boolean',
    /** A boolean: {@link ListOptions.recursive}. */
    recursive: 'boolean',
  } satisfies OptionTableOf<ListOptions>,
  /** `Store.set`. */
  set: WRITE,
  /** `Store.mkdir` (which ignores `flags`). */
  mkdir: WRITE,
  /** `Store.compareAndSwap`. */
  compareAndSwap: WRITE,
  /** `Store.push`. */
  push: WRITE,
  /** `Store.del`. */
  del: {
    ...CALL,
    /** A boolean: {@link DelOptions.recursive}. */
    recursive: 'boolean',
  } satisfies OptionTableOf<DelOptions>,
  /** `Store.compareAndDelete`. */
  compareAndDelete: CALL,
  /** `Store.unlisted`. */
  unlisted: CALL,
  /** The optional `HoldReporter.foreignHolds`. */
  foreignHolds: CALL,
  /** The optional `PagedReader.readPages`. */
  readPages: {
    ...CALL,
    /** A boolean: {@link GetOptions.consistent}. */
    consistent: 'boolean',
    /** A number: {@link PageOptions.concurrency}. */
    concurrency: 'number',
  } satisfies OptionTableOf<PageOptions>,
  /** `Store.watch`. */
  watch: {
    ...CALL,
    /** A boolean: {@link WatchOptions.recursive}. */
    recursive: 'boolean',
    /** A number, an index >= 0: {@link WatchOptions.fromIndex}. */
    fromIndex: 'number',
    /** A boolean: {@link WatchOptions.initial}. */
    initial: 'boolean',
  } satisfies OptionTableOf<WatchOptions>,
  /** `Store.lock`. */
  lock: {
    ...CALL,
    /** A number of seconds: {@link LockOptions.ttl}. */
    ttl: 'number',
    /** A number of milliseconds (`Infinity` allowed): {@link LockOptions.wait}. */
    wait: 'number',
  } satisfies OptionTableOf<LockOptions>,
  /** `Store.semaphore`. */
  semaphore: {
    ...CALL,
    /** A number of seconds: {@link LockOptions.ttl}. */
    ttl: 'number',
    /** A number of milliseconds (`Infinity` allowed): {@link LockOptions.wait}. */
    wait: 'number',
    /** A number, an integer >= 1: {@link SemaphoreOptions.limit}. */
    limit: 'number',
  } satisfies OptionTableOf<SemaphoreOptions>,
  /** `Store.close`. */
  close: CALL,
  /** `Lock.release`. */
  release: CALL,
  /** The optional `BulkWriter.writeMany`. */
  writeMany: CALL,
} satisfies Record<string, OptionTable>);

/** A Store method with an options bag. */
export type StoreMethod = keyof typeof STORE_OPTIONS;

/** Throws `INVALID_ARGUMENT` naming the option when `options` does not fit `table`. */
export function checkOptionTable(options: unknown, table: OptionTable, what: string, prefix = ''): void {
  const problem = optionProblem(options, table, what, prefix);
  if (problem) throw new InvalidArgumentError(problem.option, problem.message);
}

/**
 * Checks the common options bag (`signal`, `timeout`) and that it is an object at all; with
 * `method`, also every other option of that Store method (unknown keys, types: {@link STORE_OPTIONS}).
 */
export function checkOptions<T extends CallOptions>(options: T | undefined, method?: StoreMethod): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object') throw new InvalidArgumentError('options', 'options must be an object');
  if (method !== undefined) checkOptionTable(options, STORE_OPTIONS[method], method);
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

/** A compare-and-swap condition after checking: which one of the three kinds it is. */
export type CheckedSwap<V> =
  | {
      /** `{ prevExist: false }`: create only; the key must not exist. */
      kind: 'prevExist';
    }
  | {
      /** `{ prevValue }`: compare with the key's value. */
      kind: 'prevValue';
      /** The value the key must hold, as the caller gave it (not encoded). */
      prevValue: V;
    }
  | {
      /** `{ prevIndex }`: compare with the index of the key's last change. */
      kind: 'prevIndex';
      /** The index the key's last change must have: a whole number >= 0. */
      prevIndex: number;
    };

const CONDITION: OptionTable = { prevValue: 'any', prevIndex: 'any', prevExist: 'any' };

/**
 * Checks that a CAS condition has exactly one of its forms; with `codec`, that a `prevValue` is a
 * value of the store (so that a wrong type is `INVALID_ARGUMENT` before anything is read, on every
 * backend).
 */
export function checkSwapCondition<V>(
  condition: SwapCondition<V> | DeleteCondition<V>,
  codec?: { encode(value: V): unknown },
): CheckedSwap<V> {
  if (typeof condition !== 'object' || condition === null) {
    throw new InvalidArgumentError(
      'condition',
      'condition must be { prevValue }, { prevIndex } or { prevExist: false }',
    );
  }
  checkOptionTable(condition, CONDITION, 'condition');
  if (codec !== undefined && 'prevValue' in condition) {
    try {
      codec.encode(condition.prevValue);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new InvalidArgumentError('prevValue', `prevValue is not a value of this store: ${message}`, {
        cause,
      });
    }
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
 * The start of every Store call: checks the options bag (against `method`'s row of
 * {@link STORE_OPTIONS}), then rejects when the store is closed or the caller's signal has already
 * fired.
 */
export function beginCall<T extends CallOptions>(
  options: T | undefined,
  closed: boolean,
  method?: StoreMethod,
): T {
  const checked = checkOptions(options, method);
  if (closed) throw new ClosedError();
  throwIfAborted(checked.signal);
  return checked;
}

/** What a Store watch starts from: its checked options with their defaults, and its key. */
export interface WatchStart {
  /** The backend path (the store's prefix for its root). */
  path: string;
  /** The user key the watcher reports. */
  key: string;
  /** {@link WatchOptions.recursive}, `false` when not given. */
  recursive: boolean;
  /** {@link WatchOptions.fromIndex}, checked; `undefined` to start from the current state. */
  fromIndex: number | undefined;
  /** {@link WatchOptions.initial}, `true` when not given. */
  initial: boolean;
  /** The caller's signal, which ends the watch; `undefined` when none. */
  signal: AbortSignal | undefined;
}

/**
 * The start of every `Store.watch`: checks the options bag, throws on a closed store (at once:
 * `watch` returns the watcher), maps the key (the store's root allowed) and checks `fromIndex`.
 */
export function beginWatch(
  options: WatchOptions | undefined,
  closed: boolean,
  keys: KeySpace,
  key: string,
): WatchStart {
  const { recursive = false, fromIndex, initial = true, signal } = checkOptions(options, 'watch');
  if (closed) throw new ClosedError();
  const path = keys.toBackend(key, { root: true });
  const userKey = keys.fromBackend(path)!;
  if (fromIndex !== undefined) checkIndex(fromIndex, 'fromIndex');
  return { path, key: userKey, recursive, fromIndex, initial, signal };
}

/** Checks a semaphore's `limit`: an integer >= 1. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(
      'limit',
      `limit must be an integer >= 1, got ${typeof limit === 'number' ? limit : typeof limit}`,
    );
  }
  return limit;
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
