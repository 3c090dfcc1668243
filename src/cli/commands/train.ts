import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';
import type { TrainEngine } from '../../train/parallel/runGradients.ts';
import { addTrainOptions, resolveTrainConfig, type RawArgs } from '../trainOptions.ts';

export const command: CommandModule<object, GlobalOptions & RawArgs> = {
  command: 'train',
  describe: 'Fine-tune FDFtNet (frozen backbone + FTT + MBblockV3) — runs or reuses the backbone pretrain first',
  builder: (y) =>
    addTrainOptions(y, 'train')
      .example('$0 train --preset quick', 'the README main job: pretrain + fine-tune on the embedded synthetic faces in minutes')
      .example('$0 train --backbone xception --M 3 --N 4 --data faces/', "the paper's full schedule (SGD 0.3 cosine, batch 128, 300 epochs, patience 20)")
      .example('$0 train --no-ftt --data faces/', 'Table 6 ablation: MBblockV3 only') as never,
  handler: async (argv) => {
    const { trainingContext, printResult, storedConfig } = await import('../runCommon.ts');
    const { runFinetune } = await import('../../train/finetune.ts');
    const { runPretrain } = await import('../../train/pretrain.ts');
    const { findFinishedPretrain } = await import('../../train/findPretrain.ts');
    const { resolveRunDir } = await import('../../train/runDir.ts');
    const { reporter, interrupt } = await trainingContext(argv);
    const root = String(argv.checkpoints);
    try {
      const resumeDir = argv.resume ? await resolveRunDir(String(argv.resume), root) : undefined;
      const config = resumeDir ? await storedConfig(resumeDir) : resolveTrainConfig('train', argv);
      const common = {
        checkpointsRoot: root,
        reporter,
        interrupt,
        cacheDir: argv.cacheDir as string | undefined,
        tensorboard: argv.tensorboard !== false, engine: argv.engine as 'auto' | 'onnx' | 'tfjs',
        workers: argv.workers as number | undefined,
        trainEngine: argv.trainEngine as TrainEngine | undefined,
      };
      if (!config.backboneWeights) {
        const found = await findFinishedPretrain(root, config);
        if (found) {
          reporter.log(`reusing the finished pretrain ${found.dir}`);
          config.backboneWeights = found.dir;
        } else {
          reporter.log(`no finished ${config.backbone} pretrain on ${config.datasetName} with this split: pretraining first`);
          const pre = resolveTrainConfig('pretrain', {
            ...argv,
            epochs: argv.pretrainEpochs,
            stepsPerEpoch: argv.preset === 'quick' ? undefined : argv.stepsPerEpoch,
            batch: undefined,
            lr: undefined,
            optimizer: undefined,
            schedule: undefined,
            patience: undefined,
            cutoutAlpha: undefined,
          });
          const p = await runPretrain(pre, common);
          if (p.status !== 'finished') return printResult(p, argv);
          await printResult(p, argv);
          config.backboneWeights = p.runDir;
        }
      }
      const result = await runFinetune(config, { ...common, resumeDir });
      reporter.stop();
      await printResult(result, argv);
    } finally {
      reporter.stop();
      interrupt.dispose();
    }
  },
};
