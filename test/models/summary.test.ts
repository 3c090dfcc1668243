import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { initEngine } from '../../src/engine/index.ts';
import { createFdftNet, paramCounts } from '../../src/models/index.ts';
import { formatSummary, layerRows } from '../../src/models/summary.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

test('the layer table lists the head layer by layer, the frozen backbone as one row unless expanded', () => {
  const net = createFdftNet({ backbone: 'shallownetv3', M: 2, N: 2, seed: 1 });
  const rows = layerRows(net.model);
  const backboneRow = rows.find((r) => r.name === 'backbone')!;
  assert.equal(backboneRow.params, 109_344);
  assert.equal(backboneRow.trainable, 0);
  assert.ok(rows.some((r) => r.depth === 1 && r.name === 'ftt_stage2_attention' && r.params === 5201));
  assert.ok(!rows.some((r) => r.name === 'conv1'));
  assert.ok(layerRows(net.model, { expandBackbone: true }).some((r) => r.depth === 1 && r.name === 'conv1'));
  const counts = paramCounts(net.model);
  assert.equal(counts.total, counts.trainable + counts.frozen);
  assert.equal(counts.trainable, paramCounts(net.head).trainable);
  const text = formatSummary('t', rows, counts);
  assert.match(text, new RegExp(`Total params: +${counts.total.toLocaleString('en-US')}`));
  assert.match(text, new RegExp(`Trainable params: +${counts.trainable.toLocaleString('en-US')}`));
});

test('`fdft summary --json` prints total / trainable / frozen', () => {
  const out = execFileSync(
    process.execPath,
    ['bin/fdft.js', 'summary', '--backbone', 'shallownetv3', '--no-ftt', '--N', '1', '--json', '--backend', 'wasm'],
    { encoding: 'utf8' },
  );
  const s = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.equal(s.total, s.trainable + s.frozen);
  assert.ok(!s.layers.some((l: { name: string }) => l.name.startsWith('ftt_')));
  assert.ok(s.layers.some((l: { name: string }) => l.name === 'mb1_dw'));
});
