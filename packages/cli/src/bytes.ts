import { isUtf8 } from 'node:buffer';
import { isPolykvError, type ListEntry, type Store } from '@polykv/core';

// The CLI opens every store with `binaryCodec`: values are bytes from the store to stdout and from
// files and stdin to the store, never decoded on the way. Text is only made where a human or a JSON
// document needs it, and only from bytes that are UTF-8; anything else goes as base64, by name.

/** A store as the CLI opens it: values are the stored bytes. */
export type ByteStore = Store<Uint8Array>;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` when they are UTF-8, else undefined (never U+FFFD in place of a byte). */
export function textOf(bytes: Uint8Array): string | undefined {
  if (!isUtf8(bytes)) return undefined;
  return strictUtf8.decode(bytes);
}

/** `{ value }` when the bytes are UTF-8 text, else `{ valueBase64 }`: the JSON form of a value. */
export function valueFields(bytes: Uint8Array): { value: string } | { valueBase64: string } {
  const text = textOf(bytes);
  return text !== undefined ? { value: text } : { valueBase64: Buffer.from(bytes).toString('base64') };
}

/**
 * Consul's Flags of an entry or put event, when not 0 (the library leaves them out when 0 and hides
 * its own TTL stamp).
 */
export function flagsOf(entry: { flags?: bigint }): bigint | undefined {
  return entry.flags !== undefined && entry.flags !== 0n ? entry.flags : undefined;
}

const BIGINT_MARK = '\u0000polykv-bigint:';

/**
 * `JSON.stringify` that writes bigints as exact JSON numbers (Consul's Flags go up to 2^64-1, past
 * what a double holds; `consul kv export` writes them as plain numbers too).
 */
export function toJson(value: unknown, indent?: string | number): string {
  const text = JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === 'bigint' ? `${BIGINT_MARK}${item}` : item),
    indent,
  );
  return text.replace(/"\\u0000polykv-bigint:(\d+)"/g, '$1');
}

/**
 * `JSON.parse` that keeps the named numeric members exact as bigints (JSON numbers are doubles).
 * Only a member name followed by `:` outside a string can match: inside a JSON string every `"` is
 * escaped.
 */
export function parseJsonWithBigints(text: string, members: readonly string[]): unknown {
  const names = members.map((name) => name.replace(/[^\w]/g, '')).join('|');
  const quoted = text.replace(
    new RegExp(`"(${names})"(\\s*):(\\s*)(\\d+)(?=\\s*[,}\\]])`, 'g'),
    // The mark's NUL is written as JSON's escape: a raw control character is not valid JSON.
    `"$1"$2:$3"\\u0000polykv-bigint:$4"`,
  );
  return JSON.parse(quoted, (_key, item: unknown) =>
    typeof item === 'string' && item.startsWith(BIGINT_MARK) && /^\d+$/.test(item.slice(BIGINT_MARK.length))
      ? BigInt(item.slice(BIGINT_MARK.length))
      : item,
  );
}

/** An entry as the CLI prints it with --json: the value as text or base64, flags when set. */
export function entryJson(entry: ListEntry<Uint8Array>): Record<string, unknown> {
  if (entry.dir) return { ...entry };
  const { value, ...rest } = entry;
  const flags = flagsOf(entry);
  const out: Record<string, unknown> = { ...rest, ...valueFields(value) };
  if (flags !== undefined) out.flags = flags;
  else delete out.flags;
  return out;
}

/** One line for an error in a list of keys: `CODE: message`. */
export function describeError(error: unknown): string {
  if (isPolykvError(error)) return `${error.code}: ${error.message.split('\n')[0]}`;
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** `n thing` or `n things`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
