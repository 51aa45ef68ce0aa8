// The polykv quick start, against memory:// (no server needed). The same code runs against etcd or
// Consul by changing the URL: POLYKV_URL=etcd://127.0.0.1:2379/demo node examples/quickstart.mjs
import { openStore, isPolykvError } from '@polykv/core';

const url = process.env.POLYKV_URL ?? 'memory://demo/app';
const store = await openStore(url);
const say = (...parts) => console.log('  ', ...parts);
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
console.log(`polykv quick start against ${url} (${store.kind})`);

// A watch first: it delivers the current state, then every change, and never ends silently.
const watcher = store.watch('config', { recursive: true });
watcher.on('put', (event) =>
  say(`watch: put ${event.key} = ${event.value}${event.initial ? ' (initial)' : ''} @${event.index}`),
);
watcher.on('delete', (event) => say(`watch: delete ${event.key} @${event.index}`));
watcher.on('error', (error) => say(`watch error: ${error.code} ${error.message}`));
await new Promise((resolve) => watcher.once('connected', resolve));

await store.set('config/db/host', 'db.internal');
const port = await store.set('config/db/port', '5432');
await tick();
say(
  'list config (recursive):',
  (await store.list('config', { recursive: true }))
    .map((e) => (e.dir ? `${e.key}/` : `${e.key}=${e.value}`))
    .join(', '),
);

// Compare-and-swap: only one of two writers that read the same version wins.
await store.compareAndSwap('config/db/port', '6432', { prevIndex: port.index });
try {
  await store.compareAndSwap('config/db/port', '7432', { prevIndex: port.index });
} catch (error) {
  if (isPolykvError(error)) say(`second CAS refused as expected: ${error.code}`);
  else throw error;
}

await tick();

// In-order keys and a lock with a fencing token.
const job = await store.push('queue', 'send-report');
say(`pushed ${job.key}`);
const lock = await store.lock('report-writer', { ttl: 5 });
say(`lock held, fencing token ${lock.fencingToken}`);
await lock.release();

await store.del('config/db', { recursive: true });
await tick();
await store.close();
console.log('done: every socket, timer and watcher closed');
