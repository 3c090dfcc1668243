import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { BlazeFaceDetector, blazeFaceAnchors, largestFirst } from '../../src/prepare/blazeFace.ts';
import { DetectorError } from '../../src/prepare/errors.ts';
import { cropFace, eyeAngleDeg } from '../../src/prepare/faceCrop.ts';
import { renderDrawnFace } from '../../src/prepare/drawnFace.ts';
import { loadGraphModelFile } from '../../src/prepare/graphModelFile.ts';

let det: BlazeFaceDetector;
before(async () => {
  await initEngine('wasm', () => {});
  det = await BlazeFaceDetector.load();
});
after(() => det?.dispose());

test('anchors: 16x16x2 at stride 16 then 8x8x6 at stride 32, cell centres', () => {
  const a = blazeFaceAnchors(256);
  assert.equal(a.length, 896 * 2);
  assert.deepEqual([...a.slice(0, 6)], [8, 8, 8, 8, 24, 8]);
  assert.deepEqual([a[512 * 2], a[512 * 2 + 1]], [16, 16]);
  assert.deepEqual([a[895 * 2], a[895 * 2 + 1]], [240, 240]);
});

test('finds the drawn face where it was drawn, with eye landmarks on the eyes', async () => {
  // 320x240, face width 100 px centred at (200, 110): eyes at (180, 102) and (220, 102).
  const img = await renderDrawnFace({ width: 320, height: 240, cx: 200, cy: 110, faceWidth: 100 });
  const { faces, maxScore } = await det.detect(img);
  assert.equal(faces.length, 1);
  const f = faces[0];
  assert.ok(f.score >= 0.5 && f.score <= 1 && maxScore >= f.score - 1e-6);
  assert.ok(Math.abs(f.box.x + f.box.width / 2 - 200) < 12, `centre x ${f.box.x + f.box.width / 2}`);
  assert.ok(Math.abs(f.box.y + f.box.height / 2 - 110) < 20, `centre y ${f.box.y + f.box.height / 2}`);
  assert.ok(f.box.width > 60 && f.box.width < 140, `width ${f.box.width}`);
  const [re, le] = f.landmarks;
  assert.ok(Math.hypot(re[0] - 180, re[1] - 102) < 8, `right eye ${re}`);
  assert.ok(Math.hypot(le[0] - 220, le[1] - 102) < 8, `left eye ${le}`);
  assert.equal(f.landmarks.length, 6);
});

test('no face on a face-free image; letterboxing keeps coordinates right on a tall image', async () => {
  const empty = await renderDrawnFace({ width: 200, height: 200, noFace: true });
  assert.equal((await det.detect(empty)).faces.length, 0);
  const tall = await renderDrawnFace({ width: 180, height: 360, cx: 90, cy: 250, faceWidth: 90 });
  const [f] = (await det.detect(tall)).faces;
  assert.ok(f, 'face found in a portrait image');
  assert.ok(Math.abs(f.box.y + f.box.height / 2 - 250) < 20);
});

test('two faces: both found, largestFirst puts the bigger first', async () => {
  const svgA = await renderDrawnFace({ width: 400, height: 200, cx: 100, cy: 100, faceWidth: 60 });
  const right = await renderDrawnFace({ width: 200, height: 200, faceWidth: 110 });
  // Paste the big face into the right half of the small-face image.
  const both = new Uint8Array(svgA.data);
  for (let y = 0; y < 200; y++) both.set(right.data.subarray(y * 600, (y + 1) * 600), (y * 400 + 200) * 3);
  const { faces } = await det.detect({ width: 400, height: 200, data: both });
  assert.equal(faces.length, 2);
  const [big, small] = largestFirst(faces);
  assert.ok(big.box.x > 200 && small.box.x < 200);
});

test('eye angle follows the face rotation; an aligned crop is level, of the asked size', async () => {
  const img = await renderDrawnFace({ width: 320, height: 320, faceWidth: 120, rotateDeg: 20 });
  const [f] = (await det.detect(img)).faces;
  assert.ok(Math.abs(eyeAngleDeg(f) - 20) < 5, `eye angle ${eyeAngleDeg(f)}`);
  const aligned = await cropFace(img, f, { size: 96, margin: 0.6, align: true });
  assert.ok(Math.abs(aligned.angleDeg - eyeAngleDeg(f)) < 1e-9);
  const meta = await sharp(aligned.png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [96, 96, 'png']);
  const { data, info } = await sharp(aligned.png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [g] = (await det.detect({ width: info.width, height: info.height, data })).faces;
  assert.ok(g, 'the face is still found in its aligned crop');
  assert.ok(Math.abs(eyeAngleDeg(g)) < 6, `eye angle after alignment ${eyeAngleDeg(g)}`);
  const plain = await cropFace(img, f, { size: 64, margin: 0.3, align: false });
  assert.equal(plain.angleDeg, 0);
  assert.equal(plain.box.width, Math.round(Math.max(f.box.width, f.box.height) * 1.3));
});

test('no tensor leaks across detections; bad model files are a DetectorError', async () => {
  const img = await renderDrawnFace({ width: 128, height: 128 });
  await det.detect(img);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await det.detect(img);
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(loadGraphModelFile('/nonexistent/model.json'), DetectorError);
  await assert.rejects(BlazeFaceDetector.load('/nonexistent/blazeface.json'), DetectorError);
});
