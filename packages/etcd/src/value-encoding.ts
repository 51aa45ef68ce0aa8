/**
 * How the etcd Store holds bytes in etcd v2, which holds text (JSON strings). Other tools (etcdctl,
 * confd, any v2 client) read and write the same text, so:
 *
 * - bytes that are UTF-8 are stored as that text, so that etcdctl sees the text, and text that
 *   any tool wrote reads back as its own UTF-8 bytes: nothing is ever reinterpreted;
 * - bytes that are not UTF-8 cannot be held as they are. Without an opt-in the store refuses them
 *   (`UNREPRESENTABLE`). With `binaryEncoding: 'base64'` it stores them as {@link BASE64_MARKER}
 *   followed by their base64, and reads such values back as the bytes. A text value that itself
 *   starts with the marker is then stored encoded too, so that every value round-trips and a
 *   reader can tell polykv's encoding from anybody's text.
 */

/** The start of a value the store encoded (only with `binaryEncoding: 'base64'`). */
export const BASE64_MARKER = 'polykv:base64:';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The stored form of encoded bytes. */
function encoded(bytes: Uint8Array): string {
  return BASE64_MARKER + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * The text etcd stores for `bytes`, or `undefined` when they are not UTF-8 and the store has not
 * opted into base64 (the caller refuses the value).
 */
export function bytesToText(bytes: Uint8Array, base64: boolean): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return base64 ? encoded(bytes) : undefined;
  }
  return base64 && text.startsWith(BASE64_MARKER) ? encoded(bytes) : text;
}

/** The text etcd stores for a text codec's string (only a string starting with the marker changes). */
export function textToStored(text: string, base64: boolean): string {
  return base64 && text.startsWith(BASE64_MARKER) ? encoded(encoder.encode(text)) : text;
}

/**
 * The bytes a stored value encodes, when the store opted into base64 and the value is the marker
 * followed by well-formed base64; otherwise `undefined` (the value is text, read as it is).
 */
export function decodeStored(text: string, base64: boolean): Uint8Array | undefined {
  if (!base64 || !text.startsWith(BASE64_MARKER)) return undefined;
  const body = text.slice(BASE64_MARKER.length);
  if (!BASE64.test(body)) return undefined;
  const bytes = Buffer.from(body, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
}

/** The UTF-8 bytes of stored text. */
export function textBytes(text: string): Uint8Array {
  return encoder.encode(text);
}
