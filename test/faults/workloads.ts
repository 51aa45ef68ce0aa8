import assert from 'node:assert/strict';
import type { Lock, Store, WatchEvent } from '@polykv/core';
import { bounded, sleep, totals } from './harness.js';

// The loads the fault scenarios run: sequence-numbered writers and their watchers, lock contenders
// on a shared counter, and a holder cut off from its servers.

/** Sequence-numbered writers: each writes `w<i>/<seq>` (a new key per write) until stopped. */
export interface WriterLog {
  acked: Set<string>;
  uncertain: Set<string>;
}

export async function runWriters(
  store: Store,
  count: number,
  stop: AbortSignal,
  boundMs: number,
  pauseMs = 20,
): Promise<WriterLog> {
  const log: WriterLog = { acked: new Set(), uncertain: new Set() };
  await Promise.all(
    Array.from({ length: count }, async (_, writer) => {
      for (let seq = 0; !stop.aborted; seq++) {
        const key = `w${writer}/${String(seq).padStart(6, '0')}`;
        const result = await bounded(`set ${key}`, boundMs, () => store.set(key, `${writer}:${seq}`));
        if (result.ok) log.acked.add(key);
        else log.uncertain.add(key);
        await sleep(pauseMs);
      }
    }),
  );
  return log;
}

/** Collects a recursive watcher's key events, checking order and uniqueness as they come. */
export class WatchLog {
  readonly puts = new Map<string, number[]>();
  readonly problems: string[] = [];
  readonly seen = new Set<string>();
  #lastIndex = 0;
  connects = 0;

  constructor(
    readonly name: string,
    watcher: {
      on(event: 'change', fn: (event: WatchEvent) => void): unknown;
      on(event: 'connected', fn: () => void): unknown;
      on(event: 'error', fn: (error: unknown) => void): unknown;
    },
    readonly strictOrder: boolean,
  ) {
    watcher.on('connected', () => this.connects++);
    watcher.on('error', (error) => this.problems.push(`${name}: terminal error ${String(error)}`));
    watcher.on('change', (event) => {
      if (event.type === 'resync') return;
      totals.events++;
      const id = `${event.type} ${event.key} @${event.index}`;
      if (this.seen.has(id)) this.problems.push(`${name}: duplicate event ${id}`);
      this.seen.add(id);
      if (this.strictOrder && event.index < this.#lastIndex)
        this.problems.push(`${name}: ${id} after index ${this.#lastIndex}`);
      this.#lastIndex = Math.max(this.#lastIndex, event.index);
      if (event.type === 'put') {
        const list = this.puts.get(event.key) ?? [];
        list.push(event.index);
        this.puts.set(event.key, list);
      }
    });
  }

  /** Acknowledged keys this watcher has not seen a put for. */
  missing(acked: Iterable<string>): string[] {
    return [...acked].filter((key) => !this.puts.has(key));
  }
}

/** What {@link runLockContenders} counts (live: the fault rotation reads it while the run goes on). */
export interface LockCounts {
  acquisitions: number;
  increments: number;
  uncertain: number;
  lost: number;
  retried: number;
  problems: string[];
  /** What each contender is doing, and since when (ms since the epoch): printed when progress stalls. */
  doing: { what: string; since: number }[];
}

export function lockCounts(): LockCounts {
  return { acquisitions: 0, increments: 0, uncertain: 0, lost: 0, retried: 0, problems: [], doing: [] };
}

/** The contenders' states, for a failure's log line. */
export function describeDoing(result: LockCounts): string {
  const now = Date.now();
  return result.doing.map(({ what, since }, me) => `${me}: ${what} for ${now - since} ms`).join('; ');
}

/**
 * Lock contenders incrementing a shared counter: read, pause, write read+1, release. A holder acts
 * only while `lock.held`; when a new holder acquires, every other contender must already know it
 * lost (or have released). Returns the counts to compare with the counter.
 *
 * The write is fenced by the index just read, as the README tells users to do: a write attempt
 * that failed as uncertain (its request sat in a paused member) can still be applied seconds
 * later, after the lock moved on, and an unfenced copy would then roll the counter back (seen in
 * CI: counter 216 after 218 increments, no double holder). The fence does not hide a second
 * holder: two holders that read the same value both write read+1, and the counter falls behind
 * the increments; a holder that finds the counter changed to anything but its own value records
 * a problem (unless a write of a holder that lost its lock is still in the air: `uncertain`).
 */
export async function runLockContenders(
  stores: Store[],
  stop: AbortSignal,
  options: { ttl: number; boundMs: number; holdMs: number },
  result: LockCounts = lockCounts(),
): Promise<LockCounts> {
  const current: (Lock | undefined)[] = stores.map(() => undefined);
  let lastToken = -1;
  await Promise.all(
    stores.map(async (store, me) => {
      const doing = (what: string): void => {
        result.doing[me] = { what, since: Date.now() };
      };
      while (!stop.aborted) {
        doing('lock');
        const acquired = await bounded(
          `lock by ${me}`,
          options.boundMs + options.ttl * 3000,
          () => store.lock('counter', { ttl: options.ttl, timeout: options.boundMs }),
          // LOCK_LOST: our queue node or session vanished while we waited (a member restarted).
          ['UNAVAILABLE', 'TIMEOUT', 'BACKEND_ERROR', 'LOCK_LOST'],
        );
        if (!acquired.ok) {
          doing(`pause after lock failed (${acquired.code})`);
          await sleep(100);
          continue;
        }
        const lock = acquired.value;
        for (const [other, held] of current.entries()) {
          if (held?.held)
            result.problems.push(`contender ${me} acquired while ${other} still believed it held the lock`);
        }
        if (lock.fencingToken <= lastToken)
          result.problems.push(`fencing token ${lock.fencingToken} after ${lastToken}`);
        lastToken = Math.max(lastToken, lock.fencingToken);
        current[me] = lock;
        result.acquisitions++;
        totals.acquisitions++;
        lock.on('lost', () => result.lost++);
        try {
          doing(`read counter (token ${lock.fencingToken})`);
          const read = await bounded('read counter', options.boundMs + 5000, () =>
            store.get('counter', { consistent: true }),
          );
          if (!read.ok || !lock.held) continue;
          const before = read.value;
          const next = String(Number(before?.value ?? '0') + 1);
          await sleep(options.holdMs);
          for (let attempt = 0; ; attempt++) {
            if (!lock.held) {
              // Lost while waiting to retry: the failed attempt before may still be applied.
              if (attempt > 0) result.uncertain++;
              break;
            }
            if (attempt > 0) result.retried++;
            doing(`write counter, attempt ${attempt} (token ${lock.fencingToken})`);
            const written = await bounded('write counter', options.boundMs + 5000, () =>
              store.compareAndSwap(
                'counter',
                next,
                before === null ? { prevExist: false } : { prevIndex: before.index },
              ),
            );
            if (written.ok || written.code === 'COMPARE_FAILED' || written.code === 'ALREADY_EXISTS') {
              // A refused fence after a failed attempt is that attempt, applied after all: the
              // counter holds our value. Anything else means somebody wrote under our lock.
              if (!written.ok) {
                const now = await bounded('re-read counter', options.boundMs + 5000, () =>
                  store.get('counter', { consistent: true }),
                );
                if (!now.ok) continue;
                if (now.value?.value !== next || attempt === 0) {
                  // An earlier holder's write that ended uncertain (its lock lost meanwhile) may
                  // land here; without one, this is a second writer under our lock.
                  if (result.uncertain > 0) break;
                  result.problems.push(
                    `contender ${me}: the counter changed under its lock (read ${before?.value ?? 'nothing'}, now ${now.value?.value ?? 'nothing'})`,
                  );
                  break;
                }
              }
              if (lock.held) result.increments++;
              else result.uncertain++;
              break;
            }
            if (!lock.held) {
              result.uncertain++;
              break;
            }
            // A killed server refuses at once: do not spin while the lock outlives it.
            await sleep(50);
          }
        } finally {
          current[me] = undefined;
          doing(`release (token ${lock.fencingToken})`);
          await lock.release({ timeout: options.boundMs }).catch(() => undefined);
        }
      }
    }),
  );
  return result;
}

/**
 * A holder behind `partition` (its network black-holed) must hear that it lost the lock before
 * `contender` (on an intact path) acquires it. Returns the two moments, for the log line.
 */
export async function lossBeforeTakeover(
  holder: Store,
  contender: Store,
  partition: { cut(): void; heal(): void },
  ttl: number,
  boundMs: number,
): Promise<{ lostAfterMs: number; takenAfterMs: number }> {
  const lock = await holder.lock('takeover', { ttl });
  totals.acquisitions++;
  let lostAt: number | undefined;
  lock.on('lost', () => (lostAt = Date.now()));
  const cutAt = Date.now();
  partition.cut();
  totals.faults++;
  try {
    const taken = await bounded(
      'takeover lock',
      boundMs,
      () => contender.lock('takeover', { ttl, timeout: boundMs - 5000 }),
      [],
    );
    const takenAt = Date.now();
    assert.ok(taken.ok);
    totals.acquisitions++;
    assert.ok(lostAt !== undefined, 'the partitioned holder was told it lost the lock before the takeover');
    assert.ok(lostAt <= takenAt, 'lost before the new holder acquired');
    assert.equal(lock.held, false);
    assert.ok(lock.signal.aborted, "the holder's signal is aborted");
    await taken.value.release();
    return { lostAfterMs: lostAt - cutAt, takenAfterMs: takenAt - cutAt };
  } finally {
    partition.heal();
  }
}
