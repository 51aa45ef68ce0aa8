import type { Codec } from './codec.js';
import { InvalidArgumentError, NotSupportedError } from './errors.js';
import { createMemoryStore, type MemoryStore } from './memory.js';
import type { Store } from './store.js';
import { checkUrlParams, parseStoreUrl, type StoreUrl } from './url.js';
import { checkOptionTable, type OptionTableOf } from './validate.js';

/** Options of {@link openStore}. Backend options are passed on to that backend's factory. */
export interface OpenStoreOptions<V = string> {
  /** How the store encodes and decodes values, passed to the backend. @defaultValue utf8Codec */
  codec?: Codec<V>;
  /** Options for `createEtcdStore`, merged over what the URL says. */
  etcd?: Record<string, unknown>;
  /** Options for `createConsulStore`, merged over what the URL says. */
  consul?: Record<string, unknown>;
  /** Options for `createEtcd3Store`, merged over what the URL says. */
  etcd3?: Record<string, unknown>;
}

const OPEN_OPTIONS = {
  codec: 'object',
  etcd: 'object',
  etcd3: 'object',
  consul: 'object',
} satisfies OptionTableOf<OpenStoreOptions>;

/** What a backend package exports for {@link openStore}. */
export type StoreFromUrl = <V>(url: StoreUrl, options: OpenStoreOptions<V>) => Store<V> | Promise<Store<V>>;

/**
 * `memory://[name][/prefix][?historySize=n]` as a store: the named data set of this process, or a
 * new private one without a name. Synchronous (`loadConfigSync` reads memory stores this way).
 */
export function memoryStoreFromUrl<V>(url: StoreUrl, options: OpenStoreOptions<V>): MemoryStore<V> {
  checkUrlParams(url, ['historySize']);
  const history = url.params.get('historySize');
  const historySize = history === null ? undefined : Number(history);
  if (historySize !== undefined && !(Number.isInteger(historySize) && historySize > 0)) {
    throw new InvalidArgumentError(
      'url',
      `store URL ${url.redacted}: historySize must be a positive whole number`,
    );
  }
  if (url.hosts.length > 1)
    throw new InvalidArgumentError('url', `store URL ${url.redacted}: memory:// takes one name`);
  const name = url.hosts[0]?.host;
  return createMemoryStore<V>({
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
    ...(name ? { name } : {}),
    ...(historySize ? { historySize } : {}),
  });
}

/**
 * The scheme table: the one place that maps URL schemes to backends. Backend packages are loaded
 * on demand, so `@polykv/core` works without them.
 */
const schemes: Record<string, { module: string } | { open: StoreFromUrl }> = {
  memory: { open: memoryStoreFromUrl },
  etcd: { module: '@polykv/etcd' },
  etcds: { module: '@polykv/etcd' },
  etcd3: { module: '@polykv/etcd3' },
  etcd3s: { module: '@polykv/etcd3' },
  consul: { module: '@polykv/consul' },
  consuls: { module: '@polykv/consul' },
};

/**
 * Opens a store by URL:
 * - `memory://` (a private data set), `memory://name/prefix` (a data set shared by name in this process);
 * - `etcd://h1:2379,h2:2379/prefix`, `etcds://...` (TLS): the etcd v2 API;
 * - `etcd3://h1:2379,h2:2379/prefix`, `etcd3s://...` (TLS): the etcd v3 API;
 * - `consul://host:8500/prefix?dc=dc1`, `consuls://...` (TLS).
 *
 * The URL's path is a prefix that scopes every key. The typed factories (`createMemoryStore`,
 * `createEtcdStore`, `createConsulStore`) are the primary API; this is for switching stores by
 * configuration.
 * @throws InvalidArgumentError for an unknown scheme or a malformed URL (credentials never echoed).
 */
export async function openStore<V = string>(
  url: string,
  options: OpenStoreOptions<V> = {},
): Promise<Store<V>> {
  checkOptionTable(options, OPEN_OPTIONS, 'openStore');
  const parsed = parseStoreUrl(url);
  const entry = schemes[parsed.scheme];
  if (!entry) {
    throw new InvalidArgumentError(
      'url',
      `store URL ${parsed.redacted}: unknown scheme "${parsed.scheme}" (known: ${Object.keys(schemes).join(', ')})`,
    );
  }
  if ('open' in entry) return entry.open(parsed, options);
  let backend: { storeFromUrl?: StoreFromUrl };
  try {
    backend = (await import(entry.module)) as { storeFromUrl?: StoreFromUrl };
  } catch (cause) {
    throw new NotSupportedError(
      `${parsed.scheme}:// needs the package ${entry.module}: npm install ${entry.module}`,
      { cause },
    );
  }
  if (typeof backend.storeFromUrl !== 'function') {
    throw new NotSupportedError(`${entry.module} does not provide storeFromUrl`);
  }
  return backend.storeFromUrl(parsed, options);
}
