/**
 * Connection failures that prove the request never left this process: nothing reached a server, so
 * the request is safe to send to another one (also a write that must not be replayed).
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Where a failed request got. */
export type Delivery =
  /** The server answered with a final error (a status below 500). */
  | 'answer'
  /** The connection failed before any byte of the request left: safe to send elsewhere. */
  | 'not-sent'
  /** It may have reached the server (a reset after sending, a 5xx, a timeout, a bad answer). */
  | 'sent';

/** The first string `code` on `error` or down its `cause` chain (`ECONNREFUSED`, `UND_ERR_...`). */
export function errorCode(error: unknown): string | undefined {
  for (let at = error, depth = 0; at !== null && typeof at === 'object' && depth < 8; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (at as { cause?: unknown }).cause;
    if (cause === at) break;
    at = cause;
  }
  return undefined;
}

/** A TLS handshake failure: it happens before any byte of the request is sent. */
export function isTlsError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'EPROTO'
  );
}

/**
 * Classifies a failed request for failover: both native clients decide with it whether a request
 * may go to the next server. `statusCode` is the server's status when it answered.
 */
export function classify(error: unknown, statusCode?: number): Delivery {
  if (statusCode !== undefined) return statusCode >= 500 ? 'sent' : 'answer';
  const code = errorCode(error);
  if (code === undefined) return 'sent';
  return NOT_SENT.has(code) || isTlsError(code) ? 'not-sent' : 'sent';
}
