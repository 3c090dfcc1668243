import type { CommandModule } from 'yargs';
import { type BackboneEngine, INFERENCE_ENGINES } from '../../engine/onnxBackboneRunner.ts';
import type { GlobalOptions } from '../globalOptions.ts';

interface PredictArgs extends GlobalOptions {
  checkpoint: string;
  inputs: string[];
  checkpoints: string;
  engine: BackboneEngine;
  batch: number;
}

export const command: CommandModule<object, PredictArgs> = {
  command: 'predict <inputs..>',
  describe: 'Fake probability of each image (files or directories), decoded exactly as in training',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, describe: 'Image files or directories' })
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'Run directory (or its name / unique prefix)' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' })
      .option('engine', { type: 'string', choices: INFERENCE_ENGINES, default: 'auto', describe: "Inference engine: onnxruntime-node when it loads (auto), or tfjs; onnx-webgpu: onnxruntime's WebGPU provider (the GPU)" })
      .option('batch', { type: 'number', default: 64, describe: 'Inference batch size' }) as never,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const { resolveRunDir } = await import('../../train/runDir.ts');
    const { predictFiles } = await import('../../eval/evaluateRun.ts');
    const { countSkippedOrThrow } = await import('../../eval/scoredInputs.ts');
    await initEngine(argv.backend, argv.quiet ? () => {} : (m) => process.stderr.write(m + '\n'));
    const dir = await resolveRunDir(argv.checkpoint, argv.checkpoints);
    const results = await predictFiles(dir, argv.inputs, { batch: argv.batch, engine: argv.engine });
    if (argv.json) {
      console.log(JSON.stringify(results));
    } else {
      const w = Math.min(80, Math.max(4, ...results.map((r) => r.path.length)));
      console.log(`${'image'.padEnd(w)}  p(fake)  verdict`);
      for (const r of results) {
        console.log(r.error ? `${r.path.padEnd(w)}  -        skipped (${r.error})` : `${r.path.padEnd(w)}  ${r.fake!.toFixed(4)}   ${r.label}`);
      }
    }
    // Nothing scored is a failure (non-zero exit); some skipped beside scored ones is reported only.
    const skipped = countSkippedOrThrow(results, argv.inputs);
    if (skipped && !argv.quiet) process.stderr.write(`${skipped} of ${results.length} file(s) could not be used\n`);
  },
};
