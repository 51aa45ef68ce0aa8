// S8 (issue 19): copy at scale, etcd → Consul and Consul → etcd, through polykv's `copy` (what
// `polykv copy` runs) and `mirror`'s initial copy, against the naive peer loop. Each run is a child
// process (bench/s8-child.mjs), so its peak RSS is its own. Resumability: a run interrupted at
// about half, then a second run; the second must write only the keys the first did not land, and
// `diff` must be empty.
import { spawn } from 'node:child_process';
import { BENCH } from './setup.mjs';
import { parallel, writer } from './scenarios.mjs';

export const S8_PREFIX = 's8';

/** Key `i` of `n`: nested 5 deep (4 directories and the key), 10 per level. */
export function s8Key(i) {
  const d = String(i).padStart(5, '0');
  return `${S8_PREFIX}/n${d[0]}/n${d[1]}/n${d[2]}/n${d[3]}/key-${d.slice(4)}`;
}

/**
 * Value `i`: printable text of a mixed size up to 4 KB, as configuration data tends to be: 60 %
 * 16–128 bytes, 30 % 128 bytes–1 KB, 10 % 1–4 KB (mean about 0.5 KB; 100,000 keys ≈ 47 MB).
 */
export function s8Value(i) {
  const r = (Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 32;
  const s = (Math.imul(i + 7, 40503) >>> 0) % 1000;
  const size = r < 0.6 ? 16 + (s % 113) : r < 0.9 ? 128 + s * 0.896 : 1024 + s * 3.072;
  const head = `v${i}:`;
  return (
    head +
    'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(114).slice(0, Math.max(0, Math.round(size) - head.length))
  );
}

/** Writes the S8 keys into `backend` (etcd: 64 PUTs in flight; Consul: transactions of 64). */
async function seed(backend, origin, n, log) {
  const w = writer(backend, origin);
  try {
    await w.delTree(S8_PREFIX);
    const t0 = Date.now();
    if (backend === 'etcd') {
      await parallel(n, 64, (i) => w.set(s8Key(i), s8Value(i)));
    } else {
      await parallel(Math.ceil(n / 64), 4, async (b) => {
        const ops = [];
        for (let i = b * 64; i < Math.min(n, (b + 1) * 64); i++)
          ops.push({ KV: { Verb: 'set', Key: s8Key(i), Value: Buffer.from(s8Value(i)).toString('base64') } });
        const response = await w.pool.request({ path: '/v1/txn', method: 'PUT', body: JSON.stringify(ops) });
        const text = await response.body.text();
        if (response.statusCode !== 200)
          throw new Error(`consul txn: ${response.statusCode} ${text.slice(0, 200)}`);
      });
    }
    log(`  S8 seeded ${n} keys into ${backend} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await w.close();
  }
}

function child(settings) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [`${BENCH}s8-child.mjs`, JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    proc.stdout.on('data', (chunk) => (text += chunk));
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`s8 child (${settings.mode}) exited ${code}`));
      resolve(JSON.parse(text.trim().split('\n').pop()));
    });
  });
}

async function emptyDiff(endpoints) {
  const { diff } = await import('@polykv/core');
  const { createEtcdStore } = await import('@polykv/etcd');
  const { createConsulStore } = await import('@polykv/consul');
  const open = ({ kind, origin }) =>
    kind === 'etcd'
      ? createEtcdStore({ hosts: [origin] })
      : createConsulStore({ client: { address: origin } });
  const a = open(endpoints.from);
  const b = open(endpoints.to);
  try {
    const result = await diff(a, b, { prefix: S8_PREFIX });
    return { missing: result.missing.length, extra: result.extra.length, different: result.different.length };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/**
 * Runs S8 in both directions. `n` keys (100,000 in a full run; `--s8-keys` / BENCH_S8_KEYS for a
 * smoke check), `reps` repetitions of the timed runs. Resolves the numbers for the report.
 */
export async function s8(origins, { n, reps, concurrency = 64, naive = true }, log) {
  const out = { keys: n, concurrency, directions: {} };
  for (const [fromKind, toKind] of [
    ['etcd', 'consul'],
    ['consul', 'etcd'],
  ]) {
    const name = `${fromKind} → ${toKind}`;
    log(`S8 ${name}: ${n} keys`);
    const endpoints = {
      from: { kind: fromKind, origin: origins[fromKind] },
      to: { kind: toKind, origin: origins[toKind] },
    };
    await seed(fromKind, origins[fromKind], n, log);
    const target = writer(toKind, origins[toKind]);
    const clear = () => target.delTree(S8_PREFIX);
    const base = { ...endpoints, prefix: S8_PREFIX, concurrency };
    const row = (out.directions[name] = { runs: { naive: [], copy: [], mirror: [] }, resume: {} });
    try {
      for (let rep = 0; rep < reps; rep++) {
        for (const mode of naive ? ['naive', 'copy', 'mirror'] : ['copy', 'mirror']) {
          await clear();
          const run = await child({ ...base, mode });
          run.landed = await target.count(S8_PREFIX);
          row.runs[mode].push(run);
          log(
            `  rep ${rep + 1} ${mode.padEnd(6)} ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB, ${run.written} keys written, ${run.landed}/${n} on the target`,
          );
        }
      }
      // Interrupted at about half, then run again from where it stopped.
      for (const mode of ['copy', 'mirror']) {
        await clear();
        const first = await child({ ...base, mode, abortAfter: Math.floor(n / 2) });
        const landed = await target.count(S8_PREFIX);
        const second = await child({ ...base, mode });
        const differences = await emptyDiff(endpoints);
        row.resume[mode] = {
          first,
          landedAfterFirst: landed,
          second,
          expectedSecondWrites: n - landed,
          diff: differences,
        };
        log(
          `  resume ${mode}: first run wrote ${first.written} (aborted: ${first.aborted}), ${landed} landed; second wrote ${second.written} (the rest: ${n - landed}); diff ${JSON.stringify(differences)}`,
        );
      }
    } finally {
      await clear().catch(() => undefined);
      await target.close();
      const source = writer(fromKind, origins[fromKind]);
      await source.delTree(S8_PREFIX).catch(() => undefined);
      await source.close();
    }
  }
  return out;
}
