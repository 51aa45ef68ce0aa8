import { readFileSync } from 'node:fs';
import { parseStoreUrl, type OpenStoreOptions } from '@polykv/core';
import { CliError, UsageError } from './errors.js';

/**
 * What the CLI takes from the environment. This file is the only one in polykv that reads
 * environment variables: the libraries take everything as options. Besides its own POLYKV_*, the CLI
 * reads the variables `consul` and `etcdctl` users already have set, with the meaning those tools
 * give them.
 */
export interface CliConfig {
  /** The store URL when a command gets no `--url`: POLYKV_URL, else one made from CONSUL_HTTP_ADDR or ETCDCTL_ENDPOINTS. */
  url: string | undefined;
  /** The variable {@link CliConfig.url} came from. */
  urlFrom: string | undefined;
  /** The Consul ACL token for `consul://` URLs that carry no `?token=`; read when a store opens. */
  consulToken:
    | { from: 'CONSUL_HTTP_TOKEN'; value: string }
    | { from: 'CONSUL_HTTP_TOKEN_FILE'; file: string }
    | undefined;
  /** CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY: PEM files for `consuls://` URLs. */
  consulTls: { ca?: string; cert?: string; key?: string };
  /** Variables that were read and deliberately not used, with the reason (for --verbose). */
  ignored: string[];
  /** `POLYKV_DEBUG=1`: print stack traces and error causes. */
  debug: boolean;
  /** The environment for child processes (`lock -- <cmd>`). */
  env: Readonly<Record<string, string | undefined>>;
}

/** The environment variables the CLI reads, for `polykv --help` and the README. */
export const ENVIRONMENT: readonly [name: string, meaning: string][] = [
  ['POLYKV_URL', 'the store URL when a command gets no --url'],
  [
    'CONSUL_HTTP_ADDR',
    'no --url or POLYKV_URL: consul://<addr> (https://... or CONSUL_HTTP_SSL=true: consuls://)',
  ],
  [
    'ETCDCTL_ENDPOINTS',
    'no --url or POLYKV_URL: etcd://<h1>,<h2> (https://...: etcds://); ETCDCTL_API is ignored',
  ],
  ['CONSUL_HTTP_TOKEN', 'the Consul ACL token (a ?token= in the URL wins); never printed'],
  [
    'CONSUL_HTTP_TOKEN_FILE',
    'a file holding the Consul ACL token (wins over CONSUL_HTTP_TOKEN, as in consul)',
  ],
  ['CONSUL_CACERT', 'CA certificate (PEM file) for consuls:// URLs'],
  ['CONSUL_CLIENT_CERT', 'client certificate (PEM file) for consuls:// URLs'],
  ['CONSUL_CLIENT_KEY', 'client key (PEM file) for consuls:// URLs'],
  ['POLYKV_DEBUG=1', 'print stack traces and causes with errors'],
];

type Env = Readonly<Record<string, string | undefined>>;

/** `CONSUL_HTTP_ADDR` (`host:port`, `http://host:port`, `https://host:port`) as a store URL. */
function consulUrl(address: string, env: Env): string {
  const match = /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(address.trim());
  if (!match) throw new UsageError(`CONSUL_HTTP_ADDR=${address}: expected host:port or http(s)://host:port`);
  const ssl = match[1] === 'https' || /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? '');
  return `${ssl ? 'consuls' : 'consul'}://${match[2]}`;
}

/** `ETCDCTL_ENDPOINTS` (comma-separated `http(s)://host:port`) as a store URL. */
function etcdUrl(endpoints: string): string {
  const parsed = endpoints
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '')
    .map((endpoint) => /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(endpoint));
  if (parsed.length === 0 || parsed.some((match) => match === null))
    throw new UsageError(`ETCDCTL_ENDPOINTS=${endpoints}: expected http(s)://host:port[,...]`);
  const schemes = new Set(parsed.map((match) => match![1] ?? 'http'));
  if (schemes.size > 1)
    throw new UsageError(`ETCDCTL_ENDPOINTS=${endpoints}: mixes http and https endpoints`);
  const tls = schemes.has('https');
  return `${tls ? 'etcds' : 'etcd'}://${parsed.map((match) => match![2]).join(',')}`;
}

/**
 * Reads the environment. Never throws: a variable that cannot be used becomes an error only when a
 * command needs it (see {@link resolveUrl}), so `--help` always works.
 */
export function readConfig(env: Env = process.env): CliConfig {
  const nonEmpty = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const ignored: string[] = [];
  const url = nonEmpty('POLYKV_URL');
  let urlFrom = url !== undefined ? 'POLYKV_URL' : undefined;
  const consulAddress = nonEmpty('CONSUL_HTTP_ADDR');
  const etcdEndpoints = nonEmpty('ETCDCTL_ENDPOINTS');
  if (url === undefined && consulAddress !== undefined && etcdEndpoints === undefined) {
    urlFrom = 'CONSUL_HTTP_ADDR';
  } else if (url === undefined && etcdEndpoints !== undefined && consulAddress === undefined) {
    urlFrom = 'ETCDCTL_ENDPOINTS';
  } else if (url !== undefined) {
    for (const name of ['CONSUL_HTTP_ADDR', 'ETCDCTL_ENDPOINTS'])
      if (nonEmpty(name) !== undefined) ignored.push(`${name}: POLYKV_URL is set and wins`);
  }
  if (nonEmpty('ETCDCTL_API') !== undefined)
    ignored.push(`ETCDCTL_API=${env.ETCDCTL_API}: polykv speaks etcd's v2 API whatever it says`);
  const tokenFile = nonEmpty('CONSUL_HTTP_TOKEN_FILE');
  const token = nonEmpty('CONSUL_HTTP_TOKEN');
  if (tokenFile !== undefined && token !== undefined)
    ignored.push('CONSUL_HTTP_TOKEN: CONSUL_HTTP_TOKEN_FILE is set and wins (as in consul)');
  const consulTls: CliConfig['consulTls'] = {};
  const ca = nonEmpty('CONSUL_CACERT');
  const cert = nonEmpty('CONSUL_CLIENT_CERT');
  const key = nonEmpty('CONSUL_CLIENT_KEY');
  if (ca !== undefined) consulTls.ca = ca;
  if (cert !== undefined) consulTls.cert = cert;
  if (key !== undefined) consulTls.key = key;
  return {
    url,
    urlFrom,
    consulToken:
      tokenFile !== undefined
        ? { from: 'CONSUL_HTTP_TOKEN_FILE', file: tokenFile }
        : token !== undefined
          ? { from: 'CONSUL_HTTP_TOKEN', value: token }
          : undefined,
    consulTls,
    ignored,
    debug: env.POLYKV_DEBUG === '1' || env.POLYKV_DEBUG === 'true',
    env,
  };
}

/** The URL a command works on: `--url`, else POLYKV_URL, else CONSUL_HTTP_ADDR or ETCDCTL_ENDPOINTS. */
export function resolveUrl(flag: string | undefined, config: CliConfig, command: string): string {
  if (flag !== undefined && flag !== '') return flag;
  if (config.urlFrom === 'POLYKV_URL') return config.url!;
  const env = config.env;
  if (config.urlFrom === 'CONSUL_HTTP_ADDR') return consulUrl(env.CONSUL_HTTP_ADDR!, env);
  if (config.urlFrom === 'ETCDCTL_ENDPOINTS') return etcdUrl(env.ETCDCTL_ENDPOINTS!);
  if (env.CONSUL_HTTP_ADDR && env.ETCDCTL_ENDPOINTS)
    throw new UsageError(
      'no store URL: both CONSUL_HTTP_ADDR and ETCDCTL_ENDPOINTS are set; pass --url or set POLYKV_URL',
      command,
    );
  throw new UsageError(
    'no store URL: pass --url or set POLYKV_URL (e.g. etcd://127.0.0.1:2379), CONSUL_HTTP_ADDR or ETCDCTL_ENDPOINTS',
    command,
  );
}

function readVariableFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'BAD_INPUT';
    throw new CliError(code, `${name}=${file} cannot be read: ${(error as Error).message}`);
  }
}

/** The Consul token the environment gives, read now (CONSUL_HTTP_TOKEN_FILE is read when needed). */
function consulToken(config: CliConfig): string | undefined {
  const source = config.consulToken;
  if (source === undefined) return undefined;
  if (source.from === 'CONSUL_HTTP_TOKEN') return source.value;
  const token = readVariableFile('CONSUL_HTTP_TOKEN_FILE', source.file).trim();
  return token === '' ? undefined : token;
}

/**
 * `openStore` options for `url` from the environment: the Consul token unless the URL has its own,
 * and for `consuls://` the CA and client certificate files. etcd credentials come from the URL
 * (`etcd://user:password@host`).
 */
export function openOptions(url: string, config: CliConfig): OpenStoreOptions<Uint8Array> {
  const parsed = parseStoreUrl(url);
  if (parsed.scheme !== 'consul' && parsed.scheme !== 'consuls') return {};
  const client: Record<string, unknown> = {};
  const token = parsed.params.has('token') ? undefined : consulToken(config);
  if (token !== undefined) client.token = token;
  if (parsed.scheme === 'consuls') {
    const tls: Record<string, string> = {};
    const files = [
      ['ca', 'CONSUL_CACERT'],
      ['cert', 'CONSUL_CLIENT_CERT'],
      ['key', 'CONSUL_CLIENT_KEY'],
    ] as const;
    for (const [field, name] of files) {
      const file = config.consulTls[field];
      if (file !== undefined) tls[field] = readVariableFile(name, file);
    }
    if (Object.keys(tls).length > 0) client.tls = tls;
  }
  return Object.keys(client).length > 0 ? { consul: { client } } : {};
}

/** What --verbose prints about where `url` and its credentials came from (secrets masked). */
export function describeSources(url: string, flag: string | undefined, config: CliConfig): string[] {
  const lines = [
    `store ${parseStoreUrl(url).redacted} (from ${flag !== undefined ? 'the command line' : config.urlFrom})`,
  ];
  const parsed = parseStoreUrl(url);
  if (parsed.scheme === 'consul' || parsed.scheme === 'consuls') {
    const source = config.consulToken;
    if (parsed.params.has('token')) lines.push('Consul token: *** (from the URL)');
    else if (source?.from === 'CONSUL_HTTP_TOKEN') lines.push('Consul token: *** (from CONSUL_HTTP_TOKEN)');
    else if (source) lines.push(`Consul token: *** (from CONSUL_HTTP_TOKEN_FILE=${source.file})`);
    else lines.push("Consul token: none (the agent's default token applies)");
    if (parsed.scheme === 'consuls')
      for (const [field, name] of [
        ['ca', 'CONSUL_CACERT'],
        ['cert', 'CONSUL_CLIENT_CERT'],
        ['key', 'CONSUL_CLIENT_KEY'],
      ] as const)
        if (config.consulTls[field]) lines.push(`${name}=${config.consulTls[field]}`);
  }
  return [...lines, ...config.ignored.map((reason) => `ignored ${reason}`)];
}

/** Secrets that must never appear in output: the token, and passwords and tokens in the URLs used. */
export function secretsOf(config: CliConfig, urls: Iterable<string>): string[] {
  const secrets: string[] = [];
  try {
    const token = consulToken(config);
    if (token) secrets.push(token);
  } catch {
    // An unreadable token file holds no secret we could print.
  }
  for (const url of urls) {
    try {
      const parsed = parseStoreUrl(url);
      if (parsed.password) secrets.push(parsed.password);
      for (const name of ['token', 'password', 'secret']) {
        const value = parsed.params.get(name);
        if (value) secrets.push(value);
      }
    } catch {
      // A malformed URL: core's error message already masks its credentials.
    }
  }
  return secrets.filter((secret) => secret.length >= 3);
}
