// The etcd v3 contenders, with the same surface as contenders.mjs (get, set, watch, close; `name`
// and `kind`). The main run (`--backends etcd3`) measures the raw @grpc/grpc-js loop (the ceiling on
// the transport polykv's v3 client speaks), polykv's native client and Store, and the npm `etcd3`
// package; bench/v3/transport.mjs also measures the HTTP/JSON gateway, the transport not chosen.
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { PEERS_DIR } from './setup.mjs';
import { storeContender } from './store-contender.mjs';

const peers = createRequire(`${PEERS_DIR}/node_modules/`);
const b64 = (text) => Buffer.from(text).toString('base64');
const text = (base64) => Buffer.from(base64 ?? '', 'base64').toString();

/** The HTTP/JSON gateway (`POST /v3/kv/range`, base64 keys and values) over an undici Pool. */
export async function gatewayEtcd3(origin) {
  const pool = new Pool(origin, { connections: 64, keepAliveTimeout: 30_000 });
  const post = async (path, message) => {
    const { statusCode, body } = await pool.request({
      path,
      method: 'POST',
      body: JSON.stringify(message),
      headers: { 'content-type': 'application/json' },
    });
    const json = await body.json();
    if (statusCode !== 200) throw new Error(`${path}: ${statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  const batch = [];
  return {
    name: 'HTTP/JSON gateway',
    kind: 'reference',
    async get(key) {
      const kv = (await post('/v3/kv/range', { key: b64(key) })).kvs?.[0];
      return kv ? text(kv.value) : null;
    },
    set: (key, value) => post('/v3/kv/put', { key: b64(key), value: b64(value) }),
    // The gateway serves the create requests of a body that has ended, but none written into an
    // open chunked body: watchers that start in the same tick share one stream, opened after them.
    watch(key, onValue) {
      if (batch.length === 0) queueMicrotask(() => void openBatch(batch.splice(0)));
      return new Promise((armed) => batch.push({ key, onValue, armed }));
    },
    close: () => pool.destroy(),
  };
  async function openBatch(watchers) {
    const body = watchers.map(({ key }) => JSON.stringify({ create_request: { key: b64(key) } })).join('\n');
    const byKey = new Map(watchers.map((w) => [w.key, w.onValue]));
    const { body: stream } = await pool.request({ path: '/v3/watch', method: 'POST', body, bodyTimeout: 0 });
    let pending = '';
    let created = 0;
    stream.setEncoding('utf8');
    stream.on('error', () => undefined);
    stream.on('data', (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const result = (line.trim() ? JSON.parse(line) : {}).result;
        // Created answers come in the order of the create requests: the watcher is armed.
        if (result?.created) watchers[created++]?.armed({ stop: async () => undefined });
        for (const event of result?.events ?? []) byKey.get(text(event.kv.key))?.(text(event.kv.value));
      }
    });
  }
}

/** @grpc/grpc-js with @grpc/proto-loader on etcd's protos (as the etcd3 package loads them), no wrapper. */
export async function rawEtcd3(origin) {
  const grpc = peers('@grpc/grpc-js');
  const loader = peers('@grpc/proto-loader');
  const definition = loader.loadSync(peers.resolve('etcd3/proto/rpc.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    oneofs: true,
  });
  const pb = grpc.loadPackageDefinition(definition).etcdserverpb;
  const target = new URL(origin).host;
  const kv = new pb.KV(target, grpc.credentials.createInsecure());
  const watchClient = new pb.Watch(target, grpc.credentials.createInsecure());
  const call = (method, request) =>
    new Promise((resolve, reject) =>
      kv[method](request, (error, reply) => (error ? reject(error) : resolve(reply))),
    );
  let stream;
  const creating = [];
  const handlers = new Map();
  return {
    name: 'raw grpc-js',
    kind: 'raw',
    async get(key) {
      const kvs = (await call('Range', { key: Buffer.from(key) })).kvs;
      return kvs?.[0] ? kvs[0].value.toString() : null;
    },
    set: (key, value) => call('Put', { key: Buffer.from(key), value: Buffer.from(value) }),
    watch(key, onValue) {
      if (!stream) {
        stream = watchClient.Watch();
        stream.on('error', () => undefined);
        stream.on('data', (response) => {
          if (response.created) {
            const next = creating.shift();
            handlers.set(response.watch_id, next.onValue);
            next.resolve({ stop: async () => undefined });
          }
          for (const event of response.events ?? [])
            handlers.get(response.watch_id)?.(event.kv.value.toString());
        });
      }
      return new Promise((resolve) => {
        creating.push({ resolve, onValue });
        stream.write({ create_request: { key: Buffer.from(key) } });
      });
    },
    async close() {
      stream?.cancel();
      kv.close();
      watchClient.close();
    },
  };
}

/** polykv's native v3 client (`@polykv/etcd3`). */
export async function polykvEtcd3Native(origin) {
  const { Etcd3Client } = await import('@polykv/etcd3');
  const client = new Etcd3Client({ hosts: origin });
  return {
    name: 'polykv native',
    kind: 'native',
    get: async (key) => (await client.kv.get(key))?.value.toString() ?? null,
    set: (key, value) => client.kv.put(key, value),
    async watch(key, onValue) {
      const watcher = client.watch(key);
      watcher.on('events', (events) => {
        for (const event of events) onValue(event.kv.value.toString());
      });
      await watcher.ready;
      return { stop: () => watcher.cancel() };
    },
    async close() {
      client.close();
    },
  };
}

/** polykv's etcd3 Store (`createEtcd3Store`): a set is a transaction with the typed-directory compares. */
export async function polykvEtcd3Store(origin) {
  const { createEtcd3Store } = await import('@polykv/etcd3');
  return storeContender(createEtcd3Store({ hosts: origin }));
}

/** The npm `etcd3` package (gRPC through @grpc/grpc-js). */
export async function etcd3Peer(origin) {
  const { Etcd3 } = peers('etcd3');
  const client = new Etcd3({ hosts: origin });
  return {
    name: 'etcd3 1',
    kind: 'peer',
    get: (key) => client.get(key).string(),
    set: (key, value) => client.put(key).value(value).exec(),
    async watch(key, onValue) {
      const watcher = await client.watch().key(key).create();
      watcher.on('put', (kv) => onValue(kv.value.toString()));
      watcher.on('error', () => undefined);
      return { stop: () => watcher.cancel() };
    },
    async close() {
      client.close();
    },
  };
}

/**
 * The independent writer of the etcd3 rows (S5's and S6's writes, the keys S1/S3 read): the
 * HTTP/JSON gateway over its own undici Pool, so that no contender's connection carries it.
 */
export function gatewayWriter(origin) {
  const pool = new Pool(origin, { keepAliveTimeout: 30_000 });
  const post = async (path, message) => {
    const { statusCode, body } = await pool.request({ path, method: 'POST', body: JSON.stringify(message) });
    const json = await body.json();
    if (statusCode !== 200) throw new Error(`etcd3 ${path}: ${statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  // Every key under `prefix/`: [prefix/, prefix0) in byte order ('0' follows '/').
  const under = (prefix) => ({ key: b64(`${prefix}/`), range_end: b64(`${prefix}0`) });
  return {
    set: (key, value) => post('/v3/kv/put', { key: b64(key), value: b64(value) }),
    delTree: (prefix) => post('/v3/kv/deleterange', under(prefix)),
    async count(prefix) {
      return Number((await post('/v3/kv/range', { ...under(prefix), count_only: true })).count ?? 0);
    },
    pool,
    close: () => pool.close(),
  };
}

/** bench/v3's short names for the contenders (transport.mjs and its S6 child). */
export const TRANSPORT_CONTENDERS = {
  gateway: gatewayEtcd3,
  grpcjs: rawEtcd3,
  polykv: polykvEtcd3Native,
  store: polykvEtcd3Store,
  etcd3: etcd3Peer,
};
