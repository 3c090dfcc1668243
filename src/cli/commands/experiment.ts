import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface ExperimentArgs extends GlobalOptions {
  file: string;
  repeat?: number;
  checkpoints: string;
  reports: string;
  dryRun: boolean;
  cacheDir?: string;
  tensorboard: boolean;
  engine: string;
  workers?: number;
  trainEngine?: string;
}

export const command: CommandModule<object, ExperimentArgs> = {
  command: 'experiment <file>',
  describe: "Run an experiment file (the paper's Table 5 / Table 6) — resumable — and write reports/<name>/ (report.md, report.html, results.json, ROC and training-curve PNGs)",
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'experiments/table5.json, table6.json, quick.json or your own' })
      .option('repeat', { type: 'number', describe: 'Seeds per cell (reports mean ± std)' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories (finished runs are reused)' })
      .option('reports', { type: 'string', default: 'reports', describe: 'Directory for reports/<name>/' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'List every pretrain and fine-tune with its settings and whether it would train, resume or be reused; train and write nothing' })
      .option('cache-dir', { type: 'string', describe: 'Decoded-image cache directory' })
      .option('tensorboard', { type: 'boolean', default: true, describe: 'Write TensorBoard event files into each run directory' })
      .option('workers', { type: 'number', describe: 'tfjs engine: data-parallel gradient worker threads per run (see fdft train --help)' })
      .option('train-engine', { type: 'string', choices: ['auto', 'onnx', 'tfjs'], default: 'auto', describe: 'Engine of the training step: onnxruntime training graph (onnx) or tfjs; auto = onnx when possible (see fdft train --help)' })
      .option('engine', { type: 'string', choices: ['auto', 'onnx', 'tfjs'], default: 'auto', describe: "Engine of the frozen backbone's forward pass (onnxruntime when available, or tfjs)" })
      .example('$0 experiment experiments/quick.json', 'a small Table 5 + 6 on synthetic faces, minutes on 2 cores')
      .example('$0 experiment experiments/table6.json --repeat 3', 'the FTT ablation with 3 seeds per cell') as never,
  handler: async (argv) => {
    const { join } = await import('node:path');
    const { loadExperiment } = await import('../../experiments/schema.ts');
    const { runExperiment, seedsFor, planExperiment, formatPlan } = await import('../../experiments/runner.ts');
    const { collectResults, writeExperimentReport, table5, degenerateNotes, DEGENERATE_MARK } = await import('../../experiments/report.ts');
    const { trainingContext } = await import('../runCommon.ts');
    const exp = await loadExperiment(argv.file);
    if (argv.dryRun) {
      // Before the engine starts: a dry run only reads run directories.
      const plan = await planExperiment(exp, { checkpointsRoot: argv.checkpoints, repeat: argv.repeat });
      if (argv.json) console.log(JSON.stringify({ dryRun: true, plan }));
      else console.log(formatPlan(exp, plan).join('\n'));
      return;
    }
    const { reporter, interrupt } = await trainingContext(argv);
    try {
      const outcomes = await runExperiment(exp, {
        checkpointsRoot: argv.checkpoints,
        reporter,
        interrupt,
        cacheDir: argv.cacheDir,
        tensorboard: argv.tensorboard, engine: argv.engine as 'auto' | 'onnx' | 'tfjs', workers: argv.workers,
        trainEngine: argv.trainEngine as 'auto' | 'onnx' | 'tfjs' | undefined,
        repeat: argv.repeat,
      });
      reporter.stop();
      const seeds = seedsFor(exp, argv.repeat);
      const results = await collectResults(exp, outcomes, seeds);
      const written = await writeExperimentReport(exp, results, join(argv.reports, exp.name));
      const notes = degenerateNotes(results);
      if (argv.json) console.log(JSON.stringify({ report: written, outcomes, degenerate: notes?.runs ?? [] }));
      else {
        const t = table5(exp, results);
        console.log(`\n${t.headers.join(' | ')}`);
        for (const row of t.rows) console.log(row.join(' | '));
        if (notes) console.log(`\n${notes.legend}`);
        const trained = outcomes.filter((o) => o.trained).length;
        const skipped = outcomes.filter((o) => o.status === 'skipped');
        console.log(`\n${outcomes.length} cells: ${trained} trained now, ${outcomes.filter((o) => o.status === 'finished' && !o.trained).length} reused, ${skipped.length} skipped, ${outcomes.filter((o) => o.status === 'failed').length} failed, ${outcomes.filter((o) => o.status === 'interrupted').length} interrupted`);
        console.log(`report: ${written.markdown}\n        ${written.html}`);
      }
      // Last, where it is seen: numbers from a model that learned nothing must not pass for results.
      if (notes) {
        console.warn(
          `\nwarning: test results of ${exp.name} that measure nothing (marked ${DEGENERATE_MARK} in the tables; no gain or Δ is computed from them):\n` +
            notes.runs.map((l) => `  - ${l}`).join('\n'),
        );
      }
      if (outcomes.some((o) => o.status === 'interrupted')) {
        // Re-running reuses finished runs and resumes the interrupted one from its checkpoint.
        console.error(`interrupted: continue with the same command (fdft experiment ${argv.file}); finished runs are reused, the interrupted one resumes`);
        process.exitCode = 130;
      }
      else if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
    } finally {
      reporter.stop();
      interrupt.dispose();
    }
  },
};
