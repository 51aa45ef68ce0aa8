import { parseStoreUrl, type OpenStoreOptions } from '@polykv/core';
import { UsageError } from './errors.js';

/**
 * What the CLI takes from the environment. This file is the only one in polykv that reads
 * environment variables: the libraries take everything as options.
 */
export interface CliConfig {
  /** `POLYKV_URL`: the store URL when a command gets no `--url`. */
  url: string | undefined;
  /** `CONSUL_HTTP_TOKEN`: the ACL token for `consul://` URLs that carry no `?token=`. */
  consulToken: string | undefined;
  /** `POLYKV_DEBUG=1`: print stack traces and error causes. */
  debug: boolean;
  /** The environment for child processes (`lock -- <cmd>`). */
  env: Readonly<Record<string, string | undefined>>;
}

/** The environment variables the CLI reads, for `polykv --help`. */
export const ENVIRONMENT: readonly [name: string, meaning: string][] = [
  ['POLYKV_URL', 'the store URL when a command gets no --url'],
  ['CONSUL_HTTP_TOKEN', 'the Consul ACL token (a ?token= in the URL wins); never printed'],
  ['POLYKV_DEBUG=1', 'print stack traces and causes with errors'],
];

export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env): CliConfig {
  const nonEmpty = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    url: nonEmpty('POLYKV_URL'),
    consulToken: nonEmpty('CONSUL_HTTP_TOKEN'),
    debug: env.POLYKV_DEBUG === '1' || env.POLYKV_DEBUG === 'true',
    env,
  };
}

/** The URL a command works on: `--url`, else `POLYKV_URL`. */
export function resolveUrl(flag: string | undefined, config: CliConfig, command: string): string {
  const url = flag ?? config.url;
  if (url === undefined || url === '')
    throw new UsageError('no store URL: pass --url or set POLYKV_URL (e.g. etcd://127.0.0.1:2379)', command);
  return url;
}

/**
 * `openStore` options for `url`: the Consul token from `CONSUL_HTTP_TOKEN` unless the URL has its
 * own. etcd credentials come from the URL (`etcd://user:password@host`).
 */
export function openOptions(url: string, config: CliConfig): OpenStoreOptions {
  const parsed = parseStoreUrl(url);
  const consul = parsed.scheme === 'consul' || parsed.scheme === 'consuls';
  if (consul && config.consulToken !== undefined && !parsed.params.has('token'))
    return { consul: { client: { token: config.consulToken } } };
  return {};
}

/** Secrets that must never appear in output: the token, and passwords and tokens in the URLs used. */
export function secretsOf(config: CliConfig, urls: Iterable<string>): string[] {
  const secrets: string[] = [];
  if (config.consulToken) secrets.push(config.consulToken);
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
