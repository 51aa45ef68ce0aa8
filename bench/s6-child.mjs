// S6 in its own process, so that sockets, RSS and heap belong to one contender only.
// Protocol (IPC with bench/run.mjs): child → { type: 'armed', ... }; parent writes `${value}-${i}` to
// key i and sends { type: 'written' }; child → { type: 'result', ... } and exits.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import * as factories from './lib/contenders.mjs';
import { sleep } from './lib/stats.mjs';

const {
  contender: factoryName,
  origin,
  watchers,
  prefix,
  armMs,
  waitMs,
  value,
} = JSON.parse(process.argv[2]);
const port = Number(new URL(origin).port);
const gc = globalThis.gc ?? (() => undefined);

// The sampler runs every 100 ms while the watchers arm, so it must not allocate much itself: parsing
// /proc/self/net/tcp into strings (thousands of lines once earlier runs leave TIME_WAIT sockets)
// made megabytes of garbage per second, which V8 answered by growing its young generation, and that
// growth counted as RSS "per watcher". It reads into one reused buffer and looks only at the lines
// of established connections to the server's port.
let scratch = Buffer.alloc(1 << 20);
/** `:PPPP 01 `: the remote port (hex) followed by the state ESTABLISHED, as /proc/net/tcp{,6} show them. */
const established = Buffer.from(`:${port.toString(16).toUpperCase().padStart(4, '0')} 01 `, 'latin1');

/** Reads a /proc file into `scratch`; returns its length. */
function readProc(file) {
  const fd = openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.alloc(scratch.length * 2);
        scratch.copy(bigger);
        scratch = bigger;
      }
      const read = readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) return length;
      length += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** The 10th field (inode) of the line around `at` in `scratch`. */
function inodeOfLine(at) {
  let i = scratch.lastIndexOf(10, at) + 1;
  for (let field = 0; ; field++) {
    while (scratch[i] === 32) i++;
    const start = i;
    while (scratch[i] !== 32 && scratch[i] !== 10 && i < scratch.length) i++;
    if (field === 9) return scratch.latin1Slice(start, i);
  }
}

/** Established TCP connections of this process to the server's port (fd inodes ∩ /proc/net/tcp). */
function sockets() {
  const inodes = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // The fd closed meanwhile.
    }
  }
  let count = 0;
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    let length;
    try {
      length = readProc(file);
    } catch {
      continue;
    }
    for (
      let at = scratch.indexOf(established);
      at !== -1 && at + established.length <= length;
      at = scratch.indexOf(established, at + 1)
    )
      if (inodes.has(inodeOfLine(at))) count++;
  }
  return count;
}

function memory() {
  gc();
  gc();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]),
  );
  // RSS split as the kernel counts it: anonymous memory (heaps) and pages of mapped files (the
  // node binary's code, paged in as V8 first runs its optimizing compiler, say).
  const status = readFileSync('/proc/self/status', 'latin1');
  const kB = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss, heapUsed, heapTotal, external, spaces, rssAnon: kB('RssAnon'), rssFile: kB('RssFile') };
}

const contender = await factories[factoryName](origin);
// One watcher started and stopped first, so that the baseline is a client that has watched once:
// loading and compiling undici's parser and the watch code is a fixed cost, not a per-watcher one.
try {
  const warm = await Promise.race([contender.watch(`${prefix}/warm-up`, () => undefined), sleep(5000)]);
  await warm?.stop?.();
} catch {
  // A contender that cannot watch fails below, where it counts.
}
const base = memory();
const delivered = new Set();
// Unique to this run, so no earlier value can count.
const expected = value;
let errors = 0;
process.on('unhandledRejection', () => errors++);
let peakSockets = 0;
const sampler = setInterval(() => {
  peakSockets = Math.max(peakSockets, sockets());
}, 100);

for (let i = 0; i < watchers; i++) {
  const key = `${prefix}/k${i}`;
  // Not awaited: some watchers only resolve once armed, and past a server's limits some never are.
  Promise.resolve(
    contender.watch(key, (got) => {
      if (got === `${expected}-${i}`) delivered.add(i);
    }),
  ).catch(() => errors++);
}
await sleep(armMs);
const armedSockets = sockets();
const armed = memory();
process.send({
  type: 'armed',
  sockets: armedSockets,
});

// The parent writes every key, then says so; events that arrive meanwhile count too.
const started = Date.now();
await new Promise((resolve) => process.once('message', resolve));
while (delivered.size < watchers && Date.now() - started < waitMs) await sleep(50);
const elapsedMs = Date.now() - started;
const after = memory();
clearInterval(sampler);
peakSockets = Math.max(peakSockets, sockets());
process.send({
  type: 'result',
  delivered: delivered.size,
  elapsedMs,
  armedSockets,
  peakSockets,
  rssPerWatcher: (armed.rss - base.rss) / watchers,
  heapPerWatcher: (armed.heapUsed - base.heapUsed) / watchers,
  rssGrowth: after.rss - base.rss,
  heapGrowth: after.heapUsed - base.heapUsed,
  // Where the armed RSS growth sits (diagnosis; saved in the run's JSON, not in the report): V8's
  // heap as reserved (heapTotal), memory outside it that V8 knows of (external), and the rest.
  armedGrowth: {
    heapTotal: armed.heapTotal - base.heapTotal,
    external: armed.external - base.external,
    other: armed.rss - base.rss - (armed.heapTotal - base.heapTotal) - (armed.external - base.external),
    rssAnon: armed.rssAnon - base.rssAnon,
    rssFile: armed.rssFile - base.rssFile,
    // heapTotal by V8 space (new_space is the young generation's reserve, empty after the GCs).
    spaces: Object.fromEntries(
      Object.entries(armed.spaces).map(([name, size]) => [name, size - (base.spaces[name] ?? 0)]),
    ),
  },
  errors,
});
// The servers may hold the polls open; the parent only needs the numbers.
setTimeout(() => process.exit(0), 50);
