// loadConfigSync against real etcd (v2 and v3 API) and Consul: the same tree as loadConfig, bytes
// byte for byte, empty and missing prefixes, a large listing, typed errors for a server that is down
// or does not answer, and a process that exits by itself afterwards (the worker is gone).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  binaryCodec,
  isPolykvError,
  loadConfig,
  loadConfigSync,
  openStore,
  type PolykvError,
  type Store,
} from '@polykv/core';
import { freePort, repoPath, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';

after(stopAllServers);
const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);

const backends = [
  // etcd v2 holds text: bytes that are not UTF-8 need the store's base64 opt-in, for writing and reading.
  { name: 'etcd', url: (prefix: string) => `etcd://${etcd.host}/${prefix}?binaryEncoding=base64` },
  { name: 'consul', url: (prefix: string) => `consul://${consul.address}/${prefix}` },
  { name: 'etcd3', url: (prefix: string) => `etcd3://${etcd.host}/${prefix}` },
];

function hasCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(isPolykvError(error), `a PolykvError, got ${String(error)}`);
    assert.equal(error.code, code, (error as Error).message);
    return true;
  };
}

/** Runs `write` for each item, `limit` at a time. */
async function pool<T>(items: T[], limit: number, write: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await write(items[next++]!);
    }),
  );
}

/** A TCP server that takes connections and never answers (not even with a close). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const backend of backends) {
  describe(`loadConfigSync: ${backend.name}`, { timeout: 300_000 }, () => {
    async function withStore(
      test: (store: Store<Uint8Array>, prefix: string) => Promise<void>,
    ): Promise<void> {
      const prefix = `sync-${randomBytes(4).toString('hex')}`;
      const store = await openStore(backend.url(prefix), { codec: binaryCodec });
      try {
        await test(store, prefix);
      } finally {
        await store.del('', { recursive: true });
        await store.close();
      }
    }
    const text = (value: string) => new TextEncoder().encode(value);

    it('gives the tree loadConfig gives, with json and without', async () => {
      await withStore(async (store, prefix) => {
        await store.set('cfg/database/host', text('db'));
        await store.set('cfg/database/port', text('5432'));
        await store.set('cfg/features/beta', text('true'));
        await store.set('cfg/name', text('"svc"'));
        await store.set('cfg/wörd', text('ünïcode ✓'));
        await store.mkdir('cfg/empty');
        await store.set('other', text('not below cfg'));
        const textStore = await openStore(backend.url(prefix));
        try {
          const tree = loadConfigSync(backend.url(prefix), 'cfg');
          assert.deepEqual(tree, {
            database: { host: 'db', port: '5432' },
            features: { beta: 'true' },
            name: '"svc"',
            wörd: 'ünïcode ✓',
            empty: {},
          });
          assert.deepEqual(tree, await loadConfig(textStore, 'cfg'));
          const parsed = loadConfigSync(backend.url(prefix), '/cfg/', { json: true });
          assert.deepEqual(parsed, await loadConfig(textStore, 'cfg', { json: true }));
          assert.deepEqual(parsed.database, { host: 'db', port: 5432 });
          assert.equal(parsed.name, 'svc');
        } finally {
          await textStore.close();
        }
      });
    });

    it('binary values: bytes with binaryCodec; UNREPRESENTABLE naming the key with a text codec', async () => {
      await withStore(async (store, prefix) => {
        const bytes = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x80, 0xc3]);
        await store.set('bin/blob', bytes);
        await store.set('bin/empty', new Uint8Array(0));
        await store.set('bin/text', text('plain'));
        const tree = loadConfigSync(backend.url(prefix), 'bin', { codec: binaryCodec });
        assert.deepEqual(tree, { blob: bytes, empty: new Uint8Array(0), text: text('plain') });
        assert.ok(tree.blob instanceof Uint8Array);
        assert.throws(
          () => loadConfigSync(backend.url(prefix), 'bin'),
          (error: unknown) => hasCode('UNREPRESENTABLE')(error) && (error as PolykvError).key === 'bin/blob',
        );
      });
    });

    it("an empty prefix reads everything below the URL's path; a missing prefix is {}", async () => {
      await withStore(async (store, prefix) => {
        await store.set('a', text('1'));
        await store.set('b/c', text('2'));
        assert.deepEqual(loadConfigSync(backend.url(prefix), ''), { a: '1', b: { c: '2' } });
        assert.deepEqual(loadConfigSync(backend.url(prefix), 'no/such/prefix'), {});
        assert.deepEqual(loadConfigSync(backend.url(`${prefix}-missing`), ''), {});
      });
    });

    it('a large listing: 5,000 keys and values of 512 KiB arrive whole', async () => {
      await withStore(async (store, prefix) => {
        const keys = Array.from({ length: 5000 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
        await pool(keys, 32, (key) => store.set(key, text(`value of ${key}`)));
        const big = randomBytes(512 * 1024);
        // etcd v2 stores non-UTF-8 bytes as base64 text (a third larger): ASCII keeps it at 512 KiB there.
        const large = backend.name === 'etcd' ? text(big.toString('base64').slice(0, 512 * 1024)) : big;
        await store.set('many/big-1', large);
        await store.set('many/big-2', large);
        const tree = loadConfigSync(backend.url(prefix), 'many', { codec: binaryCodec, timeout: 120_000 });
        assert.equal(Object.keys(tree).length, 5002);
        assert.deepEqual(tree['big-1'], new Uint8Array(large));
        assert.deepEqual(tree['big-2'], new Uint8Array(large));
        assert.deepEqual(tree.k0000, text('value of many/k0000'));
        assert.deepEqual(tree.k4999, text('value of many/k4999'));
      });
    });

    it('a server that is down: the UNAVAILABLE the async path throws, well before the timeout', async () => {
      const port = await freePort();
      const url = backend.url('x').replace(/\/\/[^/]+\//, `//127.0.0.1:${port}/`);
      let asyncError: unknown;
      const store = await openStore(url);
      try {
        await loadConfig(store, 'cfg');
      } catch (error) {
        asyncError = error;
      } finally {
        await store.close();
      }
      assert.ok(isPolykvError(asyncError));
      // A long timeout: the error must be the store's own, not the deadline.
      assert.throws(() => loadConfigSync(url, 'cfg', { timeout: 120_000 }), hasCode(asyncError.code));
      assert.throws(() => loadConfigSync(url, 'cfg', { timeout: 120_000 }), hasCode('UNAVAILABLE'));
    });

    it('a server that never answers: TIMEOUT after the given timeout, then the process goes on', async () => {
      const silent = await silentServer();
      try {
        const url = backend.url('x').replace(/\/\/[^/]+\//, `//127.0.0.1:${silent.port}/`);
        assert.throws(
          () => loadConfigSync(url, 'cfg', { timeout: 1500 }),
          (error: unknown) =>
            hasCode('TIMEOUT')(error) && /timed out after 1500 ms/.test((error as Error).message),
        );
      } finally {
        await silent.close();
      }
    });
  });
}

describe('loadConfigSync leaves nothing running', { timeout: 120_000 }, () => {
  const run = promisify(execFile);
  // In a child process: once the call returned (or threw), nothing may keep the process alive.
  const script = (url: string, timeout: number) =>
    `import { loadConfigSync } from '@polykv/core';
     try { console.log(JSON.stringify(loadConfigSync(${JSON.stringify(url)}, 'cfg', { timeout: ${timeout} }))); }
     catch (error) { console.log(error.code); }`;

  it('the process exits by itself after a read and after a timeout', async () => {
    const store = await openStore(`consul://${consul.address}/exit-check`);
    const silent = await silentServer();
    try {
      await store.set('cfg/a', '1');
      for (const [url, expected] of [
        [`consul://${consul.address}/exit-check`, '{"a":"1"}'],
        [`etcd://127.0.0.1:${silent.port}/`, 'TIMEOUT'],
      ] as const) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script(url, 1500)], {
          cwd: fileURLToPath(repoPath('.')),
          timeout: 60_000,
        });
        assert.equal(stdout.trim(), expected);
      }
    } finally {
      await silent.close();
      await store.del('', { recursive: true });
      await store.close();
    }
  });
});
