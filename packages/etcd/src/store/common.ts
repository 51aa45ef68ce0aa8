import { InvalidArgumentError, type Codec, type OptionTableOf, type StoreCapabilities } from '@polykv/core';
import { EtcdClient } from '../client.js';
import { isEtcdError } from '../errors.js';
import { ETCD_CLIENT_OPTIONS, type EtcdClientOptions } from '../options.js';

/** Options of `createEtcdStore`: the client's options, or a client, plus the store's. */
export interface EtcdStoreOptions<V = string> extends EtcdClientOptions {
  /** Every key lives under this path. @defaultValue `''` */
  prefix?: string;
  /** @defaultValue `utf8Codec` */
  codec?: Codec<V>;
  /** Use this client (the store then does not close it) instead of making one from the options. */
  client?: EtcdClient;
  /**
   * etcd v2 holds text. Without this option a value whose bytes are not UTF-8 is refused
   * (`UNREPRESENTABLE`); with `'base64'` such values are stored as `polykv:base64:` followed by
   * their base64 and read back as the bytes (other tools see that text). Text is always stored and
   * read as it is. URL: `?binaryEncoding=base64`.
   */
  binaryEncoding?: 'base64';
}

export const capabilities: StoreCapabilities = Object.freeze({
  minTtl: 1,
  ttlExpiryFactor: 1,
  typedDirectories: true,
  watchHistory: 1000,
  flags: false,
  binaryValues: false,
});

/** The store's own options and the client's (nested ones are the client's to check). */
export const STORE_OPTIONS_TABLE = {
  ...ETCD_CLIENT_OPTIONS,
  prefix: 'string',
  codec: 'object',
  client: 'object',
  binaryEncoding: 'string',
} satisfies OptionTableOf<EtcdStoreOptions>;

/** A client from store options; a bad option is the Store's INVALID_ARGUMENT, not a native error. */
export function makeClient(options: EtcdStoreOptions<unknown>): EtcdClient {
  // The store's own options are not the client's.
  const {
    prefix: _prefix,
    codec: _codec,
    client: _client,
    binaryEncoding: _binary,
    ...clientOptions
  } = options;
  try {
    return new EtcdClient(clientOptions);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const argument = isEtcdError(cause) && cause.argument !== undefined ? cause.argument : 'hosts';
    throw new InvalidArgumentError(argument, `etcd store options: ${message}`, { cause });
  }
}

/** An etcd node key without its leading and trailing slashes. */
export function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path[start] === '/') start++;
  while (end > start && path[end - 1] === '/') end--;
  return path.slice(start, end);
}

/** The event actions that remove a node. */
export function isDeletion(action: string): boolean {
  return action === 'delete' || action === 'expire' || action === 'compareAndDelete';
}
