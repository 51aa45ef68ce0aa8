// The etcd v3 transport measurement: S1–S6 (S5 without the gateway and the Store) for the HTTP/JSON gateway over undici, a raw
// @grpc/grpc-js loop, polykv's native v3 client (gRPC on node:http2), its Store (S1–S4) and the npm
// etcd3 package.
//   npm run bench:v3 -- [--reps 5] [--ms 1500]
// Results: printed, and written to bench/.results/v3-transport.md.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { throughput, watchLatency } from '../lib/scenarios.mjs';
import { ensurePeers, ensureServers, helpers, BENCH } from '../lib/setup.mjs';
import { median } from '../lib/stats.mjs';
import { TRANSPORT_CONTENDERS as contenders } from '../lib/contenders-etcd3.mjs';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, ms: { type: 'string', default: '1500' } },
});
const reps = Number(values.reps);
const durationMs = Number(values.ms);
const NAMES = ['gateway', 'grpcjs', 'polykv', 'polykv A/A', 'store', 'etcd3'];
const SCENARIOS = [
  ['S1', 'sequential get', 1, 'get'],
  ['S2', 'sequential put', 1, 'set'],
  ['S3', 'get, 64 in flight', 64, 'get'],
  ['S4', 'put, 64 in flight', 64, 'set'],
];

ensurePeers(console.log);
ensureServers();
const { startEtcd, stopAllServers } = await helpers();
const member = await startEtcd();
const origin = member.clientUrl;
const lines = [];
try {
  const clients = {};
  for (const name of NAMES) clients[name] = await contenders[name === 'polykv A/A' ? 'polykv' : name](origin);
  for (let i = 0; i < 100; i++) await clients.polykv.set(`bench/k${i}`, `value-of-k${i}-0123456789`);
  const results = {};
  let sequence = 0;
  for (let rep = 0; rep < reps; rep++) {
    for (const [id, , concurrency, op] of SCENARIOS) {
      for (const name of [...NAMES].sort(() => Math.random() - 0.5)) {
        const client = clients[name];
        const run =
          op === 'get'
            ? (i) => client.get(`bench/k${i % 100}`)
            : (i) => client.set(`bench/w${i % 100}`, `v-${++sequence}`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const result = await throughput(run, { concurrency, durationMs });
        if (result.errors) console.error(id, name, result.errors, 'errors:', result.error);
        ((results[id] ??= {})[name] ??= []).push(result);
      }
    }
  }
  lines.push(
    `${reps} repetitions of ${durationMs} ms, ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
  );
  lines.push('| scenario | ' + NAMES.map((n) => `${n} ops/s (CPU µs/op) ×etcd3`).join(' | ') + ' |');
  lines.push('|' + ' --- |'.repeat(NAMES.length + 1));
  for (const [id, title] of SCENARIOS) {
    const reference = results[id].etcd3;
    const cells = NAMES.map((name) => {
      const runs = results[id][name];
      const ops = median(runs.map((r) => r.opsPerSec));
      const cpu = median(runs.map((r) => r.cpuUsPerOp));
      const ratio = median(runs.map((r, i) => r.opsPerSec / reference[i].opsPerSec));
      return `${ops.toFixed(0)} (${cpu.toFixed(0)}) ×${ratio.toFixed(2)}`;
    });
    lines.push(`| ${id} ${title} | ${cells.join(' | ')} |`);
  }
  // S5: watch latency (a put by an independent client → the event), interleaved per repetition.
  const s5 = {};
  const s5Writer = await contenders.polykv(origin);
  for (let rep = 0; rep < reps; rep++) {
    for (const name of ['grpcjs', 'polykv', 'etcd3'].sort(() => Math.random() - 0.5)) {
      const run = await watchLatency(clients[name], s5Writer, `bench/s5/${name}`, {
        samples: 20,
        gapMs: 20,
        rep,
      }).catch((error) => ({ p50: NaN, p99: NaN, error: String(error?.message ?? error) }));
      (s5[name] ??= []).push(run);
    }
  }
  await s5Writer.close();
  lines.push('', '| S5 watch latency | p50 ms | p99 ms | p50 × etcd3 |', '| --- | --- | --- | --- |');
  for (const [name, runs] of Object.entries(s5)) {
    const ratio = median(runs.map((r, i) => r.p50 / s5.etcd3[i].p50));
    lines.push(
      `| ${name} | ${median(runs.map((r) => r.p50)).toFixed(2)} | ${median(runs.map((r) => r.p99)).toFixed(2)} | ${ratio.toFixed(2)} |`,
    );
  }
  for (const client of Object.values(clients)) await client.close();

  lines.push(
    '',
    '| S6: 1,000 watchers, one put per key | delivered | sockets | arming ms | RSS MB |',
    '| --- | --- | --- | --- | --- |',
  );
  const writer = await contenders.polykv(origin);
  for (const name of ['gateway', 'grpcjs', 'polykv', 'etcd3']) {
    const tag = `${name}-${Date.now()}`;
    const child = fork(`${BENCH}v3/s6-child.mjs`, [name, origin, '1000', tag], { execArgv: ['--expose-gc'] });
    await new Promise((resolve) => child.once('message', resolve));
    for (let i = 0; i < 1000; i += 64)
      await Promise.all(
        Array.from({ length: Math.min(64, 1000 - i) }, (_, j) =>
          writer.set(`s6/${tag}/k${i + j}`, `${tag}-${i + j}`),
        ),
      );
    child.send('written');
    const result = await new Promise((resolve) =>
      child.on('message', (m) => m.type === 'result' && resolve(m)),
    );
    lines.push(
      `| ${name} | ${result.delivered} | ${result.peakSockets} | ${result.armMs} | ${result.rssMb.toFixed(0)} |`,
    );
  }
  await writer.close();
} finally {
  await stopAllServers();
}
console.log(lines.join('\n'));
mkdirSync(`${BENCH}.results`, { recursive: true });
writeFileSync(`${BENCH}.results/v3-transport.md`, `${lines.join('\n')}\n`);
