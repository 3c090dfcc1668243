import type { CommandModule } from 'yargs';
import { basename, dirname, join } from 'node:path';
import type { GlobalOptions } from '../globalOptions.ts';
import type { TrainConfig } from '../../train/config.ts';
import type { FoundRun } from '../../train/runDir.ts';
import type { TrainEngine } from '../../train/parallel/runGradients.ts';
import { addTrainOptions, resolveTrainConfig, type RawArgs } from '../trainOptions.ts';

/** The automatic pretrain: the train command's data and split options, the pretrain's own schedule. */
function autoPretrainConfig(argv: RawArgs): TrainConfig {
  return resolveTrainConfig('pretrain', {
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
}

export const command: CommandModule<object, GlobalOptions & RawArgs> = {
  command: 'train',
  describe: 'Fine-tune FDFtNet (frozen backbone + FTT + MBblockV3) — runs or reuses the backbone pretrain first',
  builder: (y) =>
    addTrainOptions(y, 'train')
      .example('$0 train --backbone shallownetv3 --preset quick', 'the README main job: pretrain + fine-tune on the embedded synthetic faces in about a minute')
      .example('$0 train --backbone xception --M 3 --N 4 --data faces/', "the paper's full schedule (SGD 0.3 cosine, batch 128, 300 epochs, patience 20)")
      .example('$0 train --no-ftt --data faces/', 'Table 6 ablation: MBblockV3 only')
      .example('$0 train --resume checkpoints/<run>', 'continue an interrupted job: a fine-tune, or the pretrain it started (then the fine-tune)') as never,
  handler: async (argv) => {
    const { trainingContext, printResult } = await import('../runCommon.ts');
    const { runFinetune } = await import('../../train/finetune.ts');
    const { runPretrain } = await import('../../train/pretrain.ts');
    const { findFinishedPretrain, findUnfinishedRuns, FINETUNE_CONFIG_FIELD } = await import('../../train/findPretrain.ts');
    const { resolveRunDir, readRunInfo } = await import('../../train/runDir.ts');
    const { assertDataFolder, RunError } = await import('../../train/runLifecycle.ts');
    const { reporter, interrupt } = await trainingContext(argv);
    const log = (m: string) => reporter.log(m);
    /** A run of these settings marked running may be live in another process: say so, start afresh. */
    const noteRunning = (run: FoundRun | undefined) => {
      if (!run) return;
      const by = run.kind === 'train' || run[FINETUNE_CONFIG_FIELD] ? 'train' : 'pretrain';
      log(`note: ${run.dir} has these settings but is marked running: if no other fdft is training it (it was killed), stop this one and continue that with: fdft ${by} --resume ${run.dir}`);
    };
    let root = String(argv.checkpoints);
    try {
      // The job: a pretrain to run or resume first when there is no backbone yet, then the fine-tune.
      let config: TrainConfig;
      let pretrain: { config: TrainConfig; resumeDir?: string } | undefined;
      let trainResumeDir: string | undefined;
      if (argv.resume) {
        const dir = await resolveRunDir(String(argv.resume), root);
        const info = await readRunInfo(dir);
        if (info.kind === 'pretrain') {
          // Interrupted while `fdft train` pretrained: finish that pretrain, then fine-tune as that
          // command would have (its settings are in the pretrain's run.json), beside it.
          const stored = info[FINETUNE_CONFIG_FIELD] as TrainConfig | undefined;
          if (!stored) {
            throw new RunError(
              `${dir} is a pretrain run of fdft pretrain, with no fine-tune settings: continue it with 'fdft pretrain --resume ${dir}', then fine-tune on it with 'fdft train --backbone-weights ${dir}' and your options`,
            );
          }
          root = dirname(dir);
          const pretrainDir = join(root, basename(dir)); // as the original command named it (no trailing '/')
          config = { ...stored };
          if (info.status === 'finished') {
            log(`the pretrain ${pretrainDir} is finished: fine-tuning on it`);
            config.backboneWeights = pretrainDir;
          } else {
            log(`finishing the pretrain ${pretrainDir}, then fine-tuning on it`);
            pretrain = { config: info.config as TrainConfig, resumeDir: pretrainDir };
          }
        } else {
          config = info.config as TrainConfig;
          trainResumeDir = dir;
        }
      } else {
        config = resolveTrainConfig('train', argv);
        await assertDataFolder(config); // before any lookup, message or run directory
        if (!config.backboneWeights) {
          const found = await findFinishedPretrain(root, config);
          if (found) {
            log(`reusing the finished pretrain ${found.dir}`);
            config.backboneWeights = found.dir;
          } else {
            const preConfig = autoPretrainConfig(argv);
            const unfinished = await findUnfinishedRuns(root, 'pretrain', preConfig);
            if (unfinished.interrupted) {
              // Checkpointed by Ctrl-C and resumed exactly: the same result as starting again, sooner.
              log(`resuming the interrupted pretrain ${unfinished.interrupted.dir} (same settings), then fine-tuning`);
              pretrain = { config: preConfig, resumeDir: unfinished.interrupted.dir };
            } else {
              noteRunning(unfinished.running);
              log(`no finished ${config.backbone} pretrain on ${config.datasetName} with this split: pretraining first`);
              pretrain = { config: preConfig };
            }
          }
        }
      }
      const common = {
        checkpointsRoot: root,
        reporter,
        interrupt,
        cacheDir: argv.cacheDir as string | undefined,
        tensorboard: argv.tensorboard !== false, engine: argv.engine as 'auto' | 'onnx' | 'tfjs',
        workers: argv.workers as number | undefined,
        trainEngine: argv.trainEngine as TrainEngine | undefined,
      };
      if (pretrain) {
        const p = await runPretrain(pretrain.config, {
          ...common,
          resumeDir: pretrain.resumeDir,
          runInfo: { [FINETUNE_CONFIG_FIELD]: { ...config } },
        });
        await printResult(p, argv, { command: 'train', then: 'finishes this pretrain, then fine-tunes on it' });
        if (p.status !== 'finished') return;
        config.backboneWeights = p.runDir;
      }
      if (!trainResumeDir) {
        const unfinished = await findUnfinishedRuns(root, 'train', config);
        if (unfinished.interrupted) {
          log(`resuming the interrupted fine-tune ${unfinished.interrupted.dir} (same settings)`);
          trainResumeDir = unfinished.interrupted.dir;
        } else noteRunning(unfinished.running);
      }
      const result = await runFinetune(config, { ...common, resumeDir: trainResumeDir });
      reporter.stop();
      await printResult(result, argv, { command: 'train' });
    } finally {
      reporter.stop();
      interrupt.dispose();
    }
  },
};
