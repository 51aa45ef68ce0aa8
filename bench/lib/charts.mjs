// The charts of RESULTS.md: one self-contained SVG per scenario, written by this file (no chart
// library, no external reference: fonts are the viewer's sans-serif, colours inline).
//
// A chart is horizontal bars, one per contender, side by side on one axis. For the request and
// latency scenarios the axis is the ratio to the raw loop: a line marks the raw loop (1.00) and a
// shaded band the A/A control's spread over the repetitions (the run's noise band); a dashed line
// marks the target when there is one.

const COLOURS = {
  raw: '#6b7280',
  control: '#9ca3af',
  native: '#2563eb',
  store: '#0d9488',
  peer: '#d97706',
  other: '#7c3aed',
};

const escape = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A tidy axis maximum: 1, 2 or 5 times a power of ten, at or above `value`. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {string} chart.axis           what the bars measure (under the axis)
 * @param {{ label: string, value: number, kind?: string, note?: string }[]} chart.bars
 * @param {number} [chart.reference]  where the raw loop sits (a solid line), e.g. 1
 * @param {[number, number]} [chart.band]  the A/A control's spread (a shaded band)
 * @param {number} [chart.target]     a dashed line
 * @param {string} [chart.targetLabel]
 * @param {number} [chart.digits]     digits of the printed values
 * @returns {string} the SVG document
 */
export function barChart({ title, axis, bars, reference, band, target, targetLabel, digits = 2 }) {
  const width = 720;
  const left = 170;
  const right = 80;
  const top = 40;
  const row = 26;
  const plotWidth = width - left - right;
  const height = top + bars.length * row + 56;
  const finite = bars.map((b) => b.value).filter(Number.isFinite);
  const max = niceMax(Math.max(...finite, reference ?? 0, band?.[1] ?? 0, target ?? 0) * 1.05);
  const x = (value) => left + (Math.max(0, value) / max) * plotWidth;
  const bottom = top + bars.length * row;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  if (band && band.every(Number.isFinite)) {
    parts.push(
      `<rect x="${x(band[0]).toFixed(1)}" y="${top - 6}" width="${Math.max(1, x(band[1]) - x(band[0])).toFixed(1)}" height="${bottom - top + 12}" fill="#fde68a" opacity="0.6"/>`,
    );
  }
  // Grid: five steps.
  for (let i = 0; i <= 5; i++) {
    const value = (max * i) / 5;
    parts.push(
      `<line x1="${x(value).toFixed(1)}" y1="${top - 6}" x2="${x(value).toFixed(1)}" y2="${bottom + 6}" stroke="#e5e7eb"/>`,
      `<text x="${x(value).toFixed(1)}" y="${bottom + 20}" text-anchor="middle" fill="#374151">${value.toFixed(max < 10 ? 2 : 0)}</text>`,
    );
  }
  bars.forEach((bar, i) => {
    const y = top + i * row;
    const colour = COLOURS[bar.kind] ?? COLOURS.other;
    parts.push(
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escape(bar.label)}</text>`,
      Number.isFinite(bar.value)
        ? `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(bar.value) - left).toFixed(1)}" height="${row - 8}" fill="${colour}"/>`
        : '',
      `<text x="${(Number.isFinite(bar.value) ? x(bar.value) : left) + 6}" y="${y + 16}" fill="#111827">${Number.isFinite(bar.value) ? bar.value.toFixed(digits) : 'n/a'}${bar.note ? ` ${escape(bar.note)}` : ''}</text>`,
    );
  });
  if (Number.isFinite(reference))
    parts.push(
      `<line x1="${x(reference).toFixed(1)}" y1="${top - 10}" x2="${x(reference).toFixed(1)}" y2="${bottom + 6}" stroke="#111827" stroke-width="1.5"/>`,
      `<text x="${x(reference).toFixed(1)}" y="${top - 12}" text-anchor="middle" font-size="11">raw</text>`,
    );
  if (Number.isFinite(target))
    parts.push(
      `<line x1="${x(target).toFixed(1)}" y1="${top - 6}" x2="${x(target).toFixed(1)}" y2="${bottom + 6}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
      `<text x="${(x(target) + 4).toFixed(1)}" y="${bottom + 4}" font-size="11" fill="#dc2626">${escape(targetLabel ?? 'target')}</text>`,
    );
  const legend = band ? 'shaded: the A/A control’s spread (noise band)' : '';
  parts.push(
    `<text x="${left}" y="${bottom + 40}" fill="#374151">${escape(axis)}${legend ? `; ${legend}` : ''}</text>`,
    '</svg>',
  );
  return `${parts.filter(Boolean).join('\n')}\n`;
}
