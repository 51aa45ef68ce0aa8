import assert from 'node:assert/strict';
import { isPolykvError } from '../../errors.js';
import type { Lock } from '../../lock.js';
import type { Store } from '../../store.js';
import { delay, expectCode, type StoreTest, type SuiteInfo } from './support.js';

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
  // The holder and the contender learn of the delete from the server independently (on etcd, each
  // through its own watch; the contender then reads the queue), so which of the two acts first is a
  // race of a few milliseconds; what is promised is that the holder is told at once, not at its
  // next renewal. (This suite once asserted the order: it held by 3 ms and failed under load.)
  const taking = contender.lock('foreign', { ttl, wait: ttl * 3000 }).then((lock) => {
    takenAt = Date.now();
    return lock;
  });
  // Let the contender queue up behind the holder (it must be waiting when the lock is broken).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const brokeAt = Date.now();
  await breakLock(holder, held);
  const next = await taking;
  // The contender may hold it a few ms before the holder's own watch has told it (the race above):
  // the promise is "within 1 s", so wait for that long at most, not for the contender's order.
  const promised = brokeAt + Math.min(1000, renewEveryMs);
  while (lostAt === undefined && Date.now() < promised) await delay(5);
  assert.ok(lostAt !== undefined && takenAt !== undefined);
  assert.ok(isPolykvError(lostError) && lostError.code === 'LOCK_LOST');
  assert.ok(
    lostAt - brokeAt < Math.min(1000, renewEveryMs),
    `told after ${lostAt - brokeAt} ms: within 1 s, long before its first renewal (${renewEveryMs} ms)`,
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

/** Locks: exclusion, waiting (signal, timeout, `wait`), loss behind the holder, fencing tokens. */
export function lockTests(test: StoreTest, suite: SuiteInfo): void {
  test('exclusive: a second taker times out, and gets it after release; relock works', async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 5);
    const held = await a.lock('res', { ttl });
    assert.equal(held.held, true);
    await assert.rejects(b.lock('res', { ttl, wait: 0 }), expectCode('TIMEOUT'));
    await assert.rejects(b.lock('res', { ttl, wait: 300 }), expectCode('TIMEOUT'));
    await held.release();
    assert.equal(held.held, false);
    const second = await b.lock('res', { ttl, wait: 5000 });
    await second.release();
    const third = await a.lock('res', { ttl, wait: 5000 });
    await third.release();
  }, 30_000);

  test('LockWait: a waiter stays blocked while held, then acquires promptly after release', async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 5);
    const held = await a.lock('res', { ttl });
    let acquiredAt = 0;
    const waiter = b.lock('res', { ttl }).then((lock) => {
      acquiredAt = Date.now();
      return lock;
    });
    await delay(2000);
    assert.equal(acquiredAt, 0, 'the waiter is still blocked');
    const releasedAt = Date.now();
    await held.release();
    const second = await waiter;
    assert.ok(acquiredAt - releasedAt < 5000, 'acquired soon after release');
    assert.ok(second.fencingToken > held.fencingToken, 'fencing token grows');
    await second.release();
  }, 30_000);

  test('fencing tokens grow with every acquisition', async (open) => {
    const store = await open();
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await store.lock('fence', { ttl: Math.max(store.capabilities.minTtl, 5) });
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    assert.ok(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!, `tokens ${tokens.join(', ')} grow`);
  }, 30_000);

  test('a lock lost behind its holder: lost event, aborted signal, and another client can take it', async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 3);
    const held = await a.lock('lost', { ttl });
    const lost = new Promise<unknown>((resolve) => held.once('lost', resolve));
    await suite.breakLock(a, held);
    const error = await lost;
    expectCode('LOCK_LOST')(error);
    assert.equal(held.signal.aborted, true);
    assert.equal(held.held, false);
    const next = await b.lock('lost', { ttl, wait: ttl * 1000 * 3 + 20_000 });
    assert.ok(next.fencingToken > held.fencingToken);
    await next.release();
    await held.release();
  }, 90_000);

  test('a holder whose lock is deleted by someone else is told within 1 s, not at its next renewal', async (open) => {
    await checkForeignDelete(suite.name, await open(), await open(), suite.breakLock);
  }, 90_000);

  test('a holder stalled past its TTL reads held as false at its first look, before any timer ran', async (open) => {
    await checkStalledHolder(await open(), await open());
  }, 90_000);

  test('bad lock options reject with INVALID_ARGUMENT and take nothing', async (open) => {
    const store = await open();
    await assert.rejects(store.lock('res', { wait: 'soon' as never }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.lock('res', { wait: -1 }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.lock('res', { ttl: 0 }), expectCode('INVALID_ARGUMENT'));
    await assert.rejects(store.lock('../res'), expectCode('INVALID_ARGUMENT'));
    const lock = await store.lock('res', { ttl: Math.max(store.capabilities.minTtl, 5), wait: 5000 });
    await lock.release();
  });

  test('waiting for a lock honours signal and timeout', async (open) => {
    const [a, b] = [await open(), await open()];
    const ttl = Math.max(a.capabilities.minTtl, 5);
    const held = await a.lock('res', { ttl });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(b.lock('res', { ttl, signal: controller.signal }), expectCode('ABORTED'));
    await assert.rejects(b.lock('res', { ttl, timeout: 200 }), expectCode('TIMEOUT'));
    await held.release();
    const after = await b.lock('res', { ttl, wait: 5000 });
    await after.release();
  }, 30_000);

  test('mutual exclusion: contenders increment a counter without CAS and lose no update', async (open) => {
    const stores = [await open(), await open(), await open()];
    const ttl = Math.max(stores[0]!.capabilities.minTtl, 5);
    await stores[0]!.set('count', '0');
    let acquisitions = 0;
    let holders = 0;
    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 4; i++) {
          const lock = await store.lock('count', { ttl });
          holders++;
          acquisitions++;
          assert.equal(holders, 1, 'one holder at a time');
          const current = Number((await store.get('count', { consistent: true }))!.value);
          await delay(5);
          await store.set('count', String(current + 1));
          holders--;
          await lock.release();
        }
      }),
    );
    assert.equal((await stores[0]!.get('count'))?.value, String(acquisitions));
  }, 60_000);
}
