import {
  UnrepresentableError,
  decodeValue,
  type Codec,
  type DirEntry,
  type Entry,
  type KeySpace,
} from '@polykv/core';
import type { EtcdNode } from '../api/keys.js';
import { BASE64_MARKER, bytesToText, decodeStored, textBytes, textToStored } from '../value-encoding.js';

/** The store's values and entries: the codec's values as the text etcd v2 holds (see value-encoding.ts). */
export class EtcdValues<V> {
  readonly #keys: KeySpace;
  readonly #codec: Codec<V>;
  readonly #binary: boolean;
  /** `binaryEncoding: 'base64'`: bytes that are not UTF-8 are stored encoded (see value-encoding.ts). */
  readonly #base64: boolean;

  constructor(keys: KeySpace, codec: Codec<V>, base64: boolean) {
    this.#keys = keys;
    this.#codec = codec;
    this.#binary = codec.binary;
    this.#base64 = base64;
  }

  /** A value as etcd v2 stores it: text. */
  encode(value: V, key: string): string {
    const raw = this.#codec.encode(value);
    if (typeof raw === 'string') return textToStored(raw, this.#base64);
    const text = bytesToText(raw, this.#base64);
    if (text === undefined) {
      throw new UnrepresentableError(
        `the value of ${JSON.stringify(key)} is not UTF-8 text (${raw.byteLength} bytes) and etcd v2 holds ` +
          `text; open the store with binaryEncoding: 'base64' (URL ?binaryEncoding=base64) to store such ` +
          `values as "${BASE64_MARKER}..." text`,
        { what: 'value', key },
      );
    }
    return text;
  }

  /** A stored text as the codec's value: the text's own bytes, never reinterpreted (but for the opt-in's marker). */
  decode(text: string | undefined, key: string): V {
    const stored = text ?? '';
    const bytes = decodeStored(stored, this.#base64);
    if (bytes !== undefined) return decodeValue(this.#codec, bytes, key);
    return decodeValue(this.#codec, this.#binary ? textBytes(stored) : stored, key);
  }

  entry(node: EtcdNode): Entry<V> {
    const key = this.#keys.fromBackend(node.key)!;
    const entry: Entry<V> = {
      key,
      value: this.decode(node.value, key),
      index: node.modifiedIndex,
      createIndex: node.createdIndex,
    };
    if (node.expiration !== undefined) entry.expiresAt = new Date(node.expiration);
    return entry;
  }

  dirEntry(node: EtcdNode): DirEntry {
    const entry: DirEntry = {
      key: this.#keys.fromBackend(node.key)!,
      dir: true,
      index: node.modifiedIndex,
      createIndex: node.createdIndex,
    };
    if (node.expiration !== undefined) entry.expiresAt = new Date(node.expiration);
    return entry;
  }
}
