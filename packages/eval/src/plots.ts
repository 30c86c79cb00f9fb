import { existsSync } from 'node:fs';
import { BackendError } from '@dytrack/core';
import type { TrackerComparison } from './compare.js';
import { CENTER_THRESHOLDS, OVERLAP_THRESHOLDS, type AggregateScore } from './metrics.js';

/** One line (or set of points) on a chart. */
export interface ChartSeries {
  /** Legend text. */
  readonly label: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** Draw a line through the points (default true). */
  readonly line?: boolean;
  /** Draw a marker at each point (default false). */
  readonly markers?: boolean;
  /** Text beside each point (for example the threshold it was measured at). */
  readonly pointLabels?: readonly string[];
  /** CSS colour; a palette colour when omitted. */
  readonly color?: string;
  /** Dashed line. */
  readonly dashed?: boolean;
}

/** A 2-D chart with axes, grid and a legend. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  readonly series: readonly ChartSeries[];
  /** Where the legend goes (default `'bottom-left'`). */
  readonly legend?: 'bottom-left' | 'bottom-right' | 'top-right' | 'top-left';
  /** Width in pixels (default 640). */
  readonly width?: number;
  /** Height in pixels (default 480). */
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, target = 6): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= target) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Renders a chart as a standalone SVG document. */
export function lineChartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 480;
  const m = { left: 64, right: 20, top: 40, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const [x0, x1] = spec.xRange;
  const [y0, y1] = spec.yRange;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const f = (v: number): string => v.toFixed(2);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(spec.title)}</text>`);
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + ph}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle" font-size="12">${esc(String(t))}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + pw}" y2="${f(sy(t))}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${m.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end" font-size="12">${esc(String(t))}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle" font-size="14">${esc(spec.xLabel)}</text>`);
  parts.push(`<text x="16" y="${m.top + ph / 2}" text-anchor="middle" font-size="14" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(spec.yLabel)}</text>`);
  parts.push(`<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath>`);
  // Point labels already placed (x, y, width): a label that would overlap one moves up a line.
  const placed: [number, number, number][] = [];
  const placeLabel = (x: number, y: number, text: string): number => {
    const w = text.length * 6;
    let yy = y;
    for (let guard = 0; guard < 20 && placed.some(([px, py, pw2]) => x < px + pw2 && px < x + w && Math.abs(py - yy) < 11); guard++) yy -= 11;
    placed.push([x, yy, w]);
    return yy;
  };
  spec.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const pts = s.x.map((x, i) => [sx(x), sy(s.y[i]!)] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (s.line !== false && pts.length > 1) {
      parts.push(`<polyline clip-path="url(#plot)" fill="none" stroke="${color}" stroke-width="2.2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([a, b]) => `${f(a)},${f(b)}`).join(' ')}"/>`);
    }
    if (s.markers === true) for (const [a, b] of pts) parts.push(`<circle cx="${f(a)}" cy="${f(b)}" r="4" fill="${color}" stroke="#ffffff" stroke-width="1"/>`);
    if (s.pointLabels !== undefined) {
      s.x.forEach((x, i) => {
        const label = s.pointLabels![i];
        if (label === undefined || !Number.isFinite(sx(x)) || !Number.isFinite(sy(s.y[i]!))) return;
        const ly = placeLabel(sx(x) + 6, sy(s.y[i]!) - 6, label);
        if (ly !== sy(s.y[i]!) - 6) parts.push(`<line x1="${f(sx(x))}" y1="${f(sy(s.y[i]!))}" x2="${f(sx(x) + 5)}" y2="${f(ly + 2)}" stroke="${color}" stroke-width="0.6"/>`);
        parts.push(`<text x="${f(sx(x) + 6)}" y="${f(ly)}" font-size="10" fill="${color}">${esc(label)}</text>`);
      });
    }
  });
  // Legend box.
  const legendPos = spec.legend ?? 'bottom-left';
  const lineH = 18;
  const longest = Math.max(1, ...spec.series.map((s) => s.label.length));
  const lw = Math.min(pw - 20, 36 + longest * 7.2);
  const lh = spec.series.length * lineH + 10;
  const lx = legendPos.endsWith('left') ? m.left + 10 : m.left + pw - lw - 10;
  const ly = legendPos.startsWith('bottom') ? m.top + ph - lh - 10 : m.top + 10;
  if (spec.series.length > 0) {
    parts.push(`<rect x="${f(lx)}" y="${f(ly)}" width="${f(lw)}" height="${lh}" fill="#ffffff" fill-opacity="0.9" stroke="#999999"/>`);
    spec.series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length]!;
      const yy = ly + 14 + k * lineH;
      if (s.line !== false) parts.push(`<line x1="${f(lx + 6)}" y1="${f(yy - 4)}" x2="${f(lx + 26)}" y2="${f(yy - 4)}" stroke="${color}" stroke-width="2.2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
      if (s.markers === true) parts.push(`<circle cx="${f(lx + 16)}" cy="${f(yy - 4)}" r="4" fill="${color}"/>`);
      parts.push(`<text x="${f(lx + 32)}" y="${f(yy)}" font-size="12">${esc(s.label)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** A tracker's aggregate score with its name, for the plots. */
export interface NamedScore {
  readonly name: string;
  readonly score: AggregateScore;
}

/** OTB-style success plot: success rate against overlap threshold, legend `name [AUC]`, best first. */
export function successPlotSvg(results: readonly NamedScore[], title = 'Success plot'): string {
  const sorted = results.slice().sort((a, b) => b.score.auc - a.score.auc);
  return lineChartSvg({
    title,
    xLabel: 'Overlap threshold',
    yLabel: 'Success rate (%)',
    xRange: [0, 1],
    yRange: [0, 100],
    legend: 'top-right',
    series: sorted.map((r) => ({ label: `${r.name} [${r.score.auc.toFixed(1)}]`, x: OVERLAP_THRESHOLDS, y: Array.from(r.score.successCurve, (v) => 100 * v) })),
  });
}

/** OTB-style precision plot: precision against centre-error threshold (0-50 px), legend `name [P@20]`. */
export function precisionPlotSvg(results: readonly NamedScore[], title = 'Precision plot'): string {
  const sorted = results.slice().sort((a, b) => b.score.precision - a.score.precision);
  return lineChartSvg({
    title,
    xLabel: 'Location error threshold (pixels)',
    yLabel: 'Precision (%)',
    xRange: [0, 50],
    yRange: [0, 100],
    legend: 'bottom-right',
    series: sorted.map((r) => ({ label: `${r.name} [${r.score.precision.toFixed(1)}]`, x: CENTER_THRESHOLDS, y: Array.from(r.score.precisionCurve, (v) => 100 * v) })),
  });
}

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
];

/**
 * Rasterises an SVG to PNG with resvg. Text needs a font: system fonts are
 * loaded, and DejaVu/Liberation are named explicitly where installed; without
 * any font the text is left out but the curves are drawn.
 */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await import('@resvg/resvg-js'));
  } catch (cause) {
    throw new BackendError(`cannot load @resvg/resvg-js to draw PNG plots: ${(cause as Error).message}`, { cause });
  }
  const fontFiles = FONT_CANDIDATES.filter((f) => existsSync(f));
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, fontFiles, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' });
  return resvg.render().asPng();
}

/**
 * Paired comparisons as a forest plot: one row per tracker, its share of the baseline's AUC as a
 * dot with its 95% interval as a bar, and a dashed line at 100% (as good as the baseline). A bar
 * that crosses the line is a difference the sequences do not establish.
 */
export function comparisonPlotSvg(comparisons: readonly TrackerComparison[], title = 'AUC kept'): string {
  const labelWidth = Math.max(80, ...comparisons.map((c) => 7 * c.tracker.length)) + 16;
  const rowH = 34;
  const W = 640;
  const m = { left: labelWidth, right: 24, top: 64, bottom: 52 };
  const H = m.top + m.bottom + Math.max(1, comparisons.length) * rowH;
  const pw = W - m.left - m.right;
  const values = comparisons.flatMap((c) => [c.ratioLow, c.ratioHigh, c.ratio]).filter(Number.isFinite).map((v) => 100 * v);
  let lo = Math.min(100, ...values);
  let hi = Math.max(100, ...values);
  const pad = Math.max(1, 0.08 * (hi - lo));
  lo -= pad;
  hi += pad;
  const sx = (v: number): number => m.left + ((v - lo) / (hi - lo)) * pw;
  const f = (v: number): string => v.toFixed(2);
  const baseline = comparisons[0]?.baseline ?? '';
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${W / 2}" y="44" text-anchor="middle" font-size="12" fill="#555555">${esc(`share of ${baseline}'s AUC, 95% paired bootstrap interval over ${comparisons[0]?.sequences ?? 0} sequences`)}</text>`);
  const bottom = H - m.bottom;
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${bottom}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${bottom + 18}" text-anchor="middle" font-size="12">${esc(`${t}%`)}</text>`);
  }
  parts.push(`<line x1="${f(sx(100))}" y1="${m.top}" x2="${f(sx(100))}" y2="${bottom}" stroke="#333333" stroke-dasharray="6 4"/>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${bottom - m.top}" fill="none" stroke="#333333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle" font-size="14">${esc(`AUC kept (% of ${baseline})`)}</text>`);
  comparisons.forEach((c, k) => {
    const y = m.top + (k + 0.5) * rowH;
    const color = PALETTE[(k + 1) % PALETTE.length]!;
    parts.push(`<text x="${m.left - 8}" y="${f(y + 4)}" text-anchor="end" font-size="12">${esc(c.tracker)}</text>`);
    if (Number.isFinite(c.ratioLow) && Number.isFinite(c.ratioHigh)) {
      parts.push(`<line x1="${f(sx(100 * c.ratioLow))}" y1="${f(y)}" x2="${f(sx(100 * c.ratioHigh))}" y2="${f(y)}" stroke="${color}" stroke-width="3"/>`);
      for (const v of [c.ratioLow, c.ratioHigh]) parts.push(`<line x1="${f(sx(100 * v))}" y1="${f(y - 6)}" x2="${f(sx(100 * v))}" y2="${f(y + 6)}" stroke="${color}" stroke-width="2"/>`);
    }
    if (Number.isFinite(c.ratio)) {
      parts.push(`<circle cx="${f(sx(100 * c.ratio))}" cy="${f(y)}" r="5" fill="${color}" stroke="#ffffff" stroke-width="1"/>`);
      parts.push(`<text x="${f(sx(100 * c.ratio))}" y="${f(y - 9)}" text-anchor="middle" font-size="11">${esc(`${(100 * c.ratio).toFixed(1)}%`)}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
