export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median of `pick(run)` over the runs. */
export function medianOf(runs, pick) {
  return median(runs.map(pick));
}

/** Per repetition: value(contender) / value(reference); then the median. */
export function medianRatio(runs, refRuns, pick) {
  const ratios = [];
  for (let i = 0; i < Math.min(runs.length, refRuns.length); i++)
    ratios.push(pick(runs[i]) / pick(refRuns[i]));
  return median(ratios);
}

/** The nearest-rank percentile (p in 0..100). */
export function percentile(values, p) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function fmt(value, digits = 2) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'n/a';
  return value.toFixed(digits);
}

export function fmtInt(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

export function ratio(value, reference) {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return NaN;
  return value / reference;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
