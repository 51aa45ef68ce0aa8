import {
  InvalidArgumentError,
  checkUrlParams,
  type OpenStoreOptions,
  type Store,
  type StoreUrl,
} from '@polykv/core';
import type { EtcdStoreOptions } from './common.js';
import { createEtcdStore } from './store.js';

const URL_PARAMS = ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries', 'refresh', 'binaryEncoding'];

/** For `openStore('etcd://h1:2379,h2:2379/prefix')` and `etcds://`. */
export function storeFromUrl<V>(url: StoreUrl, options: OpenStoreOptions<V>): Store<V> {
  checkUrlParams(url, URL_PARAMS);
  const number = (name: string): number | undefined => {
    const text = url.params.get(name);
    if (text === null) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: ${name} must be a whole number >= 0`);
    return value;
  };
  const scheme = url.tls ? 'https' : 'http';
  const fromUrl: EtcdStoreOptions<V> = {
    hosts: url.hosts.map(({ host, port }) => `${scheme}://${host}:${port ?? 2379}`),
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
    ...(url.username !== undefined ? { auth: { username: url.username, password: url.password ?? '' } } : {}),
  };
  for (const name of ['timeout', 'attemptTimeout', 'connectTimeout', 'maxRetries'] as const) {
    const value = number(name);
    if (value !== undefined) fromUrl[name] = value;
  }
  if (url.params.get('refresh') === 'true') fromUrl.refresh = true;
  const binaryEncoding = url.params.get('binaryEncoding');
  if (binaryEncoding !== null) {
    if (binaryEncoding !== 'base64')
      throw new InvalidArgumentError('url', `store URL ${url.redacted}: binaryEncoding must be base64`);
    fromUrl.binaryEncoding = 'base64';
  }
  return createEtcdStore<V>({ ...fromUrl, ...(options.etcd as EtcdStoreOptions<V> | undefined) });
}
