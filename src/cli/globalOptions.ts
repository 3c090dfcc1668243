import type { Argv } from 'yargs';

/** Options every command takes. */
export function addGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      choices: ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const,
      default: process.env.FDFT_BACKEND ?? 'auto',
      describe: 'Tensor backend (env FDFT_BACKEND). auto: tfjs-node-gpu, tfjs-node, then wasm, then cpu; webgpu: the GPU through WebGPU (optional packages, README "GPU")',
      global: true,
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'Print only results and errors', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable JSON output / log lines', global: true })
    .config('config', 'JSON file with option values (the command line wins)');
}

export interface GlobalOptions {
  backend: 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  quiet: boolean;
  json: boolean;
}
