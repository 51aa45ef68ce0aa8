// The worker side of SyncRunner: runs one EtcdClient call per message and wakes the caller.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { EtcdClient } from './client.js';
import { isEtcdError } from './errors.js';
import type { EtcdClientOptions } from './options.js';
import type { SyncCall, SyncReply } from './sync.js';

const { options, flag, port } = workerData as {
  options: EtcdClientOptions;
  flag: Int32Array;
  port: MessagePort;
};
const client = new EtcdClient(options);

function reply(answer: SyncReply): void {
  port.postMessage(answer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

parentPort!.on('message', (call: SyncCall) => {
  const keys = client.keys as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  keys[call.method]!.apply(client.keys, call.args).then(
    (value) => reply({ ok: true, value: JSON.parse(JSON.stringify(value)) as unknown }),
    (error: unknown) =>
      reply({
        ok: false,
        error: isEtcdError(error)
          ? {
              code: error.code,
              message: error.message,
              ...(error.errorCode !== undefined ? { errorCode: error.errorCode } : {}),
              ...(error.etcdMessage !== undefined ? { etcdMessage: error.etcdMessage } : {}),
              ...(typeof error.cause === 'string' ? { cause: error.cause } : {}),
              ...(error.index !== undefined ? { index: error.index } : {}),
              ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
              ...(error.host !== undefined ? { host: error.host } : {}),
            }
          : { code: 'ETCD_ERROR', message: error instanceof Error ? error.message : String(error) },
      }),
  );
});
