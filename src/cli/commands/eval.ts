import type { CommandModule } from 'yargs';
import { type BackboneEngine, INFERENCE_ENGINES } from '../../engine/onnxBackboneRunner.ts';
import type { GlobalOptions } from '../globalOptions.ts';

interface EvalArgs extends GlobalOptions {
  checkpoint: string;
  data?: string;
  split: string;
  out?: string;
  batch: number;
  checkpoints: string;
  engine: BackboneEngine;
  cacheDir?: string;
}

export const command: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate a run: accuracy, AUROC, EER, AP, P/R/F1, confusion matrix; writes metrics.json, summary.md, ROC and histogram PNGs',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'Run directory (or its name / unique prefix under --checkpoints)' })
      .option('data', { type: 'string', describe: "Dataset root (default: the run's own dataset, split with the run's seed)" })
      .option('split', { type: 'string', choices: ['test', 'val', 'train', 'finetune', 'all'], default: 'test', describe: 'Split to evaluate' })
      .option('out', { type: 'string', describe: 'Report directory (default: RUN/eval-<split>[-<dataset>])' })
      .option('batch', { type: 'number', default: 128, describe: 'Inference batch size' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' })
      .option('engine', { type: 'string', choices: INFERENCE_ENGINES, default: 'auto', describe: "Inference engine: onnxruntime-node when it loads (auto), or tfjs; onnx-webgpu: onnxruntime's WebGPU provider (the GPU)" })
      .option('cache-dir', { type: 'string', describe: 'Decoded-image cache directory' }) as never,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const { resolveRunDir } = await import('../../train/runDir.ts');
    const { evaluateRun } = await import('../../eval/evaluateRun.ts');
    const { formatMetricsTable } = await import('../../eval/report.ts');
    const log = argv.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
    await initEngine(argv.backend, log);
    const dir = await resolveRunDir(argv.checkpoint, argv.checkpoints);
    const { metrics, out } = await evaluateRun(dir, {
      data: argv.data,
      split: argv.split as never,
      out: argv.out,
      batch: argv.batch,
      cacheDir: argv.cacheDir,
      log,
      engine: argv.engine,
    });
    if (argv.json) console.log(JSON.stringify({ run: dir, report: out, metrics }));
    else {
      console.log(formatMetricsTable(metrics));
      console.log(`\nreport: ${out}`);
    }
  },
};
