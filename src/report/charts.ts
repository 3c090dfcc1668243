/**
 * Charts as PNG (for `fdft eval` output folders, Markdown reports) and SVG (for the HTML report),
 * rendered without a browser: vega-lite spec → `vega-lite.compile` → headless `vega.View`
 * (`renderer: 'none'`) → SVG string → `sharp` (librsvg) → PNG.
 *
 * Text is drawn by librsvg through fontconfig; the spec asks for DejaVu Sans (shipped by most
 * Linux distributions) and falls back to the generic `sans-serif`. vega has no canvas here, so it
 * estimates text widths; `autosize: fit` keeps every chart exactly `width × height` CSS pixels, and
 * the PNG is that times `scale`.
 *
 * vega and vega-lite are imported lazily: importing this module costs nothing until a chart is drawn.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Bad chart input: no series, mismatched x/y lengths, no finite points. */
export class ChartError extends Error {
  override name = 'ChartError';
}

export interface ChartOptions {
  /** Overall chart width in CSS pixels, axes and legend included. Default 520. */
  width?: number;
  /** Overall chart height in CSS pixels. Default 360 (ROC: 460 × 500, legend below a square-ish plot). */
  height?: number;
  /** PNG pixels per CSS pixel. Default 2 (sharp on high-DPI screens and in print). */
  scale?: number;
}

export interface RocCurveSeries {
  name: string;
  fpr: number[];
  tpr: number[];
  /** Shown in the legend as "name (AUC 0.912)"; a long name is shortened in its middle to fit. */
  auc?: number;
}

export interface HistogramInput {
  scores: ArrayLike<number>;
  /** 0 = real, 1 = fake. */
  labels: ArrayLike<number>;
  /** Number of equal-width bins over the score range. Default 30. */
  bins?: number;
  title?: string;
  /** Score-axis label. Default "score (P(fake))". */
  xLabel?: string;
  /** Draw each class as a fraction of that class (useful when classes are unbalanced). Default false: counts. */
  normalize?: boolean;
  /** Vertical rules, e.g. [{ name: 'EER', value: 0.41 }]. */
  markers?: ThresholdMarker[];
}

export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
}

export interface LineChartInput {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Fixed y range, e.g. [0, 1] for accuracies; default: fitted to the data. */
  yDomain?: [number, number];
}

export interface ThresholdMarker {
  name: string;
  value: number;
}

export interface ThresholdChartInput {
  /** Decision thresholds (x axis). */
  thresholds: number[];
  /** One curve per metric, each the same length as `thresholds`, e.g. { precision: […], recall: […], f1: […] }. */
  metrics: Record<string, number[]>;
  title?: string;
  /** Vertical rules at chosen thresholds (e.g. the tuned one). */
  markers?: ThresholdMarker[];
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const REAL_COLOR = '#4c78a8';
const FAKE_COLOR = '#e45756';

const LEGEND_LABEL_FONT_SIZE = 11;

/**
 * Advance width of a character in em, rounded up from DejaVu Sans (the charts' font; its
 * fallbacks are narrower). vega has no canvas here and estimates every character at 0.8 em, which
 * is far too wide for most text and cuts labels that would fit.
 */
function charEm(ch: string): number {
  if (/[ijlI.,:;'!|]/.test(ch)) return 0.3;
  if (/[ ()[\]{}\-/frt]/.test(ch)) return 0.42;
  if (/[mwMW@%…]/.test(ch)) return 1;
  if (/[A-Z&]/.test(ch)) return 0.8;
  if (/[a-z0-9_=<>+#$*?~^"]/.test(ch)) return 0.65;
  return 1; // anything else (wide scripts included)
}

function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) em += charEm(ch);
  return em * fontSize;
}

/**
 * A ROC legend label, `name` + `suffix`, that fits a chart `width` px wide (the legend sits under
 * the plot, right of the y axis): a name too long gives way in its middle, keeping both its ends
 * and the whole suffix (the curve's AUC), rather than being cut at its end.
 */
export function fitLegendLabel(name: string, suffix: string, width: number): string {
  const available = Math.max(60, width - 90);
  if (textWidth(name + suffix, LEGEND_LABEL_FONT_SIZE) <= available) return name + suffix;
  const chars = [...name];
  let keep = chars.length - 1;
  const shortened = (k: number) => `${chars.slice(0, Math.ceil(k / 2)).join('')}…${chars.slice(chars.length - Math.floor(k / 2)).join('')}${suffix}`;
  while (keep > 2 && textWidth(shortened(keep), LEGEND_LABEL_FONT_SIZE) > available) keep--;
  return shortened(keep);
}

function baseConfig(width: number) {
  return {
    background: 'white',
    padding: 8,
    autosize: { type: 'fit' as const, contains: 'padding' as const },
    config: {
      font: FONT,
      title: { fontSize: 14, anchor: 'start' as const },
      axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#e6e6e6' },
      legend: { labelFontSize: LEGEND_LABEL_FONT_SIZE, titleFontSize: 12, labelLimit: Math.max(100, width - 40), orient: 'bottom' as const, direction: 'vertical' as const },
    },
  };
}

function checkSize(opts: ChartOptions, defaultHeight: number): { width: number; height: number; scale: number } {
  const width = opts.width ?? 520;
  const height = opts.height ?? defaultHeight;
  const scale = opts.scale ?? 2;
  for (const [k, v] of Object.entries({ width, height, scale })) {
    if (!(Number.isFinite(v) && v > 0)) throw new ChartError(`${k} must be a positive number, got ${String(v)}`);
  }
  if (width * scale > 8000 || height * scale > 8000) throw new ChartError(`chart too large: ${width}×${height} at scale ${scale}`);
  return { width, height, scale };
}

/**
 * Keep only the points where a polyline changes direction (plus both ends): a ROC curve of 100 000
 * scores has long straight runs, and drawing them point by point only makes the SVG huge.
 */
export function dropCollinear(x: number[], y: number[]): { x: number[]; y: number[] } {
  if (x.length <= 2) return { x: [...x], y: [...y] };
  const ox = [x[0]];
  const oy = [y[0]];
  for (let k = 1; k < x.length - 1; k++) {
    const cross = (x[k] - ox[ox.length - 1]) * (y[k + 1] - y[k]) - (y[k] - oy[oy.length - 1]) * (x[k + 1] - x[k]);
    if (Math.abs(cross) > 1e-12) {
      ox.push(x[k]);
      oy.push(y[k]);
    }
  }
  ox.push(x[x.length - 1]);
  oy.push(y[y.length - 1]);
  return { x: ox, y: oy };
}

/**
 * `dropCollinear`, then thin the rest so consecutive kept points are at least `step` apart (max of
 * |Δx|, |Δy|); the ends are kept. For curves in the unit square (ROC, PR) `step` 0.002 bounds the
 * number of points by about 1000 and the drawing error by 0.002, invisible at chart sizes.
 */
export function simplifyPolyline(x: number[], y: number[], step = 0.002): { x: number[]; y: number[] } {
  const c = dropCollinear(x, y);
  if (c.x.length <= 2 || step <= 0) return c;
  const ox = [c.x[0]];
  const oy = [c.y[0]];
  const last = c.x.length - 1;
  for (let k = 1; k < last; k++) {
    if (Math.max(Math.abs(c.x[k] - ox[ox.length - 1]), Math.abs(c.y[k] - oy[oy.length - 1])) >= step) {
      ox.push(c.x[k]);
      oy.push(c.y[k]);
    }
  }
  ox.push(c.x[last]);
  oy.push(c.y[last]);
  return { x: ox, y: oy };
}

function checkSeries(what: string, name: string, x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (!x || !y || x.length !== y.length) {
    throw new ChartError(`${what} '${name}': x and y differ in length (${x?.length} vs ${y?.length})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Specs (pure data; exported so reports can embed or tweak them)

/** ROC curves of one or more detectors, with the chance diagonal. */
export function rocChartSpec(curves: RocCurveSeries[], opts: ChartOptions & { title?: string } = {}): TopLevelSpec {
  if (!Array.isArray(curves) || curves.length === 0) throw new ChartError('rocChart needs at least one curve');
  const size = checkSize({ width: 460, height: 500, ...opts }, 500);
  const values: { series: string; x: number; y: number; i: number }[] = [];
  for (const c of curves) {
    checkSeries('ROC curve', c.name, c.fpr, c.tpr);
    const label = fitLegendLabel(c.name, c.auc === undefined ? '' : ` (AUC ${c.auc.toFixed(3)})`, size.width);
    const pts = simplifyPolyline(c.fpr, c.tpr);
    pts.x.forEach((x, i) => {
      if (Number.isFinite(x) && Number.isFinite(pts.y[i])) values.push({ series: label, x, y: pts.y[i], i });
    });
  }
  if (values.length === 0) throw new ChartError('rocChart: no finite points');
  const scale01 = { domain: [0, 1], nice: false };
  const base = baseConfig(size.width);
  return {
    ...base,
    // The labels are fitted above; vega's own limit would cut them again by its cruder estimate.
    config: { ...base.config, legend: { ...base.config.legend, labelLimit: 0 } },
    width: size.width,
    height: size.height,
    title: opts.title ?? 'ROC curve',
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999999', strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'false positive rate (reals flagged fake)', scale: scale01 },
          y: { field: 'y', type: 'quantitative', title: 'true positive rate (fakes caught)', scale: scale01 },
          color: { field: 'series', type: 'nominal', title: null, sort: null },
          order: { field: 'i', type: 'quantitative' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Equal-width bin counts of the real and the fake scores over a shared range. */
export function scoreHistogramBins(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 30,
): { edges: number[]; real: number[]; fake: number[] } {
  if (!scores || !labels || scores.length !== labels.length) throw new ChartError('histogram: scores and labels differ in length');
  if (!(Number.isInteger(bins) && bins >= 1 && bins <= 1000)) throw new ChartError(`histogram: bins must be an integer in [1, 1000], got ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (!Number.isFinite(s)) throw new ChartError(`histogram: score at index ${i} is ${s}`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new ChartError(`histogram: label at index ${i} is ${labels[i]}; labels must be 0 or 1`);
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  if (scores.length === 0) throw new ChartError('histogram: no scores');
  // Probabilities get the natural [0, 1] axis; other scores (logits, margins) their own range.
  if (lo >= 0 && hi <= 1) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + k * width);
  const real = new Array<number>(bins).fill(0);
  const fake = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.floor((scores[i] - lo) / width)); // the top edge belongs to the last bin
    (labels[i] === 1 ? fake : real)[b]++;
  }
  return { edges, real, fake };
}

/** Overlaid real / fake score histograms: how well the two classes separate. */
export function histogramSpec(input: HistogramInput, opts: ChartOptions = {}): TopLevelSpec {
  const size = checkSize(opts, 360);
  const { edges, real, fake } = scoreHistogramBins(input.scores, input.labels, input.bins ?? 30);
  const nReal = real.reduce((a, b) => a + b, 0);
  const nFake = fake.reduce((a, b) => a + b, 0);
  const values: { cls: string; x0: number; x1: number; y: number }[] = [];
  for (let b = 0; b < real.length; b++) {
    values.push({ cls: `real (n=${nReal})`, x0: edges[b], x1: edges[b + 1], y: input.normalize ? real[b] / Math.max(1, nReal) : real[b] });
    values.push({ cls: `fake (n=${nFake})`, x0: edges[b], x1: edges[b + 1], y: input.normalize ? fake[b] / Math.max(1, nFake) : fake[b] });
  }
  const xScale = { domain: [edges[0], edges[edges.length - 1]], nice: false };
  const layers: unknown[] = [
    {
      data: { values },
      mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
      encoding: {
        // Pre-binned data: bars span [x0, x1] and rise from 0 (the two classes overlap, not stack).
        x: { field: 'x0', type: 'quantitative', bin: { binned: true }, title: input.xLabel ?? 'score (P(fake))', scale: xScale },
        x2: { field: 'x1' },
        y: { field: 'y', type: 'quantitative', title: input.normalize ? 'fraction of class' : 'images', stack: null },
        y2: { datum: 0 },
        color: {
          field: 'cls',
          type: 'nominal',
          title: null,
          scale: { domain: [`real (n=${nReal})`, `fake (n=${nFake})`], range: [REAL_COLOR, FAKE_COLOR] },
        },
      },
    },
  ];
  const markers = (input.markers ?? []).filter((m) => Number.isFinite(m.value));
  if (markers.length) layers.push(...markerLayers(markers));
  return { ...baseConfig(size.width), width: size.width, height: size.height, title: input.title ?? 'Score distribution', layer: layers } as TopLevelSpec;
}

function markerLayers(markers: ThresholdMarker[]): unknown[] {
  const values = markers.map((m) => {
    const v = formatNumber(m.value);
    return { x: m.value, label: m.name === v ? v : `${m.name} ${v}` };
  });
  return [
    { data: { values }, mark: { type: 'rule', color: '#333333', strokeDash: [2, 3] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
    // One text layer per marker, each a line lower, so labels of close thresholds do not overprint.
    ...values.map((v, k) => ({
      data: { values: [v] },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2 + 13 * k, fontSize: 10, color: '#333333' },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    })),
  ];
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : String(Number(v.toFixed(3)));
}

function lineLayers(series: LineSeries[], xTitle: string, yTitle: string, yDomain?: [number, number]): unknown[] {
  if (!Array.isArray(series) || series.length === 0) throw new ChartError('line chart needs at least one series');
  const values: { series: string; x: number; y: number; i: number }[] = [];
  let maxPoints = 0;
  for (const s of series) {
    checkSeries('series', s.name, s.x, s.y);
    maxPoints = Math.max(maxPoints, s.x.length);
    s.x.forEach((x, i) => {
      // Non-finite points (a NaN loss, the +∞ ROC threshold) are left out rather than breaking the chart.
      if (Number.isFinite(x) && Number.isFinite(s.y[i])) values.push({ series: s.name, x, y: s.y[i], i });
    });
  }
  if (values.length === 0) throw new ChartError('line chart: no finite points');
  return [
    {
      data: { values },
      // Dots help to read short curves (a few epochs); they only clutter long ones.
      mark: { type: 'line', strokeWidth: 2, point: maxPoints <= 40 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } },
        y: { field: 'y', type: 'quantitative', title: yTitle, scale: yDomain ? { domain: yDomain, nice: false } : { zero: false } },
        color: { field: 'series', type: 'nominal', title: null, sort: null },
        order: { field: 'i', type: 'quantitative' },
      },
    },
  ];
}

/** Curves over training steps / epochs (loss, accuracy, AUROC …), one line per series. */
export function lineChartSpec(input: LineChartInput, opts: ChartOptions = {}): TopLevelSpec {
  const size = checkSize(opts, 360);
  const layers = lineLayers(input.series, input.xLabel, input.yLabel, input.yDomain);
  return { ...baseConfig(size.width), width: size.width, height: size.height, title: input.title, layer: layers } as TopLevelSpec;
}

/** Metrics as functions of the decision threshold (precision, recall, F1 …), with optional markers. */
export function thresholdChartSpec(input: ThresholdChartInput, opts: ChartOptions = {}): TopLevelSpec {
  const size = checkSize(opts, 360);
  const names = Object.keys(input.metrics ?? {});
  if (names.length === 0) throw new ChartError('threshold chart needs at least one metric');
  const series = names.map((name) => ({ name, x: input.thresholds, y: input.metrics[name] }));
  const layers = lineLayers(series, 'decision threshold', 'metric', [0, 1]);
  const markers = (input.markers ?? []).filter((m) => Number.isFinite(m.value));
  if (markers.length) layers.push(...markerLayers(markers));
  return { ...baseConfig(size.width), width: size.width, height: size.height, title: input.title ?? 'Metrics vs threshold', layer: layers } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** vega-lite spec → standalone SVG document (string). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG document → PNG, rasterised at `scale` pixels per CSS pixel. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  // librsvg rasterises at `density` DPI; 72 DPI = 1 pixel per CSS pixel.
  return sharp(Buffer.from(svg), { density: 72 * scale }).png({ compressionLevel: 9 }).toBuffer();
}

export async function rocChartSvg(curves: RocCurveSeries[], opts: ChartOptions & { title?: string } = {}): Promise<string> {
  return renderSvg(rocChartSpec(curves, opts));
}
export async function rocChartPng(curves: RocCurveSeries[], opts: ChartOptions & { title?: string } = {}): Promise<Buffer> {
  return svgToPng(await rocChartSvg(curves, opts), checkSize(opts, 1).scale);
}

export async function histogramSvg(input: HistogramInput, opts: ChartOptions = {}): Promise<string> {
  return renderSvg(histogramSpec(input, opts));
}
export async function histogramPng(input: HistogramInput, opts: ChartOptions = {}): Promise<Buffer> {
  return svgToPng(await histogramSvg(input, opts), checkSize(opts, 1).scale);
}

export async function lineChartSvg(input: LineChartInput, opts: ChartOptions = {}): Promise<string> {
  return renderSvg(lineChartSpec(input, opts));
}
export async function lineChartPng(input: LineChartInput, opts: ChartOptions = {}): Promise<Buffer> {
  return svgToPng(await lineChartSvg(input, opts), checkSize(opts, 1).scale);
}

export async function thresholdChartSvg(input: ThresholdChartInput, opts: ChartOptions = {}): Promise<string> {
  return renderSvg(thresholdChartSpec(input, opts));
}
export async function thresholdChartPng(input: ThresholdChartInput, opts: ChartOptions = {}): Promise<Buffer> {
  return svgToPng(await thresholdChartSvg(input, opts), checkSize(opts, 1).scale);
}
