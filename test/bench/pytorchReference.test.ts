// The PyTorch reference of `npm run bench -- reference` must build fdft's networks, or its ratios
// compare different things. Needs python3 with torch (Debian: apt install python3-torch); skipped,
// with the reason, where there is none (fdft itself never needs Python).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../src/engine/index.ts';
import { findTorch, referenceMismatches } from '../../bench/pytorchReference.ts';

const found = await findTorch();
const skip = 'reason' in found ? `no Python with torch (${found.reason.slice(0, 160)})` : false;

test("the PyTorch reference networks are fdft's: parameter counts, feature map, attention sizes", { skip }, async () => {
  if (!('probe' in found)) return;
  await initEngine('wasm', () => {});
  assert.deepEqual(referenceMismatches(found.probe), []);
  // The comparison itself can fail: a network one weight short is reported.
  const short = structuredClone(found.probe);
  short.counts.pretrain.trainable -= 1;
  short.shapes.attentionPositions = [1024, 256, 16];
  const reported = referenceMismatches(short);
  assert.equal(reported.length, 2);
  assert.match(reported.join('\n'), /Xception classifier: fdft 20808826 trainable/);
  assert.match(reported.join('\n'), /attention positions: fdft \[1024,256,64\], PyTorch \[1024,256,16\]/);
});
