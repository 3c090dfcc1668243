import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface ExportArgs extends GlobalOptions {
  checkpoint: string;
  checkpoints: string;
  onnx: string;
  features: boolean;
  outputLayer?: string;
  from: 'auto' | 'best' | 'checkpoint';
  verify: boolean;
  threads: number;
}

export const command: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write a trained model (or its frozen backbone, --features) as an ONNX file for onnxruntime',
  builder: (y) =>
    y
      .option('checkpoint', {
        type: 'string',
        demandOption: true,
        describe: 'Run directory (or its name / unique prefix under --checkpoints), or any folder holding a tfjs model.json',
      })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' })
      .option('onnx', { type: 'string', demandOption: true, describe: 'Output .onnx file' })
      .option('features', {
        type: 'boolean',
        default: false,
        describe: "Export only the backbone's feature map (the layer named 'features'), e.g. to run the frozen backbone natively",
      })
      .option('output-layer', { type: 'string', describe: 'Cut the model at this layer (overrides --features)' })
      .option('from', {
        type: 'string',
        choices: ['auto', 'best', 'checkpoint'] as const,
        default: 'auto',
        describe: "Which weights of a run: best/ (best validation loss), checkpoint/ (last epoch), or auto (best, else checkpoint)",
      })
      .option('verify', {
        type: 'boolean',
        default: true,
        describe: 'Run the ONNX file with onnxruntime on random images and compare with tfjs (fails above 1e-4)',
      })
      .option('threads', { type: 'number', default: 1, describe: 'onnxruntime threads for --verify' }) as never,
  handler: async (argv) => {
    const log = argv.quiet ? () => {} : (m: string) => process.stderr.write(m + '\n');
    const { initEngine } = await import('../../engine/index.ts');
    const { locateModelDir, exportCheckpoint } = await import('../../export/exportCheckpoint.ts');
    await initEngine(argv.backend, log);
    const modelDir = await locateModelDir(argv.checkpoint, { checkpoints: argv.checkpoints, from: argv.from });
    const outputLayer = argv.outputLayer ?? (argv.features ? 'features' : undefined);
    const report = await exportCheckpoint(modelDir, argv.onnx, { outputLayer, verify: argv.verify, threads: argv.threads, log });
    if (argv.json) {
      console.log(JSON.stringify(report));
    } else {
      const shape = (s: Array<number | null>) => `[${s.map((d) => d ?? 'batch').join(', ')}]`;
      console.log(`wrote ${report.onnx} (${(report.bytes / 2 ** 20).toFixed(1)} MiB, ${report.nodes} nodes, opset ${report.opset})`);
      console.log(`from ${report.modelDir}${report.outputLayer ? ` cut at '${report.outputLayer}'` : ''}`);
      for (const i of report.inputs) console.log(`input  ${i.name} ${shape(i.shape)} float32 NHWC`);
      for (const o of report.outputs) console.log(`output ${o.name} ${shape(o.shape)} float32`);
      if (report.verify) {
        console.log(`verified with onnxruntime: max |onnx − tfjs| = ${report.verify.maxAbsDiff.toExponential(2)} (relative ${report.verify.maxRelDiff.toExponential(2)})`);
      }
    }
    if (report.verify && !report.verify.ok) {
      process.stderr.write(`onnx and tfjs disagree beyond ${report.verify.tolerance}: the ONNX file is written but do not trust it\n`);
      process.exitCode = 1;
    }
  },
};
