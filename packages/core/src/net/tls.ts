import type { OptionTableOf } from '../validate.js';

/** TLS settings of a native client (`https` agents, `etcds://` hosts). Verification is on unless turned off here. */
export interface TlsOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** The name to verify the server's certificate against (SNI), when it differs from the host. */
  servername?: string;
  /**
   * Verify the server's certificate. Turn off only for throw-away test servers.
   * @defaultValue true
   */
  rejectUnauthorized?: boolean;
}

/** The types of {@link TlsOptions}, for the clients' option checks. */
export const TLS_OPTIONS = {
  ca: ['string', 'object', 'array'],
  cert: ['string', 'object'],
  key: ['string', 'object'],
  passphrase: 'string',
  servername: 'string',
  rejectUnauthorized: 'boolean',
} satisfies OptionTableOf<TlsOptions>;

/** undici `connect` options (node:tls options) from {@link TlsOptions}: only what is set, verification on by default. */
export function tlsConnectOptions(tls: TlsOptions | undefined): TlsOptions | undefined {
  if (!tls) return undefined;
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}
