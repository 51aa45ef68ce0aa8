// polykv benchmark harness (issue 7). `npm run bench` from the repository root; see bench/README.md.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as factories from './lib/contenders.mjs';
import { summarize } from './lib/profile.mjs';
import { captureEnv, formatMarkdown, writeCharts, writeReport } from './lib/report.mjs';
import {
  REQUEST_SCENARIOS,
  operation,
  parallel,
  prepareKeys,
  throughput,
  watchLatency,
  writer,
} from './lib/scenarios.mjs';
import { s6Run } from './lib/s6.mjs';
import { s8 } from './lib/s8.mjs';
import { BENCH, ensurePeers, ensureServers, helpers } from './lib/setup.mjs';
import { median, sleep } from './lib/stats.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
};
if (flag('--help')) {
  process.stdout.write(
    'node bench/run.mjs [--quick] [--only S1,...,S8,PROFILE] [--backends etcd,consul,etcd3] [--reps N] [--out FILE]\n' +
      '                   [--s8-keys N]   (S8 scale; also BENCH_S8_KEYS; default 100,000, --quick 10,000)\n' +
      '                   [--s8-no-naive] (S8 without the naive loop: copy and mirror only, for a quick re-measure)\n' +
      '                   [--report saved-run.json]   (rewrite the report from bench/.results/*-run.json)\n',
  );
  process.exit(0);
}
const quick = flag('--quick');
const only = new Set(
  (value('--only') ?? 'S1,S2,S3,S4,S5,S6,S7,S8,PROFILE').split(',').map((s) => s.trim().toUpperCase()),
);
const backends = (value('--backends') ?? 'etcd,consul,etcd3').split(',');
// --quick is for development: one repetition of S5–S7 unless --reps says otherwise (S1–S4 keep 3).
const reps = Number(value('--reps') ?? (quick ? 1 : 3));
const partial = quick || value('--only') !== undefined || value('--backends') !== undefined;
const out = value('--out') ?? (partial ? `${BENCH}.results/RESULTS-partial.md` : `${BENCH}RESULTS.md`);
// S1–S4 take at least 8 short repetitions (cheap, and a shared machine is noisy); the rest take `--reps`.
const config = quick
  ? {
      durationMs: 400,
      warmMs: 150,
      requestReps: Math.max(reps, 3),
      s5Samples: 12,
      s6Watchers: 2000,
      s6PeerWatchers: 1000,
      s6ArmMs: 2500,
      s6WaitMs: 5000,
      s7Keys: 1000,
      s8Keys: 10_000,
    }
  : {
      durationMs: 600,
      warmMs: 400,
      requestReps: Math.max(reps, 8),
      s5Samples: 30,
      // polykv's watchers; the peers open a socket (or more) per watcher, and 1,000 is past their limits already.
      s6Watchers: 5000,
      s6PeerWatchers: 1000,
      s6ArmMs: 4000,
      s6WaitMs: 6000,
      s7Keys: 10_000,
      s8Keys: 100_000,
    };
// S8's scale: `--s8-keys 10000` (or BENCH_S8_KEYS=10000) for a smoke check of the full scenario.
const s8Keys = value('--s8-keys') ?? process.env.BENCH_S8_KEYS;
if (s8Keys !== undefined) config.s8Keys = Number(s8Keys);
const S5_GAP_MS = { etcd: 20, etcd3: 20, consul: 120 };
const SETTLE_MS = 150;

// A seeded shuffle (mulberry32), so that a run's order can be told from its seed.
let seed = Number(value('--seed') ?? 7);
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const shuffled = (items) => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

const log = (message) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const results = {
  config: { ...config, reps, quick, only: [...only], backends },
  request: {},
  s5: {},
  s6: {},
  s7: {},
  s8: {},
  profiles: {},
  notes: [],
};
const started = Date.now();

// `--report FILE.json`: rewrite the report from a saved run (e.g. after editing bench/findings.md).
if (value('--report') !== undefined) {
  const saved = JSON.parse(readFileSync(value('--report'), 'utf8'));
  const file = value('--out') ?? `${BENCH}RESULTS.md`;
  const charts = new Map();
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, await formatMarkdown(await writeReport(saved, charts), file));
  writeCharts(charts, file);
  process.exit(0);
}

ensurePeers(log);
ensureServers();
const servers = await helpers();
let exitCode = 0;
const stopAll = async () => {
  await servers.stopAllServers().catch(() => undefined);
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  log('starting etcd and a Consul dev agent');
  // One after the other: started together, the two helpers can pick colliding free ports.
  const etcd = await servers.startEtcd();
  // The contenders of S1–S5 each keep up to 64 sockets open against one agent, more than Consul's
  // default 200 connections per client IP: this agent allows more (S6 uses agents with the default).
  const consul = await servers.startConsulDev({ hcl: ['limits { http_max_conns_per_client = 2000 }'] });
  // etcd3: the v3 API of the same member (its keyspace is separate from v2's).
  const origins = { etcd: etcd.clientUrl, consul: consul.url, etcd3: etcd.clientUrl };
  results.servers = { etcd: origins.etcd, consul: origins.consul };

  for (const backend of backends) {
    const origin = origins[backend];
    const list = await factories.contenders(backend, origin);
    const w = writer(backend, origin);

    // S1–S4: interleaved A B C A B C ..., after one warm-up pass per contender.
    const scenarios = REQUEST_SCENARIOS.filter((s) => only.has(s.id));
    // Through the independent writer: a contender whose pool held the 100 connections of this burst
    // measured up to 25 % slower than an identical one (an A/A test of two raw loops), so none does.
    if (scenarios.length > 0) await prepareKeys(w);
    for (const scenario of scenarios) {
      log(`${backend} ${scenario.id} ${scenario.title}`);
      const row = (results.request[`${backend} ${scenario.id}`] = { backend, scenario, contenders: {} });
      for (const c of list) row.contenders[c.name] = { kind: c.kind, runs: [] };
      for (const c of list)
        await throughput(operation(c, scenario.op), {
          concurrency: scenario.concurrency,
          durationMs: config.warmMs,
        });
      for (let rep = 0; rep < config.requestReps; rep++) {
        // Interleaved in a shuffled order per repetition. A fixed or rotated order let one contender
        // always follow the same one and pay for its leftovers (closing sockets, timers): the raw
        // loop, always right after a peer, measured up to 25 % more CPU per op than its identical
        // A/A twin right after it. Each measurement also starts after a short settle.
        for (const c of shuffled(list)) {
          await sleep(SETTLE_MS);
          const run = await throughput(operation(c, scenario.op), {
            concurrency: scenario.concurrency,
            durationMs: config.durationMs,
          });
          row.contenders[c.name].runs.push(run);
          log(
            `  rep ${rep + 1} ${c.name.padEnd(14)} ${run.opsPerSec.toFixed(0).padStart(6)} ops/s ${run.cpuUsPerOp.toFixed(0).padStart(4)} µs CPU/op${run.errors ? ` ${run.errors} errors: ${run.error}` : ''}`,
          );
        }
      }
    }

    // S5: watch latency, each contender its own key, interleaved.
    if (only.has('S5')) {
      log(`${backend} S5 watch latency`);
      const row = (results.s5[backend] = {});
      for (const c of list) row[c.name] = { kind: c.kind, runs: [] };
      for (let rep = 0; rep < reps; rep++) {
        // Shuffled like S1–S4; each contender keeps its own key.
        for (const [i, c] of shuffled([...list.entries()])) {
          let run;
          try {
            run = await watchLatency(c, w, `bench/s5/c${i}`, {
              samples: config.s5Samples,
              gapMs: S5_GAP_MS[backend],
              rep,
            });
          } catch (error) {
            run = { p50: NaN, p99: NaN, error: String(error?.message ?? error) };
          }
          row[c.name].runs.push(run);
          log(
            `  rep ${rep + 1} ${c.name.padEnd(14)} p50 ${run.p50?.toFixed(2)} ms p99 ${run.p99?.toFixed(2)} ms${run.lost ? ` lost ${run.lost}` : ''}${run.error ? ` ${run.error}` : ''}`,
          );
        }
      }
    }

    for (const c of list) await c.close().catch(() => undefined);
    await w.close();
  }

  // S6: 5,000 polykv watchers (1,000 per peer) on as many keys, one child process per contender run.
  if (only.has('S6')) {
    for (const backend of backends) {
      log(
        `${backend} S6 ${config.s6Watchers} polykv watchers (${config.s6PeerWatchers} of each peer), one key each`,
      );
      const names = {
        etcd: [
          ['polykv native', 'polykvEtcdNative'],
          ['polykv Store', 'polykvEtcdStore'],
          ['node-etcd 7', 'nodeEtcd'],
          ['etcdjs 2', 'etcdjs'],
        ],
        consul: [
          ['polykv native', 'polykvConsulNative'],
          ['polykv Store', 'polykvConsulStore'],
          ['consul 2', 'npmConsul'],
        ],
        etcd3: [
          ['polykv native', 'polykvEtcd3Native'],
          ['polykv Store', 'polykvEtcd3Store'],
          ['etcd3 1', 'etcd3Peer'],
        ],
      }[backend];
      const row = (results.s6[backend] = {});
      for (const [name] of names) row[name] = { runs: [] };
      for (let rep = 0; rep < reps; rep++) {
        for (const [name, factory] of names) {
          // Consul keeps a blocking query running after its client is gone (until its wait ends), and
          // counts it against the 200-connection limit: every Consul run gets a fresh agent.
          const agent = backend === 'consul' ? await servers.startConsulDev() : undefined;
          const origin = agent ? agent.url : origins.etcd;
          const run = await s6Run(config, backend, name, factory, origin, `bench/s6r${rep}`);
          if (agent) await agent.stop();
          row[name].runs.push(run);
          log(
            `  rep ${rep + 1} ${name.padEnd(14)} delivered ${run.delivered}/${run.watchers}, sockets ${run.armedSockets} (peak ${run.peakSockets}), RSS ${(run.rssPerWatcher / 1024).toFixed(1)} KB/watcher, writer failures ${run.writeFailures}${run.error ? ` ${run.error}` : ''}`,
          );
        }
      }
    }
  }

  // S7: copy N keys etcd → Consul.
  if (only.has('S7') && backends.includes('etcd') && backends.includes('consul')) await s7(origins);

  // S8: copy and mirror's initial copy at scale, both directions, with an interrupted run resumed.
  if (only.has('S8') && backends.includes('etcd') && backends.includes('consul'))
    results.s8 = await s8(origins, { n: config.s8Keys, reps, naive: !flag('--s8-no-naive') }, log);

  // Profiles of S3 through the native clients.
  if (only.has('PROFILE')) {
    const dir = `${BENCH}.profiles`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [backend, factory] of [
      ['etcd', 'polykvEtcdNative'],
      ['consul', 'polykvConsulNative'],
      ['etcd', 'rawEtcd'],
      ['consul', 'rawConsul'],
    ]) {
      if (!backends.includes(backend)) continue;
      const name = `S3-${backend}-${factory}.cpuprofile`;
      log(`profile ${name}`);
      // The keys S3 reads (already there after S1–S4, not with `--only PROFILE`).
      const keysWriter = writer(backend, origins[backend]);
      await prepareKeys(keysWriter);
      await keysWriter.close();
      const output = await new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--cpu-prof',
            '--cpu-prof-dir',
            dir,
            '--cpu-prof-name',
            name,
            `${BENCH}profile-s3.mjs`,
            JSON.stringify({ contender: factory, origin: origins[backend], durationMs: quick ? 1500 : 4000 }),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let text = '';
        child.stdout.on('data', (chunk) => (text += chunk));
        child.on('exit', (code) =>
          code === 0 ? resolve(text) : reject(new Error(`profile child exited ${code}`)),
        );
      });
      results.profiles[`${backend} ${factory}`] = {
        file: `bench/.profiles/${name}`,
        run: JSON.parse(output.trim().split('\n').pop()),
        ...summarize(`${dir}/${name}`),
      };
    }
  }
} catch (error) {
  exitCode = 1;
  log(`FAILED: ${error?.stack ?? error}`);
  results.notes.push(`The run failed: ${String(error?.message ?? error)}`);
} finally {
  await stopAll();
}

results.durationS = (Date.now() - started) / 1000;
results.env = captureEnv();
try {
  results.env.commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: `${BENCH}..`,
    encoding: 'utf8',
  }).trim();
} catch {
  // Not a git checkout.
}
if (exitCode === 0) {
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const charts = new Map();
  writeFileSync(out, await formatMarkdown(await writeReport(results, charts), out));
  writeCharts(charts, out);
  // The raw numbers, to regenerate the report with `--report` (not committed).
  mkdirSync(`${BENCH}.results`, { recursive: true });
  writeFileSync(
    `${BENCH}.results/${partial ? 'partial' : 'full'}-run.json`,
    JSON.stringify(results, null, 1),
  );
  log(`wrote ${out.replace(BENCH, 'bench/')} in ${results.durationS.toFixed(0)} s`);
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------------

async function s7(origins) {
  const { EtcdClient, createEtcdStore } = await import('@polykv/etcd');
  const { createConsulStore } = await import('@polykv/consul');
  const { copy } = await import('@polykv/core');
  const n = config.s7Keys;
  const from = writer('etcd', origins.etcd);
  const to = writer('consul', origins.consul);
  log(`S7 copy of ${n} keys etcd → Consul: writing the source keys`);
  await from.delTree('s7');
  await parallel(n, 64, (i) => from.set(`s7/k${String(i).padStart(5, '0')}`, `value-${i}-${'x'.repeat(24)}`));
  const variants = [
    {
      name: 'polykv',
      label: 'polykv copy(from, to, { prefix, concurrency: 64 })',
      async run() {
        const source = createEtcdStore({ hosts: [origins.etcd] });
        const target = createConsulStore({ client: { address: origins.consul } });
        try {
          await copy(source, target, { prefix: 's7', concurrency: 64 });
        } finally {
          await Promise.all([source.close(), target.close()]);
        }
      },
    },
    {
      name: 'naive peer loop',
      label: 'node-etcd recursive get, then consul 2 kv.set per key, one at a time',
      async run() {
        const Etcd = factories.peer('node-etcd');
        const Consul = factories.peer('consul');
        const etcd = new Etcd([origins.etcd]);
        const url = new URL(origins.consul);
        const consul = new Consul({ host: url.hostname, port: url.port });
        const body = await new Promise((resolve, reject) =>
          etcd.get('s7', { recursive: true }, (error, result) => (error ? reject(error) : resolve(result))),
        );
        for (const node of body.node.nodes ?? []) await consul.kv.set(node.key.slice(1), node.value);
        consul.destroy?.();
      },
    },
    {
      name: 'raw txn batches',
      label:
        "reference, not a target: one raw recursive GET, then raw `PUT /v1/txn` of 64 `set` ops each (Consul 1.8's per-transaction maximum), 4 in flight",
      async run() {
        const { statusCode, body } = await from.pool.request({
          path: '/v2/keys/s7?recursive=true',
          method: 'GET',
        });
        const nodes = JSON.parse(await body.text()).node.nodes ?? [];
        if (statusCode !== 200) throw new Error(`etcd GET s7: ${statusCode}`);
        const batches = [];
        for (let i = 0; i < nodes.length; i += 64) batches.push(nodes.slice(i, i + 64));
        await parallel(batches.length, 4, async (b) => {
          const ops = batches[b].map((node) => ({
            KV: { Verb: 'set', Key: node.key.slice(1), Value: Buffer.from(node.value).toString('base64') },
          }));
          const response = await to.pool.request({
            path: '/v1/txn',
            method: 'PUT',
            body: JSON.stringify(ops),
          });
          const text = await response.body.text();
          if (response.statusCode !== 200)
            throw new Error(`consul txn: ${response.statusCode} ${text.slice(0, 200)}`);
        });
      },
    },
  ];
  void EtcdClient;
  results.s7 = {
    keys: n,
    variants: Object.fromEntries(variants.map((v) => [v.name, { label: v.label, runs: [] }])),
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of variants) {
      await to.delTree('s7');
      const t0 = performance.now();
      let error;
      try {
        await variant.run();
      } catch (caught) {
        error = String(caught?.message ?? caught);
      }
      const seconds = (performance.now() - t0) / 1000;
      const copied = await to.count('s7');
      results.s7.variants[variant.name].runs.push({ seconds, copied, error });
      log(
        `  rep ${rep + 1} ${variant.name.padEnd(16)} ${seconds.toFixed(2)} s, ${copied}/${n} keys in Consul${error ? ` ERROR ${error}` : ''}`,
      );
    }
  }
  const check = await to.getText('s7/k00007');
  results.s7.spotCheck = check === `value-7-${'x'.repeat(24)}`;
  await from.delTree('s7');
  await to.delTree('s7');
  await Promise.all([from.close(), to.close()]);
  void median;
  void readdirSync;
}
