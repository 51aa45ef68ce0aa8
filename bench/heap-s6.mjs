// What an idle watcher holds, by object type: S6's "heap per watcher" taken apart. Not part of
// `npm run bench` (it writes two heap snapshots of a few hundred MB to a temporary directory):
//
//   node bench/heap-s6.mjs <backend: etcd | consul | etcd3> <contender> [watchers=2000] [--allocations]
//   e.g. node bench/heap-s6.mjs consul polykvConsulStore
//
// With `--allocations` it prints, instead, where the arming allocates (V8's sampling heap profiler,
// garbage included), by function: what S6's young generation has to absorb. With `--closures` it
// also lists the closures and promise reactions that grew, by the source line that made them. With
// `--retainers=<type>` (a type as the table names it: `array`, `object Object`...) it lists what
// holds the new objects of that type: the holder's type and the edge (field) they hang from.
//
// It starts the backend's test server (build/test/helpers: run `npx tsc --build` first), re-runs
// itself with `--expose-gc` as the measuring process, and prints the growth per watcher of each
// object type between a snapshot before the watchers and one after them (both after two GCs).
// "code" and its relatives are V8 compiling meanwhile: a fixed cost spread over the watchers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';

const allocations = process.argv.includes('--allocations');
const closures = process.argv.includes('--closures');
const retainersOf = process.argv.find((arg) => arg.startsWith('--retainers='))?.slice('--retainers='.length);
const [backend, contenderName, watchersArg = '2000', origin, dir] = process.argv
  .slice(2)
  .filter((arg) => !arg.startsWith('--'));
const watchers = Number(watchersArg);

if (origin === undefined) {
  if (!['etcd', 'consul', 'etcd3'].includes(backend) || !contenderName || !(watchers > 0)) {
    console.error('usage: node bench/heap-s6.mjs <etcd|consul|etcd3> <contender> [watchers]');
    process.exit(2);
  }
  const servers = await import('../build/test/helpers/servers.js');
  const server = backend === 'consul' ? await servers.startConsulDev() : await servers.startEtcd();
  const scratch = mkdtempSync(join(tmpdir(), 'polykv-heap-'));
  try {
    const self = fileURLToPath(import.meta.url);
    const url = backend === 'consul' ? server.url : server.clientUrl;
    const args = ['--expose-gc', self, backend, contenderName, String(watchers), url, scratch];
    if (allocations) args.push('--allocations');
    if (closures) args.push('--closures');
    if (retainersOf !== undefined) args.push(`--retainers=${retainersOf}`);
    process.stdout.write(execFileSync(process.execPath, args, { encoding: 'utf8' }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await server.stop();
  }
  process.exit(0);
}

const factories = {
  ...(await import('./lib/contenders.mjs')),
  ...(await import('./lib/contenders-etcd3.mjs')),
};
// For `--closures`: script ids (in the snapshot's locations) to file names.
const scripts = new Map();
if (closures) {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  session.on('Debugger.scriptParsed', ({ params }) => scripts.set(Number(params.scriptId), params.url));
  session.post('Debugger.enable');
}
const contender = await factories[contenderName](origin);
// As S6 does: the watched keys exist before the watchers start (a Consul watch of a key its folder's
// listing lacks reads that key once on its own, which S6 never sees).
const { parallel, writer } = await import('./lib/scenarios.mjs');
const keysWriter = writer(backend, origin);
await parallel(watchers, 32, (i) => keysWriter.set(`heap-s6/k${i}`, `init-${i}`));
await keysWriter.close();
// As S6 does: one watcher started and stopped first, so loading and compiling are in the baseline.
const warm = await contender.watch('heap-s6/warm-up', () => undefined);
await warm?.stop?.();

/**
 * Self size and count per object type (constructor name for objects and closures). With
 * `--retainers`, also the ids of the objects of that type (`ids`), and, given the ids of the
 * snapshot before, the holders of those that are new (`holders`: "holder type .edge" → count, bytes).
 */
function census(name, idsBefore) {
  globalThis.gc();
  globalThis.gc();
  const snapshot = JSON.parse(readFileSync(writeHeapSnapshot(join(dir, `${name}.heapsnapshot`)), 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const [typeNames] = snapshot.snapshot.meta.node_types;
  const [type, nameAt, size, idAt] = ['type', 'name', 'self_size', 'id'].map((field) =>
    fields.indexOf(field),
  );
  const types = new Map();
  const ids = new Set();
  const fresh = new Set(); // node offsets of the new objects whose holders are asked for
  // Closures by where their function is: script id, line and column per closure node.
  const where = new Map();
  const locationFields = snapshot.snapshot.meta.location_fields ?? [];
  for (let i = 0; closures && i < (snapshot.locations ?? []).length; i += locationFields.length) {
    const [node, script, line, column] = snapshot.locations.slice(i, i + 4);
    const file = (scripts.get(script) ?? `script ${script}`).split('/').slice(-3).join('/');
    where.set(node, `${file}:${line + 1}:${column + 1}`);
  }
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = typeNames[snapshot.nodes[i + type]];
    if (kind === 'closure' && where.has(i)) {
      const label = `at ${where.get(i)}`;
      const entry = types.get(label) ?? { count: 0, bytes: 0 };
      entry.count++;
      entry.bytes += snapshot.nodes[i + size];
      types.set(label, entry);
    }
    const label =
      kind === 'object' || kind === 'closure'
        ? `${kind} ${snapshot.strings[snapshot.nodes[i + nameAt]] || '(anonymous)'}`
        : kind;
    const entry = types.get(label) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + size];
    types.set(label, entry);
    if (label === retainersOf) {
      ids.add(snapshot.nodes[i + idAt]);
      if (idsBefore !== undefined && !idsBefore.has(snapshot.nodes[i + idAt])) fresh.add(i);
    }
  }
  return { types, ids, holders: fresh.size > 0 ? holdersOf(snapshot, fresh) : new Map() };
}

/** For the nodes at the offsets `fresh`: "holder type .edge" → how many of them (and their bytes) hang from such an edge. */
function holdersOf(snapshot, fresh) {
  const { node_fields: fields, edge_fields: edgeFields, node_types, edge_types } = snapshot.snapshot.meta;
  const [typeNames] = node_types;
  const [edgeTypeNames] = edge_types;
  const [type, nameAt, edgeCount, size] = ['type', 'name', 'edge_count', 'self_size'].map((field) =>
    fields.indexOf(field),
  );
  const [edgeType, edgeName, toNode] = ['type', 'name_or_index', 'to_node'].map((field) =>
    edgeFields.indexOf(field),
  );
  const holders = new Map();
  let edge = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = typeNames[snapshot.nodes[i + type]];
    const holder =
      kind === 'object' || kind === 'closure'
        ? `${kind} ${snapshot.strings[snapshot.nodes[i + nameAt]]}`
        : kind;
    for (let n = snapshot.nodes[i + edgeCount]; n > 0; n--, edge += edgeFields.length) {
      if (!fresh.has(snapshot.edges[edge + toNode])) continue;
      const named = edgeTypeNames[snapshot.edges[edge + edgeType]];
      if (named === 'weak') continue;
      const field =
        named === 'element' || named === 'hidden'
          ? `[${named}]`
          : `.${snapshot.strings[snapshot.edges[edge + edgeName]]}`;
      const label = `${holder} ${field}`;
      const entry = holders.get(label) ?? { count: 0, bytes: 0 };
      entry.count++;
      entry.bytes += snapshot.nodes[snapshot.edges[edge + toNode] + size];
      holders.set(label, entry);
    }
  }
  return holders;
}

/** Starts the watchers (not awaited: as S6 does) and gives them four seconds to arm. */
async function arm() {
  for (let i = 0; i < watchers; i++)
    void Promise.resolve(contender.watch(`heap-s6/k${i}`, () => undefined)).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 4000));
}

if (allocations) {
  // Every allocation sampled (every 256 bytes on average), also what the GCs collected since.
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await arm();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const sites = new Map();
  const frame = ({ functionName, url, lineNumber }) =>
    `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  // A built-in (no script: `Promise`, `then`, `Map`...) is named with the function that called it.
  const visit = (node, caller) => {
    const site =
      node.callFrame.url === '' && caller ? `${frame(node.callFrame)} < ${caller}` : frame(node.callFrame);
    if (node.selfSize > 0) sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child, frame(node.callFrame));
  };
  visit(profile.head, undefined);
  const total = [...sites.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(
    `${backend} ${contenderName}: ${watchers} watchers, ${(total / watchers).toFixed(0)} B allocated per watcher`,
  );
  console.log('| bytes/watcher | where |\n|--:|---|');
  for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`| ${(bytes / watchers).toFixed(0)} | ${site} |`);
} else {
  const { types: before, ids } = census('before');
  await arm();
  const { types: after, holders } = census('after', ids);
  const rows = [...after].map(([label, { count, bytes }]) => ({
    label,
    count: (count - (before.get(label)?.count ?? 0)) / watchers,
    bytes: (bytes - (before.get(label)?.bytes ?? 0)) / watchers,
  }));
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`${backend} ${contenderName}: ${watchers} watchers, ${total.toFixed(0)} B of heap per watcher`);
  console.log('| bytes/watcher | objects/watcher | type |\n|--:|--:|---|');
  for (const row of rows.filter((r) => Math.abs(r.bytes) >= 40))
    console.log(`| ${row.bytes.toFixed(0)} | ${row.count.toFixed(2)} | ${row.label} |`);
  if (retainersOf !== undefined) {
    console.log(`\nWhat holds the new objects of type "${retainersOf}":`);
    console.log('| objects/watcher | bytes/watcher | holder .edge |\n|--:|--:|---|');
    for (const [label, { count, bytes }] of [...holders].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 25))
      console.log(`| ${(count / watchers).toFixed(2)} | ${(bytes / watchers).toFixed(0)} | ${label} |`);
  }
}
await Promise.race([contender.close?.(), new Promise((resolve) => setTimeout(resolve, 1000))]);
process.exit(0);
