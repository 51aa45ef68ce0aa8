import assert from 'node:assert/strict';
import { isPolykvError, type PolykvErrorCode } from '@polykv/core';
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

/** Waits until `check()` or `ms` pass. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) return false;
    await sleep(100);
  }
  return true;
}
