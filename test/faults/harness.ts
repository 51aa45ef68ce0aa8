import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isPolykvError, type Lock, type PolykvErrorCode, type Store, type WatchEvent } from '@polykv/core';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

/** The figures the fault suite prints, so they can be quoted. */
export const totals = { faults: 0, operations: 0, events: 0, acquisitions: 0, typedErrors: 0 };

/** Unhandled rejections seen while the fault suite ran: there must be none. */
export const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => void unhandled.push(reason));

export function printTotals(label: string): void {
  console.log(
    `fault-suite totals (${label}): faults=${totals.faults} operations=${totals.operations} ` +
      `events=${totals.events} acquisitions=${totals.acquisitions} typed-errors=${totals.typedErrors}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Codes a call may end with under network and process faults (besides success). */
export const FAULT_CODES: readonly PolykvErrorCode[] = [
  'UNAVAILABLE',
  'TIMEOUT',
  'BACKEND_ERROR',
  'COMPARE_FAILED',
  'ALREADY_EXISTS',
  'NOT_FOUND',
];

/**
 * Runs one call and checks that it ends within `boundMs` (the call's timeout plus a generous
 * margin) in success or a typed error with one of `codes`. Counts it.
 */
export async function bounded<T>(
  what: string,
  boundMs: number,
  call: () => Promise<T>,
  codes: readonly PolykvErrorCode[] = FAULT_CODES,
): Promise<{ ok: true; value: T } | { ok: false; code: PolykvErrorCode }> {
  totals.operations++;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), boundMs);
  });
  try {
    const outcome = await Promise.race([
      call().then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      hang,
    ]);
    assert.notEqual(outcome, 'hang', `${what} did not end within ${boundMs} ms`);
    if (outcome === 'hang') throw new Error('unreachable');
    if (outcome.ok) return outcome;
    const error = outcome.error;
    assert.ok(isPolykvError(error), `${what} rejected with an untyped error: ${String(error)}`);
    assert.ok(codes.includes(error.code), `${what} rejected with ${error.code}: ${error.message}`);
    totals.typedErrors++;
    return { ok: false, code: error.code };
  } finally {
    clearTimeout(timer);
  }
}

/** Counts of the handles that would keep a process alive (sockets and timers). */
export function liveHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((name) => name === 'TCPSocketWrap' || name === 'TLSWrap').length,
    timers: info.filter((name) => name === 'Timeout').length,
  };
}

/**
 * After `close()`: waits (up to `ms`) until no more sockets and timers are alive than `baseline`
 * (the proxies' own sockets close once the client's side has gone, so allow a moment).
 */
export async function expectNoLeaks(
  baseline: { sockets: number; timers: number },
  what: string,
  ms = 8000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const now = liveHandles();
    if (now.sockets <= baseline.sockets && now.timers <= baseline.timers) return;
    if (Date.now() - started > ms) {
      assert.fail(
        `${what}: ${now.sockets} sockets and ${now.timers} timers alive after close(), ` +
          `${baseline.sockets} and ${baseline.timers} before (${process.getActiveResourcesInfo().join(', ')})`,
      );
    }
    await sleep(100);
  }
}

/** Every proxy fault mode, applied to `proxies` for `ms` each while `load` runs. */
export async function cycleProxyFaults(proxies: TcpProxy[], ms: number): Promise<void> {
  const modes: (() => void)[] = [
    () => proxies.forEach((p) => p.setDelay(300)),
    () => proxies.forEach((p) => p.resetAll()),
    () => proxies.forEach((p) => p.setMode({ kind: 'truncate', bytes: 40 })),
    () =>
      proxies.forEach((p) =>
        p.setMode({ kind: 'garbage', bytes: Buffer.from('HTTP/1.1 200 OK\r\n\r\n{{{') }),
      ),
    () => proxies.forEach((p) => p.setMode({ kind: 'garbage', bytes: Buffer.from('\u0000\u00ffnot http') })),
    () => proxies.forEach((p) => p.setMode({ kind: 'refuse' })),
    () => proxies.forEach((p) => p.setMode({ kind: 'blackhole' })),
  ];
  for (const apply of modes) {
    apply();
    totals.faults++;
    await sleep(ms);
    proxies.forEach((p) => {
      p.pass();
      p.resetAll();
    });
    await sleep(200);
  }
}

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

/** Waits until `check()` or `ms` pass. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) return false;
    await sleep(100);
  }
  return true;
}

/** What {@link runLockContenders} counts (live: the fault rotation reads it while the run goes on). */
export interface LockCounts {
  acquisitions: number;
  increments: number;
  uncertain: number;
  lost: number;
  retried: number;
  problems: string[];
}

export function lockCounts(): LockCounts {
  return { acquisitions: 0, increments: 0, uncertain: 0, lost: 0, retried: 0, problems: [] };
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
      while (!stop.aborted) {
        const acquired = await bounded(
          `lock by ${me}`,
          options.boundMs + options.ttl * 3000,
          () => store.lock('counter', { ttl: options.ttl, timeout: options.boundMs }),
          // LOCK_LOST: our queue node or session vanished while we waited (a member restarted).
          ['UNAVAILABLE', 'TIMEOUT', 'BACKEND_ERROR', 'LOCK_LOST'],
        );
        if (!acquired.ok) {
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
          const read = await bounded('read counter', options.boundMs + 5000, () =>
            store.get('counter', { consistent: true }),
          );
          if (!read.ok || !lock.held) continue;
          const before = read.value;
          const next = String(Number(before?.value ?? '0') + 1);
          await sleep(options.holdMs);
          for (let attempt = 0; ; attempt++) {
            if (!lock.held) break;
            if (attempt > 0) result.retried++;
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

/** A cluster member the fault rotation can kill, restart, pause and resume. */
export interface FaultableMember {
  kill(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

/** Called once a fault is over (the member is back); the next fault waits for it. */
export type AfterFault = (fault: string) => Promise<void>;

/**
 * Until `stop`: kills and restarts a member, pauses and resumes one, resets every proxy, in turn
 * (every other round aims at the leader), counting each fault in `totals`. After each fault,
 * `afterFault` (a progress check) runs before the next one.
 */
export async function rotateMemberFaults(
  stop: AbortSignal,
  members: readonly FaultableMember[],
  leader: () => Promise<FaultableMember>,
  proxies: readonly TcpProxy[],
  settleMs: number,
  afterFault?: AfterFault,
): Promise<void> {
  let round = 0;
  while (!stop.aborted) {
    const member = round % 2 === 0 ? await leader() : members[round % members.length]!;
    let fault: string;
    switch (round % 3) {
      case 0:
        fault = `kill and restart (round ${round})`;
        await member.kill();
        totals.faults++;
        await sleep(1500);
        await member.restart();
        break;
      case 1:
        fault = `pause and resume (round ${round})`;
        member.pause();
        totals.faults++;
        await sleep(2000);
        member.resume();
        break;
      default:
        fault = `proxy resets (round ${round})`;
        for (const proxy of proxies) proxy.resetAll();
        totals.faults++;
    }
    round++;
    if (!stop.aborted) await afterFault?.(fault);
    await sleep(settleMs);
  }
}

/** What the two scenarios below need from a backend's fault test. */
export interface FaultScenario {
  /** `etcd` or `consul`, for the printed lines. */
  backend: string;
  /** A store through the fault-injecting proxies. */
  open(prefix: string): Store;
  /** A store straight to the servers (no proxy), to check the outcome. */
  direct(prefix: string): Store;
  /** Kills, pauses and resets servers until `stop` aborts, calling `afterFault` after each. */
  faults(stop: AbortSignal, afterFault: AfterFault): Promise<void>;
}

/**
 * Runs `load` with server faults from its second second on, for 20 s and at least one fault of each
 * kind (three rounds), however long a slow machine takes for them; returns what `load` returns.
 */
async function underFaults<T>(
  scenario: FaultScenario,
  load: (stop: AbortSignal) => Promise<T>,
  afterFault?: AfterFault,
): Promise<T> {
  const stop = new AbortController();
  const running = load(stop.signal);
  await sleep(1000);
  let faults = 0;
  let failed = false;
  const faulting = scenario.faults(stop.signal, async (fault) => {
    await afterFault?.(fault);
    faults++;
  });
  faulting.catch(() => (failed = true));
  try {
    await sleep(20_000);
    while (faults < 3 && !failed) await sleep(100);
  } finally {
    stop.abort();
  }
  const result = await running;
  await faulting;
  return result;
}

/**
 * Sequence-numbered writers under server faults, watched through the proxies and directly: every
 * acknowledged write is stored and seen by both watchers, in order, once.
 */
export async function writersAndWatchersUnderFaults(scenario: FaultScenario, boundMs: number): Promise<void> {
  const prefix = `faults/${randomBytes(4).toString('hex')}`;
  const writer = scenario.open(prefix);
  const reader = scenario.direct(prefix);
  const proxiedStore = scenario.open(prefix);
  const viaProxy = proxiedStore.watch('', { recursive: true });
  const viaServers = reader.watch('', { recursive: true });
  const logs = [
    new WatchLog('proxied watcher', viaProxy, true),
    new WatchLog('direct watcher', viaServers, true),
  ];
  // Everything is closed on every path: an open watch keeps the test file's process alive for good.
  try {
    const log = await underFaults(scenario, (stop) => runWriters(writer, 3, stop, boundMs));
    // Any progress at all: how many writes fit in the run depends on the machine, not on polykv.
    assert.ok(log.acked.size > 0, `writes were acknowledged (${log.acked.size})`);
    for (const watch of logs) {
      await eventually(() => watch.missing(log.acked).length === 0, 30_000);
      assert.deepEqual(watch.problems, [], `${watch.name}: no duplicate or out-of-order event`);
      assert.deepEqual(
        watch.missing(log.acked).slice(0, 10),
        [],
        `${watch.name}: no acknowledged write missed`,
      );
    }
    const stored = new Set(
      (await reader.list('', { recursive: true, consistent: true })).filter((e) => !e.dir).map((e) => e.key),
    );
    const lost = [...log.acked].filter((key) => !stored.has(key));
    assert.deepEqual(lost, [], 'no acknowledged write is lost');
    console.log(
      `${scenario.backend} writers: ${log.acked.size} acknowledged, ${log.uncertain.size} failed with a typed error ` +
        `(${[...log.uncertain].filter((key) => stored.has(key)).length} of those applied anyway)`,
    );
  } finally {
    await viaProxy.close();
    await viaServers.close();
    await Promise.all([writer.close(), reader.close(), proxiedStore.close()]);
  }
}

/**
 * How long the contenders may take to increment the counter once a fault is over: an election, a
 * lost holder's TTL (5 s) running out and a few round trips, with ample room for a loaded machine.
 * Only a bound against hanging: the test asserts that progress came, not how fast.
 */
const PROGRESS_BOUND_MS = 40_000;

/**
 * Four lock contenders under server faults (see {@link runLockContenders}). Progress is checked
 * against the faults, not the clock: after every fault the contenders increment the counter again
 * before the next fault comes (a count of increments in a fixed time failed on a loaded machine).
 */
export async function lockContendersUnderFaults(scenario: FaultScenario, boundMs: number): Promise<void> {
  const prefix = `faults/${randomBytes(4).toString('hex')}`;
  const stores = Array.from({ length: 4 }, () => scenario.open(prefix));
  const result = lockCounts();
  const phases: { fault: string; progressed: boolean; afterMs: number }[] = [];
  const afterFault = async (fault: string): Promise<void> => {
    const before = result.increments;
    const started = Date.now();
    const progressed = await eventually(() => result.increments > before, PROGRESS_BOUND_MS);
    phases.push({ fault, progressed, afterMs: Date.now() - started });
  };
  await underFaults(
    scenario,
    (stop) => runLockContenders(stores, stop, { ttl: 5, boundMs, holdMs: 30 }, result),
    afterFault,
  );
  const checker = scenario.direct(prefix);
  const counter = Number((await checker.get('counter', { consistent: true }))?.value ?? '0');
  console.log(
    `${scenario.backend} locks: ${result.acquisitions} acquisitions, ${result.increments} increments, ` +
      `${result.uncertain} uncertain, ${result.lost} lost, ${result.retried} retried writes, counter ${counter}; ` +
      `first increment after each fault: ${phases.map((phase) => `${phase.afterMs} ms`).join(', ')}`,
  );
  assert.deepEqual(result.problems, [], 'no double holder; fencing tokens grow');
  assert.ok(phases.length >= 3, `every kind of fault happened (${phases.length} faults)`);
  assert.deepEqual(
    phases.filter((phase) => !phase.progressed).map((phase) => phase.fault),
    [],
    'after every fault the contenders incremented the counter again',
  );
  assert.ok(
    counter >= result.increments && counter <= result.increments + result.uncertain,
    `counter ${counter} equals the increments (${result.increments}, + up to ${result.uncertain} uncertain)`,
  );
  await Promise.all([...stores, checker].map((store) => store.close()));
}

/**
 * A store under load (set, get, list, CAS, delete, a recursive watch) while the proxies cycle through
 * every fault: every call settles within its bound; afterwards the store works again, and `close()`
 * leaves no socket or timer behind.
 */
export async function everyCallSettlesUnderProxyFaults(
  scenario: FaultScenario,
  proxies: TcpProxy[],
  boundMs: number,
): Promise<void> {
  const baseline = liveHandles();
  const store = scenario.open(`faults/${randomBytes(4).toString('hex')}`);
  const watcher = store.watch('', { recursive: true });
  watcher.on('error', () => undefined);
  const stop = new AbortController();
  const load = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      await Promise.all([
        bounded('set', boundMs, () => store.set(`k${i % 5}`, String(i))),
        bounded('get', boundMs, () => store.get(`k${i % 5}`)),
        bounded('list', boundMs, () => store.list('', { recursive: true })),
        bounded('cas', boundMs, () => store.compareAndSwap(`c${i}`, 'v', { prevExist: false })),
        bounded('del', boundMs, () => store.del(`k${(i + 2) % 5}`)),
      ]);
    }
  })();
  try {
    await cycleProxyFaults(proxies, 2500);
  } finally {
    stop.abort();
    await load;
  }
  const healthy = await bounded('set after faults', boundMs, () => store.set('after', 'ok'));
  assert.ok(healthy.ok, 'the store recovers once the network does');
  await store.close();
  assert.ok(watcher.ended, 'close() ended the watcher');
  await expectNoLeaks(baseline, `${scenario.backend} store`);
}
