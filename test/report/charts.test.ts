import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  ChartError,
  dropCollinear,
  histogramPng,
  histogramSvg,
  lineChartPng,
  rocChartPng,
  rocChartSvg,
  scoreHistogramBins,
  simplifyPolyline,
  thresholdChartPng,
} from '../../src/report/charts.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function assertPng(buf: Buffer, width: number, height: number): Promise<void> {
  assert.ok(Buffer.isBuffer(buf), 'a Buffer');
  assert.deepEqual(buf.subarray(0, 8), PNG_SIGNATURE);
  const meta = await sharp(buf).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, width);
  assert.equal(meta.height, height);
  // Not a blank canvas: axes, text and marks make the image far from uniform.
  const stats = await sharp(buf).stats();
  assert.ok(stats.channels[0].stdev > 10, `image looks blank (stdev ${stats.channels[0].stdev})`);
}

test('rocChartPng: PNG of exactly width×height×scale, legend shows AUC, names escaped', async () => {
  const curves = [
    { name: 'model <a> & "b"', fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1], auc: 0.875 },
    { name: 'chance', fpr: [0, 1], tpr: [0, 1] },
  ];
  await assertPng(await rocChartPng(curves, { width: 300, height: 320, scale: 1 }), 300, 320);
  await assertPng(await rocChartPng(curves, { width: 200, height: 200, scale: 2 }), 400, 400);
  const svg = await rocChartSvg(curves, { width: 300, height: 320 });
  assert.match(svg, /^<svg/);
  assert.match(svg, /AUC 0\.875/);
  assert.match(svg, /model &lt;a&gt; &amp;/);
});

test('histogramPng: overlaid real/fake histograms with threshold markers', async () => {
  const scores = [0.05, 0.1, 0.2, 0.22, 0.4, 0.6, 0.7, 0.9, 0.95, 1];
  const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
  const png = await histogramPng({ scores, labels, bins: 10, title: 'Scores', markers: [{ name: 'EER', value: 0.5 }] }, { width: 360, height: 240, scale: 1 });
  await assertPng(png, 360, 240);
  const svg = await histogramSvg({ scores, labels, normalize: true }, { width: 360, height: 240 });
  assert.match(svg, /real \(n=5\)/);
  assert.match(svg, /fake \(n=5\)/);
});

test('scoreHistogramBins: shared [0,1] bins for probabilities, data range otherwise', () => {
  const h = scoreHistogramBins([0, 0.1, 0.5, 1, 0.95], [0, 0, 1, 1, 1], 4);
  assert.deepEqual(h.edges, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(h.real, [2, 0, 0, 0]);
  assert.deepEqual(h.fake, [0, 0, 1, 2]); // 1.0 falls in the last bin
  const g = scoreHistogramBins([-4, 4], [0, 1], 2);
  assert.deepEqual(g.edges, [-4, 0, 4]);
  assert.deepEqual([g.real, g.fake], [[1, 0], [0, 1]]);
  assert.throws(() => scoreHistogramBins([0.1], [0, 1]), ChartError);
  assert.throws(() => scoreHistogramBins([NaN], [0]), ChartError);
  assert.throws(() => scoreHistogramBins([0.1], [0], 0), ChartError);
});

test('lineChartPng and thresholdChartPng render; non-finite points are skipped', async () => {
  const epochs = [1, 2, 3, 4, 5];
  const line = await lineChartPng(
    {
      title: 'Training',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [
        { name: 'train', x: epochs, y: [1, 0.6, 0.4, NaN, 0.3] },
        { name: 'val', x: epochs, y: [1.1, 0.8, 0.7, 0.65, 0.6] },
      ],
    },
    { width: 320, height: 220, scale: 1 },
  );
  await assertPng(line, 320, 220);
  const thr = await thresholdChartPng(
    { thresholds: [Infinity, 0.9, 0.5, 0.1], metrics: { precision: [1, 1, 0.8, 0.5], recall: [0, 0.4, 0.8, 1] }, markers: [{ name: 'tuned', value: 0.5 }] },
    { width: 320, height: 220, scale: 1 },
  );
  await assertPng(thr, 320, 220);
});

test('bad chart input raises ChartError', async () => {
  await assert.rejects(rocChartPng([]), ChartError);
  await assert.rejects(rocChartPng([{ name: 'x', fpr: [0, 1], tpr: [0] }]), ChartError);
  await assert.rejects(lineChartPng({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }), ChartError);
  await assert.rejects(thresholdChartPng({ thresholds: [0.5], metrics: {} }), ChartError);
  await assert.rejects(rocChartPng([{ name: 'x', fpr: [0, 1], tpr: [0, 1] }], { width: -1 }), ChartError);
});

test('dropCollinear keeps the corners of a polyline only', () => {
  assert.deepEqual(dropCollinear([0, 0, 0, 0.5, 1, 1], [0, 0.25, 0.5, 0.5, 0.5, 1]), { x: [0, 0, 1, 1], y: [0, 0.5, 0.5, 1] });
  assert.deepEqual(dropCollinear([0, 1], [0, 1]), { x: [0, 1], y: [0, 1] });
});

test('simplifyPolyline bounds the number of points of a long ROC curve', async () => {
  const n = 20000;
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k <= n; k++) {
    x.push(k / n);
    y.push(Math.sqrt(k / n) + (k % 2) * 1e-4); // wiggly: nothing is collinear
  }
  const s = simplifyPolyline(x, y, 0.002);
  assert.ok(s.x.length < 1100 && s.x.length > 100, `${s.x.length} points`);
  assert.deepEqual([s.x[0], s.y[0], s.x.at(-1), s.y.at(-1)], [0, 0, 1, y[n]]);
});
