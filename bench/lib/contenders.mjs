// The contenders of every scenario: one object per client, each with the same small surface.
//
//   get(key)                      resolves the value (a string) or null
//   set(key, value)               resolves when the write is acknowledged
//   watch(key, onValue)           calls onValue(value) for every change of `key`, resolves { stop() }
//   close()
//
// `kind` is 'raw' (the undici ceiling), 'native' (polykv's native client), 'store' (the polykv
// Store) or 'peer' (an npm library a user would pick instead). Keys are relative paths without a
// leading slash (`bench/k1`): /v2/keys/bench/k1 on etcd, /v1/kv/bench/k1 on Consul.
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { etcd3Peer, polykvEtcd3Native, polykvEtcd3Store, rawEtcd3 } from './contenders-etcd3.mjs';
import { storeContender } from './store-contender.mjs';

// The etcd v3 contenders by name, for bench/s6-child.mjs.
export { etcd3Peer, polykvEtcd3Native, polykvEtcd3Store, rawEtcd3 };

const require = createRequire(new URL('../.peers/', import.meta.url));

/** Loads a peer installed by bench/lib/peers.mjs into bench/.peers (CommonJS packages). */
export function peer(name) {
  return require(name);
}

function escapeKey(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

function nodeCallback(resolve, reject) {
  return (error, value) => (error ? reject(error) : resolve(value));
}

// ---------------------------------------------------------------------------------------------
// etcd v2

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The ceiling: an undici keep-alive Pool sending the same request and reading the body. It parses
 * the JSON too (the least a client must do to hand back a value); the parse of a ~150-byte body
 * is under 1 % of a request.
 */
export function rawEtcd(origin) {
  const pool = new Pool(origin, { keepAliveTimeout: 30_000 });
  const watchPool = new Pool(origin, { keepAliveTimeout: 30_000 });
  return {
    name: 'raw undici',
    kind: 'raw',
    pool,
    async get(key) {
      const { statusCode, body } = await pool.request({ path: `/v2/keys/${escapeKey(key)}`, method: 'GET' });
      const json = JSON.parse(await body.text());
      if (statusCode !== 200) throw new Error(`etcd GET ${key}: ${statusCode}`);
      return json.node.value;
    },
    async set(key, value) {
      const { statusCode, body } = await pool.request({
        path: `/v2/keys/${escapeKey(key)}`,
        method: 'PUT',
        headers: FORM,
        body: `value=${encodeURIComponent(value)}`,
      });
      JSON.parse(await body.text());
      if (statusCode !== 200 && statusCode !== 201) throw new Error(`etcd PUT ${key}: ${statusCode}`);
    },
    /** The raw long-poll: read the index, then `?wait=true&waitIndex=` from modifiedIndex + 1. */
    async watch(key, onValue) {
      const path = `/v2/keys/${escapeKey(key)}`;
      const first = await watchPool.request({ path, method: 'GET' });
      await first.body.text();
      let next = Number(first.headers['x-etcd-index']) + 1;
      const stop = new AbortController();
      const loop = (async () => {
        while (!stop.signal.aborted) {
          const { headers, body } = await watchPool.request({
            path: `${path}?wait=true&waitIndex=${next}`,
            method: 'GET',
            signal: stop.signal,
            bodyTimeout: 0,
          });
          const text = await body.text();
          if (text === '') {
            next = Number(headers['x-etcd-index']) + 1;
            continue;
          }
          const event = JSON.parse(text);
          next = event.node.modifiedIndex + 1;
          onValue(event.node.value);
        }
      })().catch(() => undefined);
      return {
        async stop() {
          stop.abort();
          await loop;
        },
      };
    },
    async close() {
      await Promise.all([pool.close(), watchPool.destroy()]);
    },
  };
}

export async function polykvEtcdNative(origin) {
  const { EtcdClient } = await import('@polykv/etcd');
  const client = new EtcdClient({ hosts: [origin] });
  return {
    name: 'polykv native',
    kind: 'native',
    client,
    async get(key) {
      return (await client.keys.get(key)).node.value;
    },
    async set(key, value) {
      await client.keys.set(key, value);
    },
    async watch(key, onValue) {
      const watcher = client.watcher(key);
      watcher.on('change', (event) => onValue(event.node.value));
      watcher.on('error', () => undefined);
      await new Promise((resolve) => watcher.once('ready', resolve));
      return { stop: () => watcher.stop() };
    },
    close: () => client.close(),
  };
}

export async function polykvEtcdStore(origin) {
  const { createEtcdStore } = await import('@polykv/etcd');
  return storeContender(createEtcdStore({ hosts: [origin] }));
}

export function nodeEtcd(origin) {
  const Etcd = peer('node-etcd');
  const etcd = new Etcd([origin]);
  return {
    name: 'node-etcd 7',
    kind: 'peer',
    async get(key) {
      const body = await new Promise((resolve, reject) => etcd.get(key, nodeCallback(resolve, reject)));
      return body.node.value;
    },
    async set(key, value) {
      await new Promise((resolve, reject) => etcd.set(key, value, nodeCallback(resolve, reject)));
    },
    async watch(key, onValue) {
      const watcher = etcd.watcher(key);
      watcher.on('change', (event) => onValue(event.node?.value));
      watcher.on('error', () => undefined);
      return { stop: async () => watcher.stop() };
    },
    async close() {},
  };
}

export function etcdjs(origin) {
  const client = peer('etcdjs')(origin);
  return {
    name: 'etcdjs 2',
    kind: 'peer',
    async get(key) {
      const body = await new Promise((resolve, reject) => client.get(key, nodeCallback(resolve, reject)));
      return body.node.value;
    },
    async set(key, value) {
      await new Promise((resolve, reject) => client.set(key, value, nodeCallback(resolve, reject)));
    },
    async watch(key, onValue) {
      let stopped = false;
      let cancel;
      // etcdjs's documented way: wait, then call `next` for the following change.
      const onResult = (error, result, next) => {
        if (stopped) return;
        if (!error && result?.node) onValue(result.node.value);
        cancel = next(onResult);
      };
      cancel = client.wait(key, onResult);
      return {
        async stop() {
          stopped = true;
          if (typeof cancel === 'function') cancel();
        },
      };
    },
    async close() {
      client.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Consul

export function rawConsul(origin) {
  const pool = new Pool(origin, { keepAliveTimeout: 30_000 });
  const watchPool = new Pool(origin, { keepAliveTimeout: 30_000 });
  const decode = (pairs) => (pairs[0].Value === null ? '' : Buffer.from(pairs[0].Value, 'base64').toString());
  return {
    name: 'raw undici',
    kind: 'raw',
    pool,
    async get(key) {
      const { statusCode, body } = await pool.request({ path: `/v1/kv/${escapeKey(key)}`, method: 'GET' });
      const text = await body.text();
      if (statusCode === 404) return null;
      if (statusCode !== 200) throw new Error(`consul GET ${key}: ${statusCode}`);
      return decode(JSON.parse(text));
    },
    async set(key, value) {
      const { statusCode, body } = await pool.request({
        path: `/v1/kv/${escapeKey(key)}`,
        method: 'PUT',
        body: value,
      });
      const text = await body.text();
      if (statusCode !== 200 || text.trim() !== 'true') throw new Error(`consul PUT ${key}: ${statusCode}`);
    },
    /** The raw blocking query: `?index=&wait=`, an event when X-Consul-Index moves. */
    async watch(key, onValue) {
      const path = `/v1/kv/${escapeKey(key)}`;
      const first = await watchPool.request({ path, method: 'GET' });
      await first.body.text();
      let index = Number(first.headers['x-consul-index']);
      const stop = new AbortController();
      const loop = (async () => {
        while (!stop.signal.aborted) {
          const { statusCode, headers, body } = await watchPool.request({
            path: `${path}?index=${index}&wait=60s`,
            method: 'GET',
            signal: stop.signal,
            headersTimeout: 0,
            bodyTimeout: 0,
          });
          const text = await body.text();
          const next = Number(headers['x-consul-index']);
          if (next === index) continue;
          index = next;
          if (statusCode === 200) onValue(decode(JSON.parse(text)));
        }
      })().catch(() => undefined);
      return {
        async stop() {
          stop.abort();
          await loop;
        },
      };
    },
    async close() {
      await Promise.all([pool.close(), watchPool.destroy()]);
    },
  };
}

export async function polykvConsulNative(origin) {
  const { ConsulClient, kvText } = await import('@polykv/consul');
  const client = new ConsulClient({ address: origin });
  return {
    name: 'polykv native',
    kind: 'native',
    client,
    async get(key) {
      return kvText((await client.kv.get(key)).data);
    },
    async set(key, value) {
      await client.kv.put(key, value);
    },
    async watch(key, onValue) {
      // The KV watch API: watchers of keys under one folder share one blocking query of it.
      const watch = client.watchKv(key, { wait: '60s' });
      let first = true;
      let armed;
      const ready = new Promise((resolve) => (armed = resolve));
      // The first answer is the current state, not a change.
      watch.on('change', (pair) => {
        if (first) {
          first = false;
          armed();
          return;
        }
        onValue(kvText(pair));
      });
      watch.on('error', () => undefined);
      await ready;
      return {
        async stop() {
          watch.end();
          await watch.closed;
        },
      };
    },
    close: () => client.close(),
  };
}

export async function polykvConsulStore(origin) {
  const { createConsulStore } = await import('@polykv/consul');
  return storeContender(createConsulStore({ client: { address: origin } }));
}

export function npmConsul(origin) {
  const Consul = peer('consul');
  const url = new URL(origin);
  const consul = new Consul({ host: url.hostname, port: url.port });
  return {
    name: 'consul 2',
    kind: 'peer',
    consul,
    async get(key) {
      const pair = await consul.kv.get(key);
      return pair ? (pair.Value ?? '') : null;
    },
    async set(key, value) {
      await consul.kv.set(key, value);
    },
    async watch(key, onValue) {
      const watch = consul.watch({ method: consul.kv.get, options: { key } });
      let first = true;
      let armed;
      const ready = new Promise((resolve) => (armed = resolve));
      watch.on('change', (pair) => {
        if (first) {
          first = false;
          armed();
          return;
        }
        onValue(pair ? (pair.Value ?? '') : null);
      });
      watch.on('error', () => undefined);
      await ready;
      return { stop: async () => watch.end() };
    },
    async close() {
      consul.destroy?.();
    },
  };
}

/**
 * A second, identical raw loop: an A/A control. Its ratio to the raw loop would be 1.00 on a quiet
 * machine; how far it strays in a run is that run's noise band.
 */
function control(raw) {
  return Object.assign(raw, { name: `${raw.name} A/A`, kind: 'control' });
}

/** Every contender of a backend, in the interleaving order (raw first). Missing ones are reported. */
export async function contenders(backend, origin) {
  if (backend === 'etcd3') {
    return [
      await rawEtcd3(origin),
      control(await rawEtcd3(origin)),
      await polykvEtcd3Native(origin),
      await polykvEtcd3Store(origin),
      await etcd3Peer(origin),
    ];
  }
  if (backend === 'etcd') {
    return [
      rawEtcd(origin),
      control(rawEtcd(origin)),
      await polykvEtcdNative(origin),
      await polykvEtcdStore(origin),
      nodeEtcd(origin),
      etcdjs(origin),
    ];
  }
  return [
    rawConsul(origin),
    control(rawConsul(origin)),
    await polykvConsulNative(origin),
    await polykvConsulStore(origin),
    npmConsul(origin),
  ];
}
