import { InvalidArgumentError } from './errors.js';

/**
 * Turns a store's values into what the backend stores. Text codecs (`binary: false`) produce
 * strings, which every backend stores as UTF-8; the binary codec produces bytes, which Consul and
 * `memory://` store as they are and etcd (whose v2 API only holds text) stores as base64.
 */
export interface Codec<V> {
  readonly name: string;
  /** True when `encode` yields bytes rather than text. */
  readonly binary: boolean;
  /** @throws InvalidArgumentError when the value cannot be encoded. */
  encode(value: V): string | Uint8Array;
  /** Receives text or bytes, whichever the backend holds (bytes for binary codecs). */
  decode(raw: string | Uint8Array): V;
}

const decoder = new TextDecoder();

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
    return typeof raw === 'string' ? raw : decoder.decode(raw);
  },
};

/** `Uint8Array` values, round-tripped byte for byte. */
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

/** Any JSON value, stored as its JSON text. A stored value that is not JSON decodes as a string. */
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
    const text = typeof raw === 'string' ? raw : decoder.decode(raw);
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
