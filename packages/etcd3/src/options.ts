import { optionProblem, type OptionTable, type OptionTableOf } from '@polykv/core';
import { Etcd3Error } from './errors.js';

/** Options every public method of the native v3 client ends with. */
export interface Etcd3CallOptions {
  /** Aborts the call: it rejects with `ETCD3_ABORTED`, whose `cause` is `signal.reason`. */
  signal?: AbortSignal;
  /** Milliseconds for the whole call, failover and retries included; then `ETCD3_TIMEOUT`. */
  timeout?: number;
  /**
   * Extra rounds over the host list (with capped, jittered backoff) when every host failed with a
   * retryable error, e.g. during a leader election.
   * @defaultValue the client's `maxRetries`
   */
  maxRetries?: number;
}

/** TLS settings (`https://` hosts). Verification is on unless turned off here. */
export interface Etcd3TlsOptions {
  /**
   * CA certificates (PEM) to trust instead of Node's default list: for a server certificate from a
   * private CA.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** A client certificate (etcd's `--client-cert-auth`). */
  cert?: string | Buffer;
  /** The private key (PEM) of `cert`. */
  key?: string | Buffer;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
  /** @defaultValue true */
  rejectUnauthorized?: boolean;
  /** The name to check the server certificate against, when it differs from the host. */
  servername?: string;
}

/** Options of {@link Etcd3Client}. Resolved once, in the constructor. */
export interface Etcd3ClientOptions {
  /** `'h1:2379'`, `'http://h1:2379'`, `'https://h1:2379'`, or a list. @defaultValue `'127.0.0.1:2379'` */
  hosts?: string | string[];
  /**
   * TLS settings. When given, hosts written without a scheme use `https://`; an explicit `http://`
   * host stays plain.
   */
  tls?: Etcd3TlsOptions;
  /**
   * etcd's own auth: the client authenticates (`Auth/Authenticate`) before its first call and
   * again whenever etcd says the token is no longer valid (simple tokens expire after
   * `--auth-token-ttl`, 5 minutes, of not being used).
   */
  auth?: {
    /** The etcd user to authenticate as. */
    username: string;
    /** That user's password; only `Auth/Authenticate` carries it, other calls carry the token. */
    password: string;
  };
  /** Default milliseconds for a whole call (failover included). Never applies to watch streams. @defaultValue none */
  timeout?: number;
  /** Milliseconds one attempt on one host may take before the host counts as hung. @defaultValue 10000 */
  attemptTimeout?: number;
  /** @defaultValue 3000 */
  connectTimeout?: number;
  /** @defaultValue 3 */
  maxRetries?: number;
  /** @defaultValue 100 */
  backoffMs?: number;
  /** @defaultValue 2000 */
  maxBackoffMs?: number;
  /** Try hosts in the order given instead of shuffling them once. @defaultValue false */
  deterministicOrder?: boolean;
  /** Source of randomness for the shuffle and the jitter. @defaultValue Math.random */
  random?: () => number;
  /**
   * Milliseconds between HTTP/2 pings on a connection that carries a watch or keep-alive stream;
   * a connection whose ping is not answered within `attemptTimeout` is dropped (and its streams
   * fail), so a half-open connection cannot hide a dead member. `0`: no pings.
   * @defaultValue 30000
   */
  pingIntervalMs?: number;
}

/** The resolved, frozen form of {@link Etcd3ClientOptions}. */
export interface ResolvedEtcd3Options {
  /** The hosts as origins (`http://h1:2379`), without duplicates, in the order given. */
  readonly hosts: readonly string[];
  /** Default milliseconds for a whole call, failover included; 0: none. */
  readonly timeout: number;
  /**
   * Milliseconds one attempt on one host may take, and the wait for a ping's answer; 0: no limit per
   * attempt (pings then wait 10 s).
   */
  readonly attemptTimeout: number;
  /** Milliseconds to open the HTTP/2 connection to a host; past it the attempt fails as not sent. */
  readonly connectTimeout: number;
  /**
   * Extra rounds over the host list when every host failed with a retryable error; a call's own
   * `maxRetries` wins.
   */
  readonly maxRetries: number;
  /**
   * Milliseconds of backoff before the first extra round; doubled each round (up to `maxBackoffMs`),
   * then jittered to between half and all of it.
   */
  readonly backoffMs: number;
  /** Cap, in milliseconds, of the backoff between rounds. */
  readonly maxBackoffMs: number;
  /** True: hosts are tried in the order given; false: shuffled once. */
  readonly deterministicOrder: boolean;
  /** Source of randomness for the shuffle and the jitter. */
  readonly random: () => number;
  /** Milliseconds between HTTP/2 pings on a connection while it carries a watch stream; 0: no pings. */
  readonly pingIntervalMs: number;
  /** The credentials to authenticate with; `undefined`: calls carry no token. */
  readonly auth:
    | Readonly<{
        /** The etcd user to authenticate as. */
        username: string;
        /** That user's password; only `Auth/Authenticate` carries it, other calls carry the token. */
        password: string;
      }>
    | undefined;
  /** A frozen copy of the TLS settings; `undefined` when none were given. */
  readonly tls: Readonly<Etcd3TlsOptions> | undefined;
}

export const DEFAULTS = Object.freeze({
  host: '127.0.0.1:2379',
  timeout: 0,
  attemptTimeout: 10_000,
  connectTimeout: 3000,
  maxRetries: 3,
  backoffMs: 100,
  maxBackoffMs: 2000,
  pingIntervalMs: 30_000,
});

function invalid(message: string, cause?: unknown): Etcd3Error {
  return new Etcd3Error({ code: 'ETCD3_INVALID_ARGUMENT', message, cause });
}

/** `h1:2379` → `http://h1:2379` (`https://` with `tls`); keeps an explicit scheme; drops a trailing slash. */
export function normalizeHost(host: unknown, tls = false): string {
  if (typeof host !== 'string') throw invalid(`an etcd host must be a string, got ${typeof host}`);
  let text = host.trim();
  if (!/^https?:\/\//i.test(text)) text = `${tls ? 'https' : 'http'}://${text}`;
  while (text.endsWith('/')) text = text.slice(0, -1);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw invalid(
      `etcd host ${JSON.stringify(host.replace(/\/\/[^@/]*@/, '//***@'))} is not a host or URL`,
      cause,
    );
  }
  if (url.username || url.password) throw invalid('put credentials in the auth option, not in a host');
  if (url.pathname !== '/' || url.search !== '')
    throw invalid(`etcd host ${url.origin}${url.pathname} has a path`);
  return `${url.protocol}//${url.host}`;
}

function whole(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw invalid(`${name} must be a number >= 0`);
  return value;
}

/** Every option of {@link Etcd3ClientOptions}, for the unknown-option check. */
export const ETCD3_CLIENT_OPTIONS = {
  hosts: ['string', 'array'],
  tls: 'object',
  auth: 'object',
  timeout: 'number',
  attemptTimeout: 'number',
  connectTimeout: 'number',
  maxRetries: 'number',
  backoffMs: 'number',
  maxBackoffMs: 'number',
  deterministicOrder: 'boolean',
  random: 'function',
  pingIntervalMs: 'number',
} satisfies OptionTableOf<Etcd3ClientOptions>;

const NESTED: Record<string, OptionTable> = {
  tls: {
    ca: ['string', 'object', 'array'],
    cert: ['string', 'object'],
    key: ['string', 'object'],
    passphrase: 'string',
    rejectUnauthorized: 'boolean',
    servername: 'string',
  } satisfies OptionTableOf<Etcd3TlsOptions>,
  auth: { username: 'string', password: 'string' },
};

/** Throws `ETCD3_INVALID_ARGUMENT` naming the option when `options` (or a nested bag) does not fit. */
function checkClientOptions(options: Record<string, unknown>, table: OptionTable, what: string): void {
  const problem = optionProblem(options, table, what);
  if (problem) throw invalid(problem.message);
  for (const [name, nested] of Object.entries(NESTED)) {
    const value = options[name];
    if (typeof value !== 'object' || value === null) continue;
    const inner = optionProblem(value, nested, what, `${name}.`);
    if (inner) throw invalid(inner.message);
  }
}

/** The client options with every default filled in and every host normalized. */
export function resolveOptions(options: Etcd3ClientOptions): ResolvedEtcd3Options {
  checkClientOptions(options as Record<string, unknown>, ETCD3_CLIENT_OPTIONS, 'Etcd3Client');
  const given =
    options.hosts === undefined
      ? [DEFAULTS.host]
      : Array.isArray(options.hosts)
        ? options.hosts
        : [options.hosts];
  const hosts = [...new Set(given.map((host) => normalizeHost(host, options.tls !== undefined)))];
  if (hosts.length === 0) throw invalid('no etcd host given');
  const auth = options.auth;
  if (auth !== undefined && (typeof auth.username !== 'string' || typeof auth.password !== 'string'))
    throw invalid('auth needs a username and a password');
  return Object.freeze({
    hosts: Object.freeze(hosts),
    timeout: whole('timeout', options.timeout, DEFAULTS.timeout),
    attemptTimeout: whole('attemptTimeout', options.attemptTimeout, DEFAULTS.attemptTimeout),
    connectTimeout: whole('connectTimeout', options.connectTimeout, DEFAULTS.connectTimeout),
    maxRetries: whole('maxRetries', options.maxRetries, DEFAULTS.maxRetries),
    backoffMs: whole('backoffMs', options.backoffMs, DEFAULTS.backoffMs),
    maxBackoffMs: whole('maxBackoffMs', options.maxBackoffMs, DEFAULTS.maxBackoffMs),
    deterministicOrder: options.deterministicOrder ?? false,
    random: options.random ?? Math.random,
    pingIntervalMs: whole('pingIntervalMs', options.pingIntervalMs, DEFAULTS.pingIntervalMs),
    auth: auth ? Object.freeze({ username: auth.username, password: auth.password }) : undefined,
    tls: options.tls ? Object.freeze({ ...options.tls }) : undefined,
  });
}
