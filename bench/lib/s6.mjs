// S6's run of one contender (see bench/README.md, S6), called by bench/run.mjs.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parallel, writer } from './scenarios.mjs';
import { BENCH } from './setup.mjs';
import { sleep } from './stats.mjs';

/**
 * One S6 run: `n` watchers of one contender in a child process (bench/s6-child.mjs) on keys under
 * `prefix`, a write to each key, and what the child measured (sockets, RSS and heap per watcher,
 * events delivered). `config` is run.mjs's (watcher counts, arm and wait times).
 */
export async function s6Run(config, backend, name, factory, origin, prefix) {
  const w = writer(backend, origin);
  const n = name.startsWith('polykv') ? config.s6Watchers : config.s6PeerWatchers;
  // The keys exist before the watchers start; each run writes a new value to every key.
  await parallel(n, 32, (i) => w.set(`${prefix}/k${i}`, `init-${i}`));
  const value = `go-${prefix.replace(/\W/g, '')}-${Date.now()}`;
  const child = fork(
    `${BENCH}s6-child.mjs`,
    [
      JSON.stringify({
        contender: factory,
        origin,
        watchers: n,
        prefix,
        armMs: config.s6ArmMs,
        waitMs: config.s6WaitMs,
        value,
      }),
    ],
    // The young generation pinned at 1 MB: V8 grows it by tens of MB for a burst of allocations and
    // keeps it after a GC, and that growth, not the watchers, was most of "RSS per watcher" (2 to 12 KB
    // for the same code between runs); pinned, 5,000 watchers measure within 1–2 KB run to run.
    { execArgv: ['--expose-gc', '--max-semi-space-size=1'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const messages = [];
  let wake;
  child.on('message', (message) => {
    messages.push(message);
    wake?.();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const next = async (timeoutMs) => {
    const until = Date.now() + timeoutMs;
    while (messages.length === 0 && Date.now() < until && child.exitCode === null) {
      await Promise.race([new Promise((resolve) => (wake = resolve)), sleep(100)]);
    }
    return messages.shift();
  };
  try {
    const armed = await next(config.s6ArmMs + 30_000);
    if (!armed) return { watchers: n, error: 'the child did not arm' };
    if (armed.type === 'result') return { ...armed, watchers: n };
    let writeFailures = 0;
    const t0 = performance.now();
    await parallel(n, 16, async (i) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await w.set(`${prefix}/k${i}`, `${value}-${i}`);
          return;
        } catch {
          writeFailures++;
          await sleep(100);
        }
      }
    });
    const writeMs = performance.now() - t0;
    child.send({ type: 'written' });
    const result = await next(config.s6WaitMs + 30_000);
    return { ...(result ?? { error: 'no result from the child' }), watchers: n, writeFailures, writeMs };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await w.delTree(prefix).catch(() => undefined);
    await w.close();
  }
}
