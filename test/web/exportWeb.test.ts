import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { bundleLayers, exportWeb } from '../../src/web/exportWeb.ts';
import { createFdftNet } from '../../src/models/fdftnet.ts';
import { saveModel } from '../../src/io/fileSystem.ts';

test('the browser bundle registers every fdft layer on the page\'s tf, and the exported page has the model', async () => {
  await initEngine('wasm', () => {});
  const work = await mkdtemp(join(tmpdir(), 'fdft-web-'));
  try {
    const bundle = await bundleLayers();
    assert.doesNotMatch(bundle, /require\(["']@tensorflow/, 'tfjs is not bundled: the page provides it');
    // Run the bundle as a page would, against a fresh class registry on a stand-in global tf.
    const registered: string[] = [];
    const fakeTf = { ...tf, serialization: { ...tf.serialization, registerClass: (c: { className: string }) => registered.push(c.className) } };
    vm.runInNewContext(bundle, { globalThis: { tf: fakeTf }, tf: fakeTf });
    for (const name of ['SelfAttention', 'HardSwish', 'HardSigmoid', 'FrozenBackbone']) assert.ok(registered.includes(name), `${name} registered (got ${registered.join(', ')})`);

    const net = createFdftNet({ backbone: 'squeezenet', inputSize: 32, M: 1, N: 1, seed: 1 });
    await saveModel(net.model, join(work, 'best'));
    const files = await exportWeb({ modelDir: join(work, 'best'), out: join(work, 'site'), inputSize: 32, fit: 'squash' });
    const html = await readFile(join(work, 'site', 'index.html'), 'utf8');
    assert.match(html, /tf\.loadLayersModel\('model\/model\.json'\)/);
    assert.ok(files.some((f) => f.endsWith(join('model', 'model.json'))));
    assert.ok((await readFile(join(work, 'site', 'tf.min.js'))).length > 100_000);
    net.model.dispose();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
