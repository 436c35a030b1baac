/**
 * The charts BENCHMARKS.md shows, as plain SVG strings (no external service, no dependency):
 * a log-log line chart, grouped stacked bars, and a cumulative distribution.
 */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"';
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (value: number) =>
  value >= 1000 ? `${Number((value / 1000).toPrecision(3))}k` : `${Number(value.toPrecision(3))}`;

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Decades (and their 2 and 5) between `low` and `high`, for log axes. */
function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v >= low && v <= high) ticks.push(v);
    }
  }
  return ticks;
}

export interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

/** A line chart with log scales on both axes. */
export function logLogChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}): string {
  const width = 800;
  const height = 440;
  const m = { left: 70, right: 230, top: 40, bottom: 50 };
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const x0 = 10 ** Math.floor(Math.log10(Math.min(...xs)));
  const x1 = 10 ** Math.ceil(Math.log10(Math.max(...xs)));
  const y0 = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const y1 = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const px = (x: number) =>
    m.left +
    ((Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * (width - m.left - m.right);
  const py = (y: number) =>
    height -
    m.bottom -
    ((Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * (height - m.top - m.bottom);
  const body: string[] = [];
  for (const t of logTicks(x0, x1)) {
    body.push(
      `<line x1="${px(t)}" y1="${m.top}" x2="${px(t)}" y2="${height - m.bottom}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${height - m.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  for (const t of logTicks(y0, y1)) {
    body.push(
      `<line x1="${m.left}" y1="${py(t)}" x2="${width - m.right}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  body.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  options.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    const path = points
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');
    body.push(
      `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    if (!s.dashed) {
      for (const [x, y] of points) body.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3.5" fill="${color}"/>`);
    }
    const ly = m.top + 10 + i * 20;
    body.push(
      `<line x1="${width - m.right + 14}" y1="${ly}" x2="${width - m.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${width - m.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  return frame(width, height, options.title, body);
}

export interface BarGroup {
  /** e.g. "10 members". */
  label: string;
  bars: { label: string; parts: Record<string, number> }[];
}

/**
 * Horizontal stacked bars, one panel per group, each panel on its own linear scale (the
 * groups differ by orders of magnitude): the parts are the services a total is made of.
 */
export function stackedBars(options: { title: string; unit: string; groups: BarGroup[] }): string {
  const width = 800;
  const barHeight = 20;
  const gap = 8;
  const left = 130;
  const right = 120;
  const parts = [...new Set(options.groups.flatMap((g) => g.bars.flatMap((b) => Object.keys(b.parts))))];
  const color = (part: string) => COLORS[parts.indexOf(part) % COLORS.length];
  const body: string[] = [];
  let y = 40;
  parts.forEach((part, i) => {
    const x = left + i * 120;
    body.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color(part)}"/>`,
      `<text x="${x + 16}" y="${y}">${esc(part)}</text>`,
    );
  });
  y += 20;
  for (const group of options.groups) {
    const max = Math.max(...group.bars.map((b) => Object.values(b.parts).reduce((a, v) => a + v, 0)));
    body.push(`<text x="10" y="${y + 12}" font-weight="600">${esc(group.label)}</text>`);
    y += 20;
    for (const bar of group.bars) {
      const total = Object.values(bar.parts).reduce((a, v) => a + v, 0);
      body.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(bar.label)}</text>`);
      let x = left;
      for (const part of parts) {
        const value = bar.parts[part] ?? 0;
        if (value <= 0) continue;
        const w = (value / max) * (width - left - right);
        body.push(
          `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w).toFixed(1)}" height="${barHeight}" fill="${color(part)}"><title>${esc(part)}: ${value}</title></rect>`,
        );
        x += w;
      }
      body.push(
        `<text x="${x + 6}" y="${y + 14}">${esc(options.unit)}${Number(total.toPrecision(3))}</text>`,
      );
      y += barHeight + gap;
    }
    y += 8;
  }
  return frame(width, y + 10, options.title, body);
}

/** A cumulative distribution (percent of samples at or under a value), log scale on x. */
export function cdfChart(options: {
  title: string;
  xLabel: string;
  /** Value at each percentile 0 … 100. */
  percentiles: number[];
  marks: { label: string; percentile: number }[];
}): string {
  const width = 760;
  const height = 380;
  const m = { left: 60, right: 40, top: 40, bottom: 50 };
  const values = options.percentiles.filter((v) => v > 0);
  const x0 = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const x1 = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const px = (x: number) =>
    m.left +
    ((Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * (width - m.left - m.right);
  const py = (p: number) => height - m.bottom - (p / 100) * (height - m.top - m.bottom);
  const body: string[] = [];
  for (const t of logTicks(x0, x1)) {
    body.push(
      `<line x1="${px(t)}" y1="${m.top}" x2="${px(t)}" y2="${height - m.bottom}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${height - m.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  for (const p of [0, 25, 50, 75, 90, 100]) {
    body.push(
      `<line x1="${m.left}" y1="${py(p)}" x2="${width - m.right}" y2="${py(p)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(p) + 4}" text-anchor="end">${p}%</text>`,
    );
  }
  const path = options.percentiles
    .map((v, p) => `${p === 0 ? 'M' : 'L'}${px(Math.max(v, x0)).toFixed(1)},${py(p).toFixed(1)}`)
    .join(' ');
  body.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
    `<path d="${path}" fill="none" stroke="${COLORS[0]}" stroke-width="2"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
  );
  for (const mark of options.marks) {
    const v = options.percentiles[mark.percentile] ?? 0;
    body.push(
      `<circle cx="${px(Math.max(v, x0))}" cy="${py(mark.percentile)}" r="4" fill="${COLORS[1]}"/>`,
      `<text x="${px(Math.max(v, x0)) + 8}" y="${py(mark.percentile) + 4}">${esc(`${mark.label} ${fmt(v)} ms`)}</text>`,
    );
  }
  return frame(width, height, options.title, body);
}
