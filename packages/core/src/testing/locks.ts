import assert from 'node:assert/strict';
import { isPolykvError } from '../errors.js';
import type { Lock } from '../lock.js';
import type { Store } from '../store.js';

/**
 * A holder whose lock is deleted by someone else (its queue node, its session): it must be told
 * before a waiting contender holds the lock, and from watching its own lock, not at its next
 * renewal. The TTL is long (30 s: a renewal every 10 s), so a loss heard sooner than a third of it
 * was not heard by renewing. Prints the measured times for the README.
 */
export async function checkForeignDelete(
  name: string,
  holder: Store,
  contender: Store,
  breakLock: (store: Store, lock: Lock) => Promise<void> | void,
): Promise<void> {
  const ttl = Math.max(holder.capabilities.minTtl, 30);
  const renewEveryMs = (ttl * 1000) / 3;
  const held = await holder.lock('foreign', { ttl });
  let lostAt: number | undefined;
  let lostError: unknown;
  held.once('lost', (error) => {
    lostAt = Date.now();
    lostError = error;
  });
  let takenAt: number | undefined;
  const taking = contender.lock('foreign', { ttl, wait: ttl * 3000 }).then((lock) => {
    takenAt = Date.now();
    // The moment the contender holds it, the first holder must already know it does not.
    assert.equal(held.held, false, 'the first holder still believed it held the lock');
    return lock;
  });
  // Let the contender queue up behind the holder (it must be waiting when the lock is broken).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const brokeAt = Date.now();
  await breakLock(holder, held);
  const next = await taking;
  assert.ok(lostAt !== undefined && takenAt !== undefined);
  assert.ok(isPolykvError(lostError) && lostError.code === 'LOCK_LOST');
  assert.ok(lostAt <= takenAt, 'the holder was told before the contender held the lock');
  assert.ok(
    lostAt - brokeAt < renewEveryMs,
    `told after ${lostAt - brokeAt} ms, before its first renewal was due (${renewEveryMs} ms)`,
  );
  assert.equal(held.signal.aborted, true);
  console.log(
    `${name}: a holder whose lock was deleted by someone else was told after ${lostAt - brokeAt} ms; ` +
      `the waiting contender held it after ${takenAt - brokeAt} ms`,
  );
  await next.release();
  await held.release();
}

/**
 * A holder that stalls (its event loop blocked: no timer, no renewal runs) past its TTL reads
 * `held` as false at its first look afterwards, and `lost` has fired by then; another client can
 * then take the lock. The stall is a synchronous busy wait, so that no timer can run first.
 */
export async function checkStalledHolder(holder: Store, contender: Store): Promise<void> {
  const ttl = Math.max(holder.capabilities.minTtl, 1);
  const held = await holder.lock('stalled', { ttl });
  let lost = false;
  held.once('lost', () => (lost = true));
  const until = Date.now() + ttl * 1000;
  while (Date.now() < until) {
    // Stalled: nothing else runs in this process.
  }
  assert.equal(held.held, false, 'a holder stalled past its TTL must not read held');
  assert.equal(lost, true, 'lost fired at that first look');
  assert.equal(held.signal.aborted, true);
  await held.release();
  const next = await contender.lock('stalled', { ttl, wait: ttl * 3000 + 20_000 });
  assert.ok(next.fencingToken > held.fencingToken);
  await next.release();
}
