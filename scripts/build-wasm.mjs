#!/usr/bin/env node
// Compiles fdft's AssemblyScript kernels to WebAssembly (SIMD) and writes each as a base64 module
// in a checked-in .ts file, so running fdft needs no compiler: `npm run build:wasm`.
// `--check` compiles and exits 1 if a checked-in binary differs from its source (test/engine uses it).
//
// Only the `assemblyscript` dev dependency is needed (npm registry alone). The modules import the
// tfjs wasm backend's memory and must never write outside the buffers they are given, so the build
// refuses a module with data segments or any import besides env.memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20 validates the relaxed-SIMD build only with it

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS = [
  {
    source: 'src/engine/kernels/assembly/fusedAttention.ts',
    output: 'src/engine/kernels/fusedAttentionBinary.ts',
    // Baseline SIMD (every runtime with wasm SIMD), and relaxed SIMD (fused multiply-add: Node ≥ 22,
    // Chrome ≥ 114; Node 20 behind --experimental-wasm-relaxed-simd, see src/engine/index.ts).
    variants: [
      { constant: 'FUSED_ATTENTION_WASM_BASE64', flags: [] },
      { constant: 'FUSED_ATTENTION_RELAXED_WASM_BASE64', flags: ['--enable', 'relaxed-simd'] },
    ],
  },
  {
    // The host optimizer's updates (src/train/hostOptimizer.ts) on its own memory, not tfjs'.
    source: 'src/train/assembly/hostUpdate.ts',
    output: 'src/train/hostUpdateBinary.ts',
    variants: [{ constant: 'HOST_UPDATE_WASM_BASE64', flags: [] }],
  },
];
const FLAGS = ['-O3', '--runtime', 'stub', '--importMemory', '--noAssert', '--enable', 'simd', '--enable', 'bulk-memory', '--noExportMemory'];

/** Section ids present in a wasm binary (11 = data, 2 = import). */
function sectionIds(bytes) {
  const ids = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++];
    let size = 0;
    let shift = 0;
    let b;
    do {
      b = bytes[p++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    p += size;
  }
  return ids;
}

async function compile(source, extraFlags = []) {
  const asc = (await import('assemblyscript/asc')).default;
  let wasm;
  const errors = [];
  const { error } = await asc.main([join(root, source), ...FLAGS, ...extraFlags, '--outFile', 'out.wasm'], {
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) wasm = Buffer.from(contents);
    },
    stdout: { write: () => true },
    stderr: { write: (s) => (errors.push(String(s)), true) },
  });
  if (error || !wasm) throw new Error(`asc failed on ${source}: ${error?.message ?? ''}\n${errors.join('')}`);
  if (sectionIds(wasm).includes(11)) throw new Error(`${source}: the module has a data segment (would overwrite the tfjs heap)`);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
  if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory') {
    throw new Error(`${source}: imports ${JSON.stringify(imports)}; only env.memory is allowed`);
  }
  return wasm;
}

function render(k, wasms) {
  let text = `/** ${k.source.split('/').pop()} compiled by scripts/build-wasm.mjs. Generated — do not edit. */\n`;
  k.variants.forEach((v, i) => {
    const b64 = wasms[i].toString('base64').replace(/.{1,100}/g, (l) => `  '${l}',\n`);
    text += `\n/** ${v.flags.length ? v.flags.join(' ') : 'baseline SIMD'} (${wasms[i].length} bytes). */\nexport const ${v.constant} = [\n${b64}].join('');\n`;
  });
  return text;
}

const check = process.argv.includes('--check');
let stale = 0;
for (const k of KERNELS) {
  const wasms = [];
  for (const v of k.variants) wasms.push(await compile(k.source, v.flags));
  const text = render(k, wasms);
  const path = join(root, k.output);
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${k.output} does not match ${k.source}: run npm run build:wasm`);
      stale++;
    } else console.log(`${k.output}: up to date`);
  } else {
    writeFileSync(path, text);
    console.log(`${k.output}: written`);
  }
}
process.exit(stale ? 1 : 0);
