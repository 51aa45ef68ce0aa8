// Reads a V8 .cpuprofile and sums self time per function (and per area: polykv, undici, node, GC).
import { readFileSync } from 'node:fs';

function area(url) {
  if (url.includes('/packages/etcd/')) return 'polykv etcd';
  if (url.includes('/packages/consul/')) return 'polykv consul';
  if (url.includes('/packages/core/')) return 'polykv core';
  if (url.includes('/undici/')) return 'undici';
  if (url.includes('/bench/')) return 'bench loop';
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return 'native / VM';
  return 'other';
}

function shortUrl(url) {
  const at = url.search(/packages\/|undici\/|bench\//);
  return at === -1 ? url.replace(/^file:\/\//, '') : url.slice(at);
}

export function summarize(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + delta);
  }
  const functions = new Map();
  const areas = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const name = callFrame.functionName || '(anonymous)';
    const where = callFrame.url ? `${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const a = name === '(garbage collector)' ? 'GC' : area(callFrame.url);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const rows = [...functions]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [name, where] = key.split('\u0000');
      return { name, where, ms: us / 1000, share: us / total };
    });
  const areaRows = [...areas]
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  return { busyMs: total / 1000, idleMs: idle / 1000, rows, areas: areaRows };
}
