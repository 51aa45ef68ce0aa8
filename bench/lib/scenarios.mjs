import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { gatewayWriter } from './contenders-etcd3.mjs';
import { percentile, sleep } from './stats.mjs';

const gc = globalThis.gc ?? (() => undefined);

/**
 * Runs `op(i)` with `concurrency` in flight for `durationMs`. Resolves ops/s, client CPU per op
 * (µs, user + system of this process) and errors.
 */
export async function throughput(op, { concurrency, durationMs }) {
  gc();
  let done = 0;
  let errors = 0;
  let firstError;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  const worker = async (start) => {
    for (let i = start; performance.now() < end; i += concurrency) {
      try {
        await op(i);
        done++;
      } catch (error) {
        errors++;
        firstError ??= error;
        if (errors > 50) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    opsPerSec: (done / elapsed) * 1000,
    cpuUsPerOp: done === 0 ? NaN : (cpu.user + cpu.system) / done,
    ops: done,
    errors,
    error: firstError === undefined ? undefined : String(firstError?.message ?? firstError).slice(0, 200),
  };
}

/** The four request scenarios. Keys are pre-written by `prepareKeys`. */
export const REQUEST_SCENARIOS = [
  { id: 'S1', title: 'sequential get (1 in flight)', concurrency: 1, op: 'get' },
  { id: 'S2', title: 'sequential set (1 in flight)', concurrency: 1, op: 'set' },
  { id: 'S3', title: 'get, 64 in flight', concurrency: 64, op: 'get' },
  { id: 'S4', title: 'set, 64 in flight', concurrency: 64, op: 'set' },
];

const KEYS = 100;
let sequence = 0;

export function operation(contender, op) {
  if (op === 'get') return (i) => contender.get(`bench/k${i % KEYS}`);
  return (i) => contender.set(`bench/w${i % KEYS}`, `value-${++sequence}`);
}

/** Writes the keys S1/S3 read (through the independent writer: see run.mjs). */
export async function prepareKeys(raw) {
  await Promise.all(
    Array.from({ length: KEYS }, (_, i) => raw.set(`bench/k${i}`, `value-of-k${i}-0123456789`)),
  );
}

/** A writer independent of every contender (its own undici Pool), for S5, S6 and S7 setup. */
export function writer(backend, origin) {
  if (backend === 'etcd3') return gatewayWriter(origin);
  const pool = new Pool(origin, { keepAliveTimeout: 30_000 });
  const escape = (key) => key.split('/').map(encodeURIComponent).join('/');
  return {
    async set(key, value) {
      const { statusCode, body } =
        backend === 'etcd'
          ? await pool.request({
              path: `/v2/keys/${escape(key)}`,
              method: 'PUT',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: `value=${encodeURIComponent(value)}`,
            })
          : await pool.request({ path: `/v1/kv/${escape(key)}`, method: 'PUT', body: value });
      await body.text();
      if (statusCode >= 300) throw new Error(`${backend} PUT ${key}: ${statusCode}`);
    },
    async delTree(prefix) {
      const { body } =
        backend === 'etcd'
          ? await pool.request({ path: `/v2/keys/${escape(prefix)}?recursive=true`, method: 'DELETE' })
          : await pool.request({ path: `/v1/kv/${escape(prefix)}?recurse`, method: 'DELETE' });
      await body.text();
    },
    /** Keys under `prefix` (Consul: `?keys`; etcd: a recursive GET). */
    async count(prefix) {
      if (backend === 'etcd') {
        const { statusCode, body } = await pool.request({
          path: `/v2/keys/${escape(prefix)}?recursive=true`,
          method: 'GET',
        });
        const json = JSON.parse(await body.text());
        if (statusCode !== 200) return 0;
        let n = 0;
        const walk = (node) => {
          if (!node.dir) n++;
          for (const child of node.nodes ?? []) walk(child);
        };
        walk(json.node);
        return n;
      }
      const { statusCode, body } = await pool.request({
        path: `/v1/kv/${escape(prefix)}?keys`,
        method: 'GET',
      });
      const text = await body.text();
      return statusCode === 200 ? JSON.parse(text).length : 0;
    },
    async getText(key) {
      const { statusCode, body } = await pool.request({ path: `/v1/kv/${escape(key)}?raw`, method: 'GET' });
      const text = await body.text();
      return statusCode === 200 ? text : null;
    },
    pool,
    close: () => pool.close(),
  };
}

/** Runs `fn(i)` for i < count with `concurrency` in flight. */
export async function parallel(count, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/**
 * S5: the time from sending a write (through the independent writer) to the contender's watcher
 * delivering it, `samples` times, `gapMs` apart (Consul: longer than polykv's 100 ms watch rate
 * limit, so the limit never adds to a sample).
 */
export async function watchLatency(contender, w, key, { samples, gapMs, rep }) {
  let waiting;
  const onValue = (value) => {
    if (waiting && value === waiting.value) waiting.resolve(performance.now());
  };
  const expect = (value, timeoutMs) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      waiting = {
        value,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
  const watch = await contender.watch(key, onValue);
  try {
    // Prime: some peers have no "armed" signal; write until the first event comes through.
    let primed = false;
    for (let n = 0; n < 30 && !primed; n++) {
      const value = `prime-${rep}-${n}-${Date.now()}`;
      const arrived = expect(value, 300);
      await w.set(key, value);
      primed = (await arrived) !== undefined;
    }
    if (!primed) return { p50: NaN, p99: NaN, lost: samples, error: 'no event after 30 priming writes' };
    await sleep(gapMs);
    const latencies = [];
    let lost = 0;
    for (let i = 0; i < samples; i++) {
      const value = `s5-${rep}-${i}-${Date.now()}`;
      const arrived = expect(value, 3000);
      const t0 = performance.now();
      await w.set(key, value);
      const t1 = await arrived;
      if (t1 === undefined) lost++;
      else latencies.push(t1 - t0);
      await sleep(gapMs);
    }
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      lost,
      samples: latencies.length,
    };
  } finally {
    await watch.stop();
  }
}
