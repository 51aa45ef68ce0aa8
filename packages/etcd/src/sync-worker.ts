// The worker side of SyncRunner: runs one EtcdClient call per message (core's serveBlockingCalls).
import { serveBlockingCalls } from '@polykv/core';
import { EtcdClient } from './client.js';
import { isEtcdError } from './errors.js';
import type { EtcdClientOptions } from './options.js';
import type { SyncCall, SyncError } from './sync.js';

let client: EtcdClient | undefined;

function describe(error: unknown): SyncError {
  if (!isEtcdError(error))
    return { code: 'ETCD_ERROR', message: error instanceof Error ? error.message : String(error) };
  return {
    code: error.code,
    message: error.message,
    ...(error.errorCode !== undefined ? { errorCode: error.errorCode } : {}),
    ...(error.etcdMessage !== undefined ? { etcdMessage: error.etcdMessage } : {}),
    ...(typeof error.cause === 'string' ? { cause: error.cause } : {}),
    ...(error.index !== undefined ? { index: error.index } : {}),
    ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
    ...(error.host !== undefined ? { host: error.host } : {}),
  };
}

serveBlockingCalls(async (message, options) => {
  client ??= new EtcdClient(options as EtcdClientOptions);
  const call = message as SyncCall;
  const keys = client.keys as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const value = await keys[call.method]!.apply(client.keys, call.args);
  // Plain data only: the result's class does not cross threads.
  return JSON.parse(JSON.stringify(value)) as unknown;
}, describe);
