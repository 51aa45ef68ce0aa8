import {
  InvalidArgumentError,
  checkUrlParams,
  type OpenStoreOptions,
  type Store,
  type StoreUrl,
} from '@polykv/core';
import { ConsulClient } from '../client.js';
import type { ConsulClientOptions } from '../options.js';
import type { ConsulStoreOptions } from './common.js';
import { createConsulStore } from './store.js';

const URL_PARAMS = ['dc', 'token', 'minTtl', 'lockDelay', 'watchWait', 'consistent', 'timeout'];

/** `openStore('consul://h1:8500,h2:8500/prefix?token=...&dc=...&minTtl=...')`. */
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
  const client: ConsulClientOptions = {
    address: url.hosts.map(({ host, port }) => `${scheme}://${host}:${port ?? 8500}`),
    ...(url.hosts.length > 1 ? { failover: true } : {}),
    ...(url.username !== undefined
      ? { basicAuth: { username: url.username, password: url.password ?? '' } }
      : {}),
  };
  const dc = url.params.get('dc');
  const token = url.params.get('token');
  const timeout = number('timeout');
  if (dc !== null) client.dc = dc;
  if (token !== null) client.token = token;
  if (timeout !== undefined) client.timeout = timeout;
  const fromUrl: ConsulStoreOptions<V> = {
    client,
    prefix: url.prefix,
    ...(options.codec ? { codec: options.codec } : {}),
  };
  const minTtl = number('minTtl');
  const lockDelay = number('lockDelay');
  const watchWait = number('watchWait');
  if (minTtl !== undefined) fromUrl.minTtl = minTtl;
  if (lockDelay !== undefined) fromUrl.lockDelay = lockDelay;
  if (watchWait !== undefined) fromUrl.watchWait = watchWait;
  const consistent = url.params.get('consistent');
  if (consistent !== null) fromUrl.consistent = consistent === '' || consistent === 'true';
  const extra = options.consul as ConsulStoreOptions<V> | undefined;
  const merged = { ...fromUrl, ...extra };
  // Client options from `options.consul` go over the URL's, field by field.
  if (extra?.client && !(extra.client instanceof ConsulClient))
    merged.client = { ...client, ...extra.client };
  if (merged.minTtl === 0)
    throw new InvalidArgumentError('url', `store URL ${url.redacted}: minTtl must be >= 1`);
  return createConsulStore<V>(merged);
}
