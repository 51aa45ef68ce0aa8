// A lock holder in a process of its own, for tests that stop it (SIGSTOP) past its TTL:
//   node lock-holder.js <store URL> <key> <ttl seconds>
// prints `held <fencingToken>` once it holds the lock, then answers each `status` line on stdin
// with one JSON line of what it believes: { held, aborted, lost }. `held` is read first, as an
// application about to act would. Exits when stdin closes (the test process is gone).
import { createInterface } from 'node:readline';
import { openStore } from '@polykv/core';

const [url, key, ttl] = process.argv.slice(2);
const store = await openStore(url!);
const lock = await store.lock(key!, { ttl: Number(ttl) });
let lostAt: number | undefined;
lock.on('lost', () => (lostAt = Date.now()));
process.stdout.write(`held ${lock.fencingToken}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line !== 'status') return;
  const held = lock.held;
  process.stdout.write(
    `${JSON.stringify({ held, aborted: lock.signal.aborted, lost: lostAt !== undefined })}\n`,
  );
});
lines.on('close', () => process.exit(0));
