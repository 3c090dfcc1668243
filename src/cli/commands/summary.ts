import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface SummaryArgs extends GlobalOptions {
  backbone: string;
  M: number;
  N: number;
  ftt: boolean;
  baseline: boolean;
  inputSize: number;
  bottleneck: number;
  l2: number;
  expandBackbone: boolean;
}

export const command: CommandModule<object, SummaryArgs> = {
  command: 'summary',
  describe: 'Print the layer table of FDFtNet (or a baseline backbone) with parameter counts: total / trainable / frozen',
  builder: (y) =>
    y
      .option('backbone', {
        type: 'string',
        choices: ['xception', 'resnetv2', 'squeezenet', 'shallownetv3'],
        default: 'xception',
        describe: 'Frozen backbone of FDFtNet',
      })
      .option('M', { type: 'number', default: 3, describe: 'Fine-Tune Transformer stages (paper: 3)' })
      .option('N', { type: 'number', default: 4, describe: 'MBblockV3 blocks (paper: 4)' })
      .option('ftt', { type: 'boolean', default: true, describe: 'Include the Fine-Tune Transformer (--no-ftt: Table 6 ablation)' })
      .option('baseline', { type: 'boolean', default: false, describe: 'Summarise the backbone classifier (the paper\'s baseline) instead of FDFtNet' })
      .option('input-size', { type: 'number', default: 64, describe: 'Input image size in pixels' })
      .option('bottleneck', { type: 'number', default: 128, describe: 'Projection width of the MB blocks (paper: 128)' })
      .option('l2', { type: 'number', default: 1e-5, describe: 'L2 factor on the head kernels (paper: 1e-5)' })
      .option('expand-backbone', { type: 'boolean', default: false, describe: 'List the frozen backbone layer by layer' }) as never,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    await initEngine(argv.backend, argv.quiet || argv.json ? () => {} : undefined);
    const { createBackbone, createFdftNet, paramCounts } = await import('../../models/index.ts');
    const { layerRows, formatSummary } = await import('../../models/summary.ts');
    const model = argv.baseline
      ? createBackbone(argv.backbone, { inputSize: argv.inputSize, includeTop: true })
      : createFdftNet({
          backbone: argv.backbone as 'xception',
          M: argv.M,
          N: argv.N,
          useFtt: argv.ftt,
          inputSize: argv.inputSize,
          bottleneck: argv.bottleneck,
          l2: argv.l2,
        }).model;
    const counts = paramCounts(model);
    const rows = layerRows(model, { expandBackbone: argv.expandBackbone });
    if (argv.json) {
      console.log(JSON.stringify({ model: model.name, ...counts, layers: rows }));
    } else {
      const title = argv.baseline
        ? `${argv.backbone} baseline classifier (${argv.inputSize}x${argv.inputSize})`
        : `FDFtNet — backbone ${argv.backbone}, M=${argv.M}, N=${argv.N}${argv.ftt ? '' : ', no FTT'} (${argv.inputSize}x${argv.inputSize})`;
      console.log(formatSummary(title, rows, counts));
    }
    model.dispose();
  },
};
