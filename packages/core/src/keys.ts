import { InvalidArgumentError } from './errors.js';

/**
 * The portable key model, the same on every backend:
 * - keys are `/`-separated paths of non-empty segments;
 * - one leading and one trailing `/` are ignored: `/a/b/` is the key `a/b`;
 * - a segment may hold any printable Unicode text (spaces, `%`, `?`, `#`, emoji), not control or
 *   format characters (such as U+200D), other spaces (U+00A0) or unassigned code points, and may not
 *   be `.` or `..`; empty segments (`a//b`) are rejected, never collapsed;
 * - a key is at most {@link MAX_KEY_BYTES} bytes of UTF-8;
 * - the first segment `.polykv` is reserved for the library's own bookkeeping (locks) and never
 *   shows up in `list` or `watch`;
 * - the empty key `''` (or `/`) is the root: valid for `list`, `watch` and recursive `del`.
 *
 * Backends escape each segment on the wire, so a key means the same bytes on etcd, Consul and
 * `memory://`.
 */
export const MAX_KEY_BYTES = 4096;

/** The first segment reserved for the library's own keys. */
export const RESERVED_SEGMENT = '.polykv';

/**
 * Printable characters only (letters, marks, numbers, punctuation, symbols and the ASCII space), the
 * same set on every backend: Consul answers 400 to a request path holding anything else (Go's
 * `unicode.IsPrint`): control characters, format characters such as the zero-width joiner inside
 * some emoji, other spaces (U+00A0), line separators, private-use and unassigned code points.
 */
const NOT_PRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;

function describe(key: string): string {
  const shown = key.length > 60 ? `${key.slice(0, 57)}...` : key;
  return JSON.stringify(shown);
}

/**
 * Validates and normalizes a user key. `root: true` admits the empty key (the store's root).
 * @throws InvalidArgumentError naming what is wrong with the key.
 */
export function normalizeKey(key: unknown, options: { root?: boolean; argument?: string } = {}): string {
  const argument = options.argument ?? 'key';
  if (typeof key !== 'string') {
    throw new InvalidArgumentError(argument, `${argument} must be a string, got ${typeof key}`);
  }
  let path = key;
  if (path.startsWith('/')) path = path.slice(1);
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') {
    if (options.root) return '';
    throw new InvalidArgumentError(argument, `${argument} must not be empty`);
  }
  if (!path.isWellFormed()) {
    throw new InvalidArgumentError(argument, `${argument} ${describe(key)} has a lone UTF-16 surrogate`);
  }
  const unprintable = NOT_PRINTABLE.exec(path);
  if (unprintable) {
    const codePoint = unprintable[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidArgumentError(
      argument,
      `${argument} ${describe(key)} contains a character that is not printable (U+${codePoint})`,
    );
  }
  if (Buffer.byteLength(path) > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(argument, `${argument} is longer than ${MAX_KEY_BYTES} bytes`);
  }
  // Segment by segment with indexOf, not `split`: every Store call checks its key here, and the
  // array and the segment strings were garbage of each (bench/heap-s6.mjs --allocations).
  for (let start = 0; ;) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    if (end === start) {
      throw new InvalidArgumentError(argument, `${argument} ${describe(key)} has an empty segment ("//")`);
    }
    if (path[start] === '.' && (end === start + 1 || (end === start + 2 && path[start + 1] === '.'))) {
      const segment = path.slice(start, end);
      throw new InvalidArgumentError(argument, `${argument} ${describe(key)} has a "${segment}" segment`);
    }
    if (slash === -1) break;
    start = slash + 1;
  }
  if (path === RESERVED_SEGMENT || path.startsWith(`${RESERVED_SEGMENT}/`)) {
    throw new InvalidArgumentError(
      argument,
      `${argument} ${describe(key)} is in the reserved ${RESERVED_SEGMENT}/ space`,
    );
  }
  return path;
}

/** True when a key relative to the store lies in the reserved `.polykv/` space. */
export function isReservedKey(relativeKey: string): boolean {
  return relativeKey === RESERVED_SEGMENT || relativeKey.startsWith(`${RESERVED_SEGMENT}/`);
}

/** Joins normalized paths, skipping empty ones. */
export function joinKey(...parts: string[]): string {
  // A loop, not filter and join: every Store call joins its key to the store's prefix.
  let joined = '';
  for (const part of parts) if (part !== '') joined = joined === '' ? part : `${joined}/${part}`;
  return joined;
}

/** The parent path of a normalized key (`''` for a top-level key). */
export function parentKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash);
}

/**
 * Every path that has something below it among `keys` (`a/b/c` gives `a` and `a/b`): one pass,
 * so that "is this directory empty?" and "has this value children?" cost a lookup each, not a scan
 * of every key (a scan per directory took a minute for 100,000 keys in 11,111 directories).
 * Adds to `parents` when given, so that a streamed read can collect them page by page.
 */
export function parentPaths(keys: Iterable<string>, parents = new Set<string>()): Set<string> {
  for (const key of keys) {
    for (let at = key.lastIndexOf('/'); at > 0; at = key.lastIndexOf('/', at - 1)) {
      const parent = key.slice(0, at);
      // Its own parents were added with it.
      if (parents.has(parent)) break;
      parents.add(parent);
    }
  }
  return parents;
}

/**
 * Orders keys segment by segment, as a tree walk would: `a/b/c` before `a/b-x` (`/` ends a
 * segment, so it sorts before any character), a key before the keys below it. Compares in place:
 * listings sort every page with it, and splitting both keys at each comparison allocated 93 MB of
 * arrays and strings in bench S8's Consul → etcd copy (then in pages of 1,000 keys).
 */
export function compareKeyPaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // The segment that ends here is a prefix of the other one: it comes first.
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

const SLASH = 0x2f;

/** The last segment of a normalized key. */
export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/**
 * A store's view of the backend's key space: every user key lives under `prefix`, and nothing a
 * caller passes can leave it (`..` and empty segments are rejected before joining).
 */
export class KeySpace {
  /** The normalized prefix, without slashes at either end; `''` for none. */
  readonly prefix: string;

  /**
   * `prefix`: slashes at either end are dropped; `''` or `/` for none. A prefix that is not a valid
   * path throws `INVALID_ARGUMENT`.
   */
  constructor(prefix = '') {
    this.prefix = prefix === '' || prefix === '/' ? '' : normalizePrefix(prefix);
  }

  /** User key → backend path (no leading slash). `root: true` admits `''` (the prefix itself). */
  toBackend(key: unknown, options: { root?: boolean; argument?: string } = {}): string {
    return joinKey(this.prefix, normalizeKey(key, options));
  }

  /** The backend path of a reserved (library-owned) key. */
  reserved(...parts: string[]): string {
    return joinKey(this.prefix, RESERVED_SEGMENT, ...parts);
  }

  /** Backend path → user key, or `undefined` when the path lies outside the prefix. */
  fromBackend(path: string): string | undefined {
    let trimmed = path.startsWith('/') ? path.slice(1) : path;
    if (trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
    if (this.prefix === '') return trimmed;
    if (trimmed === this.prefix) return '';
    if (trimmed.startsWith(`${this.prefix}/`)) return trimmed.slice(this.prefix.length + 1);
    return undefined;
  }
}

function normalizePrefix(prefix: string): string {
  // The prefix may itself name reserved space only through the library, so validate it as a root-able key.
  let path = prefix.startsWith('/') ? prefix.slice(1) : prefix;
  if (path.endsWith('/')) path = path.slice(0, -1);
  const segments = path.split('/');
  if (
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    NOT_PRINTABLE.test(path)
  ) {
    throw new InvalidArgumentError('prefix', `prefix ${describe(prefix)} is not a valid path`);
  }
  return path;
}

// Non-empty segments of printable ASCII: the common key, checked without the Unicode regex and
// the split of `normalizeKey` (list runs this for every key).
const PLAIN = /^[\x20-\x2e\x30-\x7e]+(?:\/[\x20-\x2e\x30-\x7e]+)*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * What is wrong with a key a backend holds (relative to the store's prefix, verbatim, without a
 * directory marker's final `/`) as a key of the model, or `undefined` when nothing is: for the
 * stores' `unlisted`, which names the keys `list` leaves out.
 */
export function keyProblem(relative: string): string | undefined {
  if (relative.length <= MAX_KEY_BYTES && PLAIN.test(relative) && !DOT_SEGMENT.test(relative))
    return undefined;
  try {
    normalizeKey(relative);
    // normalizeKey ignores one leading and one trailing slash; a stored key cannot drop them.
    if (relative.startsWith('/') || relative.endsWith('/')) return 'the key starts or ends with "/"';
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^key /, 'the key ');
  }
}
