import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iou, squareCropBox } from '../../src/prepare/boxes.ts';

test('squareCropBox: square, centred on the face, enlarged by the margin', () => {
  const b = squareCropBox({ x: 100, y: 80, width: 50, height: 40 }, 0.3, 400, 300);
  assert.equal(b.width, 65); // max(50, 40) * 1.3
  assert.equal(b.height, 65);
  assert.ok(Math.abs(b.x + b.width / 2 - 125) <= 1);
  assert.ok(Math.abs(b.y + b.height / 2 - 100) <= 1);
});

test('squareCropBox: kept inside the image by shifting, shrunk only when larger than the image', () => {
  const corner = squareCropBox({ x: -10, y: 5, width: 60, height: 60 }, 0.5, 200, 150);
  assert.deepEqual([corner.x, corner.y, corner.width, corner.height], [0, 0, 90, 90]);
  const far = squareCropBox({ x: 170, y: 120, width: 40, height: 40 }, 0, 200, 150);
  assert.equal(far.x + far.width, 200);
  assert.equal(far.y + far.height, 150);
  const huge = squareCropBox({ x: 10, y: 10, width: 180, height: 180 }, 0.3, 200, 150);
  assert.deepEqual([huge.x, huge.y, huge.width, huge.height], [25, 0, 150, 150]);
});

test('iou of identical, disjoint and half-overlapping boxes', () => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  assert.equal(iou(a, a), 1);
  assert.equal(iou(a, { x: 20, y: 0, width: 10, height: 10 }), 0);
  assert.ok(Math.abs(iou(a, { x: 5, y: 0, width: 10, height: 10 }) - 50 / 150) < 1e-12);
});
