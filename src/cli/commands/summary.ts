import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';
import type { BackboneName } from '../../models/backbones/index.ts';
import { addBackboneOption, addHeadOptions, INPUT_SIZE_OPTION, resolveTrainConfig, type RawArgs } from '../trainOptions.ts';

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
    addHeadOptions(addBackboneOption(y))
      .option('input-size', INPUT_SIZE_OPTION)
      .option('baseline', { type: 'boolean', default: false, describe: "Summarise the backbone classifier (the paper's baseline, what fdft pretrain trains) instead of FDFtNet" })
      .option('expand-backbone', { type: 'boolean', default: false, describe: 'List the frozen backbone layer by layer' }) as never,
  handler: async (argv) => {
    const config = resolveTrainConfig(argv.baseline ? 'pretrain' : 'train', argv);
    const { initEngine } = await import('../../engine/index.ts');
    await initEngine(argv.backend, argv.quiet || argv.json ? () => {} : undefined);
    const { createBackbone, createFdftNet, paramCounts } = await import('../../models/index.ts');
    const { layerRows, formatSummary } = await import('../../models/summary.ts');
    const { fdftNetHeadOptions } = await import('../../train/config.ts');
    const model = argv.baseline
      ? createBackbone(config.backbone, { inputSize: config.inputSize, includeTop: true })
      : createFdftNet({ ...fdftNetHeadOptions(config), backbone: config.backbone as BackboneName }).model;
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
