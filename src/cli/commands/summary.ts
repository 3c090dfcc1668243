import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';
import { resolveTrainConfig, type RawArgs } from '../trainOptions.ts';

interface SummaryArgs extends GlobalOptions, RawArgs {
  baseline: boolean;
  expandBackbone: boolean;
}

export const command: CommandModule<object, SummaryArgs> = {
  command: 'summary',
  describe: 'Print the layer table of FDFtNet (or a baseline backbone) with parameter counts: total / trainable / frozen',
  // The model options have fdft train's names, meanings and defaults (no yargs defaults: they resolve
  // through resolveTrainConfig, as train's do), so `fdft summary <flags>` describes the model that
  // `fdft train <flags>` builds.
  builder: (y) =>
    y
      .option('backbone', {
        type: 'string',
        choices: ['xception', 'resnetv2', 'squeezenet', 'shallownetv3'] as const,
        default: 'xception',
        describe: 'Backbone CNN',
      })
      .option('M', { type: 'number', describe: 'Fine-Tune Transformer stages (paper: 3)' })
      .option('N', { type: 'number', describe: 'MBblockV3 blocks (paper: 4)' })
      .option('ftt', { type: 'boolean', describe: 'Use the Fine-Tune Transformer (--no-ftt: the Table 6 ablation)' })
      .option('bottleneck', { type: 'number', describe: 'Self-attention bottleneck b (paper: 8)' })
      .option('l2', { type: 'number', describe: 'L2 weight decay of the heads (paper: 1e-5)' })
      .option('input-size', { type: 'number', describe: 'Model input size in px (paper: 64)' })
      .option('baseline', { type: 'boolean', default: false, describe: "Summarise the backbone classifier (the paper's baseline, what fdft pretrain trains) instead of FDFtNet" })
      .option('expand-backbone', { type: 'boolean', default: false, describe: 'List the frozen backbone layer by layer' }) as never,
  handler: async (argv) => {
    const config = resolveTrainConfig(argv.baseline ? 'pretrain' : 'train', argv);
    const { initEngine } = await import('../../engine/index.ts');
    await initEngine(argv.backend, argv.quiet || argv.json ? () => {} : undefined);
    const { createBackbone, createFdftNet, paramCounts } = await import('../../models/index.ts');
    const { layerRows, formatSummary } = await import('../../models/summary.ts');
    // The same mapping as src/train/finetune.ts: train's --bottleneck is the FTT's attention
    // reduction b; the MB blocks keep createFdftNet's default projection width (train has no flag for it).
    const model = argv.baseline
      ? createBackbone(config.backbone, { inputSize: config.inputSize, includeTop: true })
      : createFdftNet({
          backbone: config.backbone as 'xception',
          M: config.M,
          N: config.N,
          useFtt: config.useFtt,
          l2: config.l2,
          attentionReduction: config.bottleneck,
          inputSize: config.inputSize,
        }).model;
    const counts = paramCounts(model);
    const rows = layerRows(model, { expandBackbone: argv.expandBackbone });
    if (argv.json) {
      console.log(JSON.stringify({ model: model.name, ...counts, layers: rows }));
    } else {
      const size = `${config.inputSize}x${config.inputSize}`;
      const title = argv.baseline
        ? `${config.backbone} baseline classifier (${size})`
        : `FDFtNet — backbone ${config.backbone}, M=${config.M}, N=${config.N}${config.useFtt ? `, b=${config.bottleneck}` : ', no FTT'} (${size})`;
      console.log(formatSummary(title, rows, counts));
    }
    model.dispose();
  },
};
