import { InvalidArgumentError, UnrepresentableError, isPolykvError } from './errors.js';

/**
 * Turns a store's values into what the backend stores. Text codecs (`binary: false`) produce
 * strings, which every backend stores as UTF-8, and read bytes only when they are UTF-8 (anything
 * else rejects with `UNREPRESENTABLE`, never a U+FFFD); the binary codec produces bytes, which
 * Consul and `memory://` store as they are and etcd v2 (which holds text) stores as their UTF-8
 * text, refusing other bytes unless the etcd store opted into base64.
 */
export interface Codec<V> {
  /** A short name for messages: `'utf8'`, `'binary'` and `'json'` for the built-in codecs. */
  readonly name: string;
  /** True when `encode` yields bytes rather than text. */
  readonly binary: boolean;
  /** @throws InvalidArgumentError when the value cannot be encoded. */
  encode(value: V): string | Uint8Array;
  /** Receives text or bytes, whichever the backend holds (bytes for binary codecs). */
  decode(raw: string | Uint8Array): V;
}

// Strict: bytes that are not UTF-8 throw instead of turning into U+FFFD (a silent change).
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text of `raw`; `UnrepresentableError` (without a key) when the bytes are not UTF-8. */
function strictText(raw: string | Uint8Array, codec: string): string {
  if (typeof raw === 'string') return raw;
  try {
    return decoder.decode(raw);
  } catch (cause) {
    throw new UnrepresentableError(
      `the value is not UTF-8 text (${raw.byteLength} bytes), so the ${codec} codec cannot read it; ` +
        'open the store with binaryCodec to read its bytes',
      { what: 'value', cause },
    );
  }
}

/**
 * `codec.decode(raw)` for the value of `key`: a codec's `UNREPRESENTABLE` (it knows no key) is
 * thrown again with the key. Stores decode every value they read through this.
 */
export function decodeValue<V>(codec: Codec<V>, raw: string | Uint8Array, key: string): V {
  try {
    return codec.decode(raw);
  } catch (error) {
    if (isPolykvError(error) && error.code === 'UNREPRESENTABLE' && error.key === undefined) {
      throw new UnrepresentableError(`${key}: ${error.message}`, {
        what: (error as UnrepresentableError).what,
        key,
        cause: error,
      });
    }
    throw error;
  }
}

/** Strings stored as UTF-8. The default codec. */
export const utf8Codec: Codec<string> = {
  name: 'utf8',
  binary: false,
  encode(value) {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(
        'value',
        `value must be a string with the utf8 codec, got ${typeof value}`,
      );
    }
    if (!value.isWellFormed()) {
      throw new InvalidArgumentError(
        'value',
        'value has a lone UTF-16 surrogate and cannot be stored as UTF-8',
      );
    }
    return value;
  },
  decode(raw) {
    return strictText(raw, 'utf8');
  },
};

/**
 * `Uint8Array` values, round-tripped byte for byte. Text a backend holds (etcd v2) reads as its own
 * UTF-8 bytes; this codec never reinterprets text (no base64 decoding).
 */
export const binaryCodec: Codec<Uint8Array> = {
  name: 'binary',
  binary: true,
  encode(value) {
    if (!(value instanceof Uint8Array)) {
      throw new InvalidArgumentError('value', 'value must be a Uint8Array with the binary codec');
    }
    return value;
  },
  decode(raw) {
    return typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  },
};

/**
 * Any JSON value, stored as its JSON text. A stored value that is UTF-8 text but not JSON decodes as
 * a string; bytes that are not UTF-8 reject with `UNREPRESENTABLE`.
 */
export const jsonCodec: Codec<unknown> = {
  name: 'json',
  binary: false,
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new InvalidArgumentError('value', 'value cannot be serialized as JSON', { cause });
    }
    if (text === undefined)
      throw new InvalidArgumentError('value', 'value has no JSON form (undefined or a function)');
    return text;
  },
  decode(raw) {
    const text = strictText(raw, 'json');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Keys written by other tools (etcdctl, consul kv put) are often plain text; hand them over as is.
      return text;
    }
  },
};

/** True when two encoded values hold the same bytes. */
export function sameRaw(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.compare(left, right) === 0;
}
