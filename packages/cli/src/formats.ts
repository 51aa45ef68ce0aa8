import { isUtf8 } from 'node:buffer';
import { parseJsonWithBigints, textOf, toJson } from './bytes.js';
import { CliError } from './errors.js';

// The interchange formats of `dump` and `load`:
// - flat:   { "key": "text" } — for people; holds UTF-8 text only and says what it cannot hold;
// - consul: what `consul kv export` prints and `consul kv import` reads — [{ key, flags, value }],
//           value in base64; byte for byte the same text as `consul kv export` for the same data;
// - polykv: { format: "polykv", version: 1, entries } — lossless between any two stores: bytes,
//           flags, TTLs (as an expiry time) and directories (empty ones, and those with a TTL).

export type Format = 'flat' | 'consul' | 'polykv';
export const FORMATS: readonly Format[] = ['flat', 'consul', 'polykv'];

/** One key or directory of a dump, whatever the format. Keys never start or end with `/`. */
export interface Item {
  key: string;
  /** The value's bytes; absent for a directory. */
  value?: Uint8Array;
  dir?: true;
  /** Consul Flags; absent when 0. */
  flags?: bigint;
  /** When the key (or directory) expires. */
  expiresAt?: Date;
}

/** A key a format cannot hold, or an input entry polykv cannot write, with the reason. */
export interface Refusal {
  key: string;
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A string as Go's encoding/json writes it (consul kv export): `<`, `>`, `&`, U+2028/9 escaped. */
function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (
      code < 0x20 ||
      char === '<' ||
      char === '>' ||
      char === '&' ||
      code === 0x2028 ||
      code === 0x2029
    )
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/**
 * The consul format: the text `consul kv export` prints for the same keys (sorted, tab-indented).
 * Directories become Consul's folder markers (`dir/`, empty, flags 0); TTLs cannot be held.
 */
export function writeConsul(items: readonly Item[]): { text: string; refused: Refusal[] } {
  const refused: Refusal[] = [];
  const rows: string[] = [];
  const sorted = items
    .map((item) => ({ ...item, name: item.dir ? `${item.key}/` : item.key }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const item of sorted) {
    if (item.expiresAt) {
      const what = item.dir ? 'a directory with a TTL' : 'it has a TTL';
      refused.push({
        key: item.key,
        reason: `${what} (expires ${item.expiresAt.toISOString()}): consul kv import cannot hold TTLs`,
      });
      continue;
    }
    const value = Buffer.from(item.value ?? new Uint8Array(0)).toString('base64');
    rows.push(
      `\t{\n\t\t"key": ${goQuote(item.name)},\n\t\t"flags": ${item.flags ?? 0n},\n\t\t"value": ${goQuote(value)}\n\t}`,
    );
  }
  return { text: rows.length === 0 ? '[]\n' : `[\n${rows.join(',\n')}\n]\n`, refused };
}

/** The flat format: text values only; flags, bytes and TTLs it cannot hold are refused by key. */
export function writeFlat(items: readonly Item[]): { text: string; refused: Refusal[] } {
  const refused: Refusal[] = [];
  const output: Record<string, string> = {};
  for (const item of items) {
    if (item.dir) {
      if (item.expiresAt)
        refused.push({ key: item.key, reason: 'a directory with a TTL: the flat format holds text only' });
      continue;
    }
    const text = textOf(item.value!);
    const reasons = [
      ...(text === undefined ? ['the value is not UTF-8 text'] : []),
      ...(item.flags !== undefined ? [`it has flags ${item.flags}`] : []),
      ...(item.expiresAt ? [`it has a TTL (expires ${item.expiresAt.toISOString()})`] : []),
    ];
    if (reasons.length > 0)
      refused.push({ key: item.key, reason: `${reasons.join('; ')}: the flat format holds text only` });
    else output[item.key] = text!;
  }
  return { text: `${JSON.stringify(output, null, 2)}\n`, refused };
}

/** The polykv format: everything, losslessly. */
export function writePolykv(items: readonly Item[], meta: { prefix: string }): string {
  const entries = items.map((item) => {
    const entry: Record<string, unknown> = { key: item.key };
    if (item.dir) entry.dir = true;
    else {
      const text = isUtf8(item.value!) ? textOf(item.value!) : undefined;
      if (text !== undefined) entry.value = text;
      else entry.valueBase64 = Buffer.from(item.value!).toString('base64');
    }
    if (item.flags !== undefined) entry.flags = item.flags;
    if (item.expiresAt) entry.expiresAt = item.expiresAt.toISOString();
    return entry;
  });
  return `${toJson({ format: 'polykv', version: 1, prefix: meta.prefix, entries }, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Which format a parsed document is in: an array is a consul export, a tagged object polykv's. */
export function detectFormat(data: unknown): Format {
  if (Array.isArray(data)) return 'consul';
  if (typeof data === 'object' && data !== null && (data as { format?: unknown }).format === 'polykv')
    return 'polykv';
  return 'flat';
}

/** Parses a dump; flags stay exact (bigints). */
export function parseDump(text: string, where: string): unknown {
  try {
    return parseJsonWithBigints(text, ['flags']);
  } catch (cause) {
    throw new CliError('BAD_INPUT', `${where} is not JSON: ${(cause as Error).message}`);
  }
}

const bad = (message: string): CliError => new CliError('BAD_INPUT', message);

function strictBase64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
    throw bad(`${what}: the value is not base64`);
  return Buffer.from(text, 'base64');
}

/**
 * A `consul kv export` document. A key ending in `/` that is empty and flag-less is a folder marker
 * (a directory); one that holds a value or flags is a key polykv's model cannot hold: refused.
 */
export function readConsul(data: unknown): { items: Item[]; refused: Refusal[] } {
  if (!Array.isArray(data)) throw bad('a consul kv export is a JSON array');
  const items: Item[] = [];
  const refused: Refusal[] = [];
  data.forEach((raw: unknown, i) => {
    const entry = raw as { key?: unknown; flags?: unknown; value?: unknown };
    if (typeof entry !== 'object' || entry === null || typeof entry.key !== 'string')
      throw bad(`entry ${i} of the consul kv export has no "key"`);
    const flags = entry.flags === undefined ? 0n : entry.flags;
    if (typeof flags !== 'bigint' || flags > 0xffff_ffff_ffff_ffffn)
      throw bad(`${entry.key}: "flags" must be a whole number 0..2^64-1`);
    if (entry.value !== undefined && typeof entry.value !== 'string')
      throw bad(`${entry.key}: "value" must be a base64 string`);
    const value = strictBase64(entry.value ?? '', entry.key);
    if (entry.key.endsWith('/')) {
      if (value.length === 0 && flags === 0n) items.push({ key: entry.key.replace(/\/+$/, ''), dir: true });
      else
        refused.push({
          key: entry.key,
          reason: "a key ending in / that holds a value or flags: polykv's key model cannot hold it",
        });
      return;
    }
    items.push({ key: entry.key, value, ...(flags !== 0n ? { flags } : {}) });
  });
  return { items, refused };
}

/** A polykv document (version 1). */
export function readPolykv(data: unknown): Item[] {
  const document = data as { version?: unknown; entries?: unknown };
  if (document.version !== 1)
    throw bad(`a polykv dump of version ${JSON.stringify(document.version)}: this polykv reads version 1`);
  if (!Array.isArray(document.entries)) throw bad('a polykv dump has an "entries" array');
  return document.entries.map((raw: unknown, i): Item => {
    const entry = raw as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null || typeof entry.key !== 'string')
      throw bad(`entry ${i} of the polykv dump has no "key"`);
    const key = entry.key;
    const item: Item = { key };
    if (entry.dir === true) item.dir = true;
    else if (typeof entry.value === 'string') item.value = Buffer.from(entry.value, 'utf8');
    else if (typeof entry.valueBase64 === 'string') item.value = strictBase64(entry.valueBase64, key);
    else throw bad(`${key}: an entry has "value", "valueBase64" or "dir": true`);
    if (entry.flags !== undefined) {
      if (typeof entry.flags !== 'bigint' || entry.flags > 0xffff_ffff_ffff_ffffn)
        throw bad(`${key}: "flags" must be a whole number 0..2^64-1`);
      if (entry.flags !== 0n) item.flags = entry.flags;
    }
    if (entry.expiresAt !== undefined) {
      const at = typeof entry.expiresAt === 'string' ? new Date(entry.expiresAt) : undefined;
      if (!at || Number.isNaN(at.getTime())) throw bad(`${key}: "expiresAt" must be an ISO date`);
      item.expiresAt = at;
    } else if (entry.ttl !== undefined) {
      // Hand-written files may give seconds from now instead.
      const ttl = typeof entry.ttl === 'bigint' ? Number(entry.ttl) : entry.ttl;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)
        throw bad(`${key}: "ttl" must be a whole number of seconds >= 1`);
      item.expiresAt = new Date(Date.now() + ttl * 1000);
    }
    return item;
  });
}

/**
 * Flattens a JSON object into `key → text` pairs: nested objects become `/`-joined paths, strings
 * stay as they are, and any other value (number, boolean, null, array) is stored as its JSON text.
 */
export function flatten(data: Record<string, unknown>, base = ''): [key: string, value: string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(data)) {
    const key = base === '' ? name : `${base}/${name}`;
    if (typeof value === 'string') pairs.push([key, value]);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      pairs.push(...flatten(value as Record<string, unknown>, key));
    else pairs.push([key, typeof value === 'bigint' ? String(value) : JSON.stringify(value)]);
  }
  return pairs;
}

/** A flat (or nested) `{ key: value }` document. */
export function readFlat(data: unknown): Item[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw bad('the input must be a JSON object { "key": "value", ... }');
  return flatten(data as Record<string, unknown>).map(([key, value]) => ({
    key,
    value: Buffer.from(value, 'utf8'),
  }));
}
