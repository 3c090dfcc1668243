import type { Argv } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/backends.ts';

/** Options every command takes. */
export function addGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      choices: BACKEND_CHOICES,
      default: process.env.FDFT_BACKEND ?? 'auto',
      describe: 'Tensor backend (env FDFT_BACKEND). auto: tfjs-node-gpu, tfjs-node, then wasm, then cpu; webgpu: the GPU through WebGPU (optional packages, README "GPU")',
      global: true,
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'Print only results and errors', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable JSON output / log lines', global: true })
    .config('config', 'JSON file with option values (the command line wins)');
}

export interface GlobalOptions {
  backend: BackendChoice;
  quiet: boolean;
  json: boolean;
}
