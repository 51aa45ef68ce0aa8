import type { OptionTableOf } from '../validate.js';

/** TLS settings of a native client (`https` agents, `etcds://` hosts). Verification is on unless turned off here. */
export interface TlsOptions {
  /** The certificate authorities to trust instead of Node's default ones: PEM text, a `Buffer`, or a list. */
  ca?: string | Buffer | (string | Buffer)[];
  /** The client certificate (PEM), for servers that ask for one (mutual TLS); goes with `key`. */
  cert?: string | Buffer;
  /** The private key of `cert` (PEM). */
  key?: string | Buffer;
  /** The passphrase of an encrypted `key`. */
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
  /** A string, a `Buffer` or a list of them: {@link TlsOptions.ca}. */
  ca: ['string', 'object', 'array'],
  /** A string or a `Buffer`: {@link TlsOptions.cert}. */
  cert: ['string', 'object'],
  /** A string or a `Buffer`: {@link TlsOptions.key}. */
  key: ['string', 'object'],
  /** A string: {@link TlsOptions.passphrase}. */
  passphrase: 'string',
  /** A string: {@link TlsOptions.servername}. */
  servername: 'string',
  /** A boolean: {@link TlsOptions.rejectUnauthorized}. */
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
