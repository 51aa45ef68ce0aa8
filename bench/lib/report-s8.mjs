// The report's S8 section (copy and mirror at 100,000 keys), for bench/lib/report.mjs.
import { fmt, fmtInt, medianOf, medianRatio } from './stats.mjs';

const yes = (ok) => (ok ? '✅' : '❌');

/** S8: copy and mirror's initial copy at scale, both directions, and the resumed runs. */
export function s8Section(s8, push, chart, targets) {
  const keys = s8.keys;
  push(
    `## S8: copy of ${fmtInt(keys)} keys at scale (nested 5 deep, values up to 4 KB)`,
    '',
    'Each run is a child process on an emptied target: `naive` is the peer loop (node-etcd / consul 2: one',
    'recursive read, then one write per key, one at a time); `copy` is polykv `copy(from, to, { prefix,',
    `concurrency: ${s8.concurrency} })\` (what \`polykv copy\` runs); \`mirror\` is \`mirror()\` until its initial copy is`,
    "`synced`. Peak RSS is the child's VmHWM (the kernel's high-water mark, node and the libraries included).",
    'Keys written are counted at the target Store (one per key of every write call).',
    `Targets: ≥ 20× the naive loop, peak RSS ≤ 150 MB; resumed after an interruption at about half, the second`,
    'run writes only the keys the first did not land, and `diff` is empty.',
    '',
    '| direction | run | seconds | × naive | peak RSS MB | keys written | keys on the target |',
    '|---|---|--:|--:|--:|--:|--:|',
  );
  for (const [direction, row] of Object.entries(s8.directions)) {
    const naive = row.runs.naive;
    for (const [mode, runs] of Object.entries(row.runs)) {
      if (runs.length === 0) continue;
      const speedup = naive.length > 0 ? medianRatio(naive, runs, (r) => r.seconds) : NaN;
      const rss = medianOf(runs, (r) => r.peakRssMb);
      push(
        `| ${direction} | ${mode} | ${fmt(
          medianOf(runs, (r) => r.seconds),
          1,
        )} | ${fmt(speedup, 1)} | ${fmt(rss, 0)} | ${fmtInt(medianOf(runs, (r) => r.written))} | ${fmtInt(medianOf(runs, (r) => r.landed))} |`,
      );
      if (mode !== 'naive') {
        const ok = speedup >= 20 && rss <= 150 && runs.every((r) => r.landed >= keys);
        targets.push({
          what: `S8 ${mode} ${direction}`,
          ok,
          detail: `${fmt(speedup, 1)}× the naive loop, peak RSS ${fmt(rss, 0)} MB`,
        });
      }
    }
  }
  push(
    '',
    '| direction | run | first run: written | landed | second run: written | the rest | diff (missing/extra/different) | target |',
    '|---|---|--:|--:|--:|--:|---|---|',
  );
  for (const [direction, row] of Object.entries(s8.directions)) {
    for (const [mode, r] of Object.entries(row.resume)) {
      const ok =
        r.second.written === r.expectedSecondWrites && r.diff.missing + r.diff.extra + r.diff.different === 0;
      targets.push({
        what: `S8 ${mode} ${direction} resumed`,
        ok,
        detail: `second run wrote ${fmtInt(r.second.written)} of the ${fmtInt(r.expectedSecondWrites)} left`,
      });
      push(
        `| ${direction} | ${mode} | ${fmtInt(r.first.written)} | ${fmtInt(r.landedAfterFirst)} | ${fmtInt(r.second.written)} | ${fmtInt(r.expectedSecondWrites)} | ${r.diff.missing}/${r.diff.extra}/${r.diff.different} | ${yes(ok)} |`,
      );
    }
  }
  push('');
  for (const [direction, row] of Object.entries(s8.directions)) {
    const slug = direction.replace(/\W+/g, '-');
    const modes = Object.entries(row.runs).filter(([, runs]) => runs.length > 0);
    if (row.runs.naive.length > 0)
      chart(`S8-${slug}-speed.svg`, {
        title: `S8 ${direction}: × the naive loop`,
        axis: 'the naive loop’s time ÷ this run’s (higher is better)',
        bars: modes.map(([mode, runs]) => ({
          label: mode,
          kind: mode === 'naive' ? 'peer' : 'store',
          value: medianRatio(row.runs.naive, runs, (r) => r.seconds),
        })),
        target: 20,
        targetLabel: '≥ 20×',
        digits: 1,
      });
    chart(`S8-${slug}-rss.svg`, {
      title: `S8 ${direction}: peak RSS (MB)`,
      axis: 'the child process’s VmHWM, MB (lower is better)',
      bars: modes.map(([mode, runs]) => ({
        label: mode,
        kind: mode === 'naive' ? 'peer' : 'store',
        value: medianOf(runs, (r) => r.peakRssMb),
      })),
      target: 150,
      targetLabel: '≤ 150 MB',
      digits: 0,
    });
  }
}
