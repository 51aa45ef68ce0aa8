/**
 * What an error may keep of a server's answer. Servers and proxies send anything in an error body:
 * a whole 10 MB page, or the request's headers echoed back (credentials included). The native
 * clients' request functions pass every piece of a response they put into an error through here.
 *
 * @module
 */

/** The most characters of a response body an error keeps (4 KiB). */
export const ERROR_BODY_LIMIT = 4096;

/**
 * How much of an error answer is read at most (64 KiB): enough for any JSON error to parse (etcd's
 * carry the key), while a huge body is cut off instead of held in memory.
 */
export const ERROR_READ_LIMIT = 64 * 1024;

/** What stands in for a secret. */
export const REDACTED = '[redacted]';

/**
 * `text` without any of `secrets` (each also in its URL-encoded form), cut to `limit` characters.
 * Secrets are replaced before the cut, so that one at the edge cannot survive in part.
 */
export function keepText(text: string, secrets: readonly string[], limit = ERROR_BODY_LIMIT): string {
  let longest = 0;
  for (const secret of secrets) longest = Math.max(longest, secret.length * 3);
  let kept = text.length > limit + longest ? text.slice(0, limit + longest) : text;
  for (const secret of secrets) {
    if (secret === '') continue;
    kept = kept.replaceAll(secret, REDACTED);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) kept = kept.replaceAll(encoded, REDACTED);
  }
  return kept.length > limit ? kept.slice(0, limit) : kept;
}

/**
 * Reads a response body as text, but at most `maxBytes` of it: the rest is not read (the stream is
 * destroyed, so its connection is not reused).
 */
export async function readCapped(
  body: AsyncIterable<Uint8Array | string>,
  maxBytes = ERROR_READ_LIMIT,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(bytes);
    size += bytes.byteLength;
    // Leaving the loop early destroys the stream.
    if (size >= maxBytes) break;
  }
  const all = Buffer.concat(chunks);
  return (all.byteLength > maxBytes ? all.subarray(0, maxBytes) : all).toString('utf8');
}

/**
 * An error of `JSON.parse` (whose message quotes the text) as a new error whose message went
 * through `keep` (e.g. `keepText` with the caller's secrets).
 */
export function safeParseError(error: unknown, keep: (text: string) => string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new SyntaxError(keep(message));
}
