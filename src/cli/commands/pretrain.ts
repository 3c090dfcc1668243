import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';
import type { TrainEngine } from '../../train/parallel/runGradients.ts';
import { addTrainOptions, resolveTrainConfig, type RawArgs } from '../trainOptions.ts';

export const command: CommandModule<object, GlobalOptions & RawArgs> = {
  command: 'pretrain',
  describe: "Train a backbone with its classification top from scratch (the paper's pre-training and its baseline rows)",
  builder: (y) => addTrainOptions(y, 'pretrain') as never,
  handler: async (argv) => {
    const { trainingContext, printResult, storedConfig } = await import('../runCommon.ts');
    const { runPretrain } = await import('../../train/pretrain.ts');
    const { resolveRunDir } = await import('../../train/runDir.ts');
    const { reporter, interrupt } = await trainingContext(argv);
    try {
      const resumeDir = argv.resume ? await resolveRunDir(String(argv.resume), String(argv.checkpoints)) : undefined;
      const config = resumeDir ? await storedConfig(resumeDir) : resolveTrainConfig('pretrain', argv);
      const result = await runPretrain(config, {
        checkpointsRoot: String(argv.checkpoints),
        reporter,
        interrupt,
        resumeDir,
        cacheDir: argv.cacheDir as string | undefined,
        tensorboard: argv.tensorboard !== false,
        workers: argv.workers as number | undefined,
        trainEngine: argv.trainEngine as TrainEngine | undefined,
      });
      reporter.stop();
      await printResult(result, argv, { command: 'pretrain' });
    } finally {
      reporter.stop();
      interrupt.dispose();
    }
  },
};
