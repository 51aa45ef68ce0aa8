import {
  InvalidArgumentError,
  checkUrlParams,
  type OpenStoreOptions,
  type Store,
  type StoreUrl,
} from '@polykv/core';
import type { Etcd3StoreOptions } from './common.js';
import { createEtcd3Store } from './store.js';

const URL_PARAMS = ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries', 'minTtl', 'serializable'];

/**
 * `openStore('etcd3://h1:2379,h2:2379/prefix?timeout=5000')`; `etcd3s://` for TLS; `user:password@`
 * is etcd's own auth. Options in `openStore(url, { etcd3 })` go over what the URL says.
 */
export function storeFromUrl<V>(url: StoreUrl, options: OpenStoreOptions<V>): Store<V> {
  checkUrlParams(url, URL_PARAMS);
  const number = (name: string): number | undefined => {
    const text = url.params.get(name);
    if (text === null) return undefined;
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < 0)
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: ${name} must be a whole number >= 0`);
    return value;
  };
  const scheme = url.tls ? 'https' : 'http';
  const fromUrl: Etcd3StoreOptions<V> = {
    hosts: url.hosts.map(({ host, port }) => `${scheme}://${host}:${port ?? 2379}`),
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
    ...(url.username !== undefined ? { auth: { username: url.username, password: url.password ?? '' } } : {}),
  };
  for (const name of ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries', 'minTtl'] as const) {
    const value = number(name);
    if (value !== undefined) fromUrl[name] = value;
  }
  const serializable = url.params.get('serializable');
  if (serializable !== null) fromUrl.serializable = serializable === '' || serializable === 'true';
  if (url.tls) fromUrl.tls ??= {};
  const extra = (options as { etcd3?: Etcd3StoreOptions<V> }).etcd3;
  return createEtcd3Store<V>({ ...fromUrl, ...extra });
}
