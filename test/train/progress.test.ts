import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { formatDuration, ProgressReporter, resolveProgressMode } from '../../src/train/progress.ts';

/** A stream that keeps what is written (optionally pretending to be a terminal). */
function capture(isTTY = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 120;
  }
  return { stream, text: () => chunks.join('') };
}

/** A fake clock advancing 1 s per call. */
const ticking = () => {
  let t = 0;
  return () => (t += 1000);
};

function runTwoEpochs(r: ProgressReporter) {
  for (let epoch = 1; epoch <= 2; epoch++) {
    r.startEpoch(epoch, 2, 3);
    for (let step = 1; step <= 3; step++) r.step({ step, loss: 0.7 - 0.01 * step, acc: 0.5, imagesPerSec: 100 });
    r.endEpoch({ epoch, loss: 0.68, acc: 0.55, valLoss: 0.69, valAcc: 0.52, valAuroc: 0.6, lr: 0.3, improved: epoch === 1 });
  }
  r.log('saved checkpoint');
  r.stop();
}

test('plain mode: one line per epoch plus log lines', () => {
  const { stream, text } = capture();
  runTwoEpochs(new ProgressReporter({ mode: 'plain', stream, now: ticking() }));
  const lines = text().trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^epoch 1\/2 {2}loss 0\.6800 {2}acc 0\.5500 {2}val_loss 0\.6900 {2}val_acc 0\.5200 {2}val_auroc 0\.6000 {2}lr 0\.3 {2}\d+\.\ds {2}100 img\/s {2}ETA \S+ {2}\*$/);
  assert.match(lines[1]!, /^epoch 2\/2 .*ETA 0s$/);
  assert.equal(lines[2], 'saved checkpoint');
});

test('json mode: one parseable object per line, in order', () => {
  const { stream, text } = capture();
  runTwoEpochs(new ProgressReporter({ mode: 'json', stream, now: ticking() }));
  const objs = text().trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    objs.map((o) => o.event),
    ['epoch_start', 'step', 'step', 'step', 'epoch', 'epoch_start', 'step', 'step', 'step', 'epoch', 'log'],
  );
  assert.deepEqual(objs[0], { event: 'epoch_start', epoch: 1, epochs: 2, steps: 3 });
  assert.equal(objs[3].loss, 0.7 - 0.03);
  assert.equal(objs[4].valAuroc, 0.6);
  assert.equal(objs[4].epochs, 2);
  assert.equal(typeof objs[4].seconds, 'number');
  assert.equal(objs[10].message, 'saved checkpoint');
});

test('json mode keeps a NaN loss visible', () => {
  const { stream, text } = capture();
  const r = new ProgressReporter({ mode: 'json', stream });
  r.startEpoch(1, 1, 1);
  r.step({ step: 1, loss: NaN });
  assert.equal(JSON.parse(text().trimEnd().split('\n')[1]!).loss, 'NaN');
});

test('quiet mode prints nothing but errors', () => {
  const { stream, text } = capture();
  const r = new ProgressReporter({ mode: 'quiet', stream });
  runTwoEpochs(r);
  assert.equal(text(), '');
  r.error('loss became NaN');
  assert.equal(text(), 'error: loss became NaN\n');
});

test('tty mode draws a progress bar with epoch, step, loss, images/s and ETA', () => {
  const { stream, text } = capture(true);
  const r = new ProgressReporter({ stream, now: ticking() });
  assert.equal(r.mode, 'tty');
  r.startEpoch(1, 2, 4);
  r.step({ step: 2, loss: 0.6931, acc: 0.5, imagesPerSec: 123.4 });
  r.endEpoch({ epoch: 1, loss: 0.69 });
  r.stop(); // final redraw; also clears the redraw timer so the test process can exit
  const out = text();
  assert.match(out, /epoch 1\/2/);
  assert.match(out, /loss 0\.6931/);
  assert.match(out, /123 img\/s/);
  assert.match(out, /ETA /);
  assert.match(out, /epoch 1\/2 {2}loss 0\.6900/);
});

test('auto mode and durations', () => {
  assert.equal(resolveProgressMode('auto', { isTTY: true }), 'tty');
  assert.equal(resolveProgressMode(undefined, {}), 'plain');
  assert.throws(() => resolveProgressMode('loud' as 'tty', {}), /unknown progress mode/);
  assert.deepEqual([4, 75, 3725, NaN].map(formatDuration), ['4s', '1m15s', '1h02m', '?']);
});
