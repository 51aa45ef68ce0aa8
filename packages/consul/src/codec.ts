import { ConsulError } from './errors.js';

/** Consul's default `kv_max_value_size` and `txn_max_req_len`: 512 KiB. */
export const KV_MAX_VALUE_SIZE = 524_288;

/** Consul's limit of operations in one transaction. */
export const TXN_MAX_OPS = 64;

const encoder = new TextEncoder();
const ASCII = /^[\x00-\x7f]*$/;
const decoder = new TextDecoder();

/** A value as Consul stores it: strings are sent as UTF-8. */
export type ConsulValue = string | Uint8Array;

/** The bytes of a value (strings as UTF-8). */
export function valueBytes(value: ConsulValue): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** Encodes a value as the base64 that Consul's JSON bodies (txn, events) carry. */
export function encodeBase64(value: ConsulValue): string {
  // Text goes straight from the string to base64 (Node's own UTF-8 encoder, no TextEncoder array).
  if (typeof value === 'string') {
    // Short ASCII text (the common value) is its own UTF-8: btoa skips the Buffer (about 3x cheaper).
    if (value.length <= 1024 && ASCII.test(value)) return btoa(value);
    return Buffer.from(value, 'utf8').toString('base64');
  }
  const bytes = value;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes a base64 `Value`/`Payload` field; `null` (an empty value) stays `null`. */
export function decodeBase64(value: string | null | undefined): Uint8Array | null {
  if (value === null || value === undefined) return null;
  // Decoded straight into a Uint8Array of its own (not a Buffer: callers compare and keep plain
  // Uint8Arrays, and a small Buffer would be a view into Node's shared pool), without a second copy.
  const bytes = new Uint8Array(Buffer.byteLength(value, 'base64'));
  const written = Buffer.from(bytes.buffer, 0, bytes.byteLength).write(value, 'base64');
  return written === bytes.byteLength ? bytes : bytes.slice(0, written);
}

/** The UTF-8 text of a decoded value (`null` for no value). */
export function decodeText(value: Uint8Array | null | undefined): string | null {
  return value === null || value === undefined ? null : decoder.decode(value);
}

/** Rejects a value larger than Consul accepts, before anything is sent. */
export function checkValueSize(bytes: Uint8Array, what: string, limit = KV_MAX_VALUE_SIZE): void {
  if (bytes.byteLength > limit) {
    throw new ConsulError(
      'CONSUL_TOO_LARGE',
      `${what}: the value is ${bytes.byteLength} bytes, Consul accepts at most ${limit}`,
    );
  }
}

// `"Flags": 18446744073709551615` as a JSON number loses precision in JSON.parse: quote the digits
// first. Only a `"Flags"` member right after `{` or `,` matches, never text inside a string value
// (Consul escapes quotes inside strings, and values are base64).
const FLAGS_NUMBER = /([{,]\s*"Flags"\s*:\s*)(\d+)/g;

/**
 * Parses a Consul JSON body keeping every `Flags` (a uint64) exact: they come back as `bigint`.
 */
export function parseWithFlags(text: string): unknown {
  // The common case has no flag past 2^53 (15 digits are always exact): a plain parse and a walk
  // are several times cheaper than a regex rewrite plus a reviver called for every value.
  if (!BIG_FLAGS.test(text)) return flagsToBigint(JSON.parse(text));
  return JSON.parse(text.replace(FLAGS_NUMBER, '$1"$2"'), (key, value: unknown) =>
    key === 'Flags' && typeof value === 'string' ? BigInt(value) : value,
  );
}

const BIG_FLAGS = /"Flags"\s*:\s*\d{16}/;

/**
 * Parses a body whose only `Flags` are those of KV entries the caller converts itself with
 * {@link toFlags} (KV reads, transaction results): a plain `JSON.parse`, no walk over the result,
 * unless a flag is past 2^53 (then the lossless {@link parseWithFlags}, whose bigints pass through).
 */
export function parseKvJson(text: string): unknown {
  return BIG_FLAGS.test(text) ? parseWithFlags(text) : JSON.parse(text);
}

/** A KV entry's `Flags` as parsed (a number, a bigint, or absent) as the exact `bigint`. */
export function toFlags(flags: number | bigint | undefined): bigint {
  if (typeof flags === 'bigint') return flags;
  return flags === undefined || flags === 0 ? 0n : BigInt(flags);
}

function flagsToBigint(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const item of value) flagsToBigint(item);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const member = record[key];
      if (key === 'Flags' && typeof member === 'number') record[key] = BigInt(member);
      else if (typeof member === 'object' && member !== null) flagsToBigint(member);
    }
  }
  return value;
}

/** Checks a uint64 flag value. */
export function checkFlags(flags: number | bigint): bigint {
  const value = typeof flags === 'bigint' ? flags : Number.isSafeInteger(flags) ? BigInt(flags) : -1n;
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', `flags must be a uint64, got ${String(flags)}`);
  }
  return value;
}

const BIGINT_MARK = '\u0000bigint:';
const BIGINT_STRING = /"\\u0000bigint:(\d+)"/g;

/** JSON.stringify that writes `bigint` values (uint64 `Flags`) as exact JSON numbers. */
export function stringifyWithBigInt(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? `${BIGINT_MARK}${item.toString()}` : item,
  ).replace(BIGINT_STRING, '$1');
}

/** Escapes each segment of a key or ID path, keeping the `/` between segments. */
export function escapePath(value: string): string {
  // Most keys hold only characters encodeURIComponent keeps: nothing to split, escape or join.
  if (PLAIN_PATH.test(value)) return value;
  return value.split('/').map(encodeURIComponent).join('/');
}

/** Characters `encodeURIComponent` leaves as they are, plus the `/` between segments. */
const PLAIN_PATH = /^[\w\-.!~*'()/]*$/;

/** Formats a duration for Consul (`wait`, `TTL`): numbers are ms; strings pass through. */
export function formatDuration(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value) || value < 0) {
    throw new ConsulError(
      'CONSUL_INVALID_ARGUMENT',
      `a duration must be a finite number of ms >= 0, got ${value}`,
    );
  }
  // Consul rounds sub-millisecond waits down to zero, which means "no wait": round up instead.
  return `${Math.ceil(value)}ms`;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
/**
 * The last duration string parsed and its ms: a watch's `wait` is parsed again every round (a
 * match iterator and its arrays each time, bench/heap-s6.mjs --allocations), and is the same string.
 */
let lastDuration = '';
let lastDurationMs = 0;

/** Parses a Consul duration string (`'1m30s'`, `'250ms'`) or ms number into ms. */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === lastDuration && value !== '') return lastDurationMs;
  let total = 0;
  let matched = '';
  for (const match of value.matchAll(DURATION)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    matched += match[0];
  }
  if (matched !== value || value === '') {
    throw new ConsulError('CONSUL_INVALID_ARGUMENT', `not a Consul duration: ${JSON.stringify(value)}`);
  }
  lastDuration = value;
  lastDurationMs = total;
  return total;
}
