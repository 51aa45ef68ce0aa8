// S6 for one v3 contender in its own process: 1,000 watchers, sockets to the server, events delivered.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { TRANSPORT_CONTENDERS as contenders } from '../lib/contenders-etcd3.mjs';

const [name, origin, count, tag] = process.argv.slice(2);
const watchers = Number(count);
const port = Number(new URL(origin).port).toString(16).toUpperCase().padStart(4, '0');

/** Established connections of this process to the server's port (fd inodes ∩ /proc/net/tcp). */
function sockets() {
  const inodes = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[2]?.endsWith(`:${port}`) && fields[3] === '01' && inodes.has(fields[9])) n++;
    }
  }
  return n;
}

const client = await contenders[name](origin);
const delivered = new Set();
const started = Date.now();
// Bounded: a contender that never says its watchers are armed is measured as it is after 15 s.
await Promise.race([
  new Promise((resolve) => setTimeout(resolve, 15_000)),
  Promise.all(
    Array.from({ length: watchers }, (_, i) =>
      client.watch(`s6/${tag}/k${i}`, (value) => {
        if (value === `${tag}-${i}`) delivered.add(i);
      }),
    ),
  ),
]);
const armMs = Date.now() - started;
await new Promise((resolve) => setTimeout(resolve, 500));
const armedSockets = sockets();
globalThis.gc?.();
const rssMb = process.memoryUsage().rss / 1e6;
process.send({ type: 'armed' });
await new Promise((resolve) => process.once('message', resolve));
const written = Date.now();
while (delivered.size < watchers && Date.now() - written < 20_000)
  await new Promise((r) => setTimeout(r, 50));
process.send({
  type: 'result',
  delivered: delivered.size,
  armMs,
  armedSockets,
  peakSockets: Math.max(armedSockets, sockets()),
  rssMb,
});
setTimeout(() => process.exit(0), 50);
