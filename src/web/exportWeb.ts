/**
 * `fdft web`: a self-contained folder that runs a trained model in a web page — the model files
 * (standard tfjs layout), tfjs itself, fdft's custom layers bundled for the browser, and a demo page
 * that classifies an image the user picks. Serve it with any static server (`npx http-server DIR`).
 *
 * A saved FDFtNet uses custom layers (SelfAttention, HardSwish, FrozenBackbone …): a page must
 * register them before `tf.loadLayersModel`, which is what `fdft-layers.js` does. It is bundled
 * with esbuild from `layers/index.ts`, with `@tensorflow/tfjs` mapped to the page's global `tf` so
 * the page and the layers share one tfjs.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export class WebExportError extends Error {
  override name = 'WebExportError';
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The browser bundle of fdft's custom layers (IIFE; expects a global `tf`). */
export async function bundleLayers(): Promise<string> {
  const result = await build({
    entryPoints: [join(repoRoot, 'layers', 'index.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'fdftLayers',
    platform: 'browser',
    target: 'es2020',
    write: false,
    minify: true,
    legalComments: 'none',
    plugins: [
      {
        name: 'tfjs-global',
        setup(b) {
          b.onResolve({ filter: /^@tensorflow\/tfjs(-core|-layers)?$/ }, (a) => ({ path: a.path, namespace: 'tf-global' }));
          b.onLoad({ filter: /.*/, namespace: 'tf-global' }, () => ({ contents: 'module.exports = globalThis.tf;', loader: 'js' }));
        },
      },
    ],
  });
  const out = result.outputFiles[0];
  if (!out) throw new WebExportError('esbuild produced no bundle');
  return out.text;
}

export interface WebExportOptions {
  /** Directory with model.json + shards (a run's best/ or checkpoint/). */
  modelDir: string;
  out: string;
  inputSize: number;
  fit: 'squash' | 'crop';
  title?: string;
}

export async function exportWeb(o: WebExportOptions): Promise<string[]> {
  await mkdir(join(o.out, 'model'), { recursive: true });
  const written: string[] = [];
  for (const f of await readdir(o.modelDir)) {
    if (f === 'model.json' || f.endsWith('.bin')) {
      await copyFile(join(o.modelDir, f), join(o.out, 'model', f));
      written.push(join(o.out, 'model', f));
    }
  }
  if (!written.some((p) => p.endsWith('model.json'))) throw new WebExportError(`${o.modelDir} has no model.json`);
  const require = createRequire(import.meta.url);
  const tfMin = join(dirname(require.resolve('@tensorflow/tfjs/package.json')), 'dist', 'tf.min.js');
  await copyFile(tfMin, join(o.out, 'tf.min.js'));
  await writeFile(join(o.out, 'fdft-layers.js'), await bundleLayers());
  await writeFile(join(o.out, 'index.html'), demoPage(o));
  written.push(join(o.out, 'tf.min.js'), join(o.out, 'fdft-layers.js'), join(o.out, 'index.html'));
  return written;
}

function demoPage(o: WebExportOptions): string {
  const title = (o.title ?? 'fdft detector').replace(/[<&>]/g, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#out{font-size:1.4em;margin-top:1em}canvas{border:1px solid #ccc;image-rendering:pixelated;width:128px;height:128px}</style>
</head><body>
<h1>${title}</h1>
<p>Pick a face image (a face crop, as in training). The model runs in this page with TensorFlow.js; nothing is uploaded.</p>
<input type="file" id="file" accept="image/*"> <canvas id="c" width="${o.inputSize}" height="${o.inputSize}"></canvas>
<div id="out">loading model…</div>
<script src="tf.min.js"></script>
<script src="fdft-layers.js"></script>
<script>
const SIZE = ${o.inputSize}, FIT = ${JSON.stringify(o.fit)};
let model;
tf.loadLayersModel('model/model.json').then(m => { model = m; document.getElementById('out').textContent = 'model ready (backend ' + tf.getBackend() + ')'; })
  .catch(e => { document.getElementById('out').textContent = 'could not load the model: ' + e.message; });
document.getElementById('file').addEventListener('change', async (ev) => {
  const file = ev.target.files[0]; if (!file || !model) return;
  const img = await createImageBitmap(file);
  const ctx = document.getElementById('c').getContext('2d');
  // Same geometry as training: squash the whole image, or centre-crop a square first.
  let sx = 0, sy = 0, sw = img.width, sh = img.height;
  if (FIT === 'crop') { const s = Math.min(sw, sh); sx = (sw - s) / 2; sy = (sh - s) / 2; sw = sh = s; }
  ctx.drawImage(img, sx, sy, sw, sh, 0, 0, SIZE, SIZE);
  const p = tf.tidy(() => model.predict(tf.browser.fromPixels(ctx.canvas).toFloat().div(255).expandDims(0)).dataSync()[1]);
  document.getElementById('out').textContent = 'P(fake) = ' + p.toFixed(4) + ' → ' + (p >= 0.5 ? 'FAKE' : 'real');
});
</script></body></html>
`;
}
