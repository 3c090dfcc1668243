import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface WebArgs extends GlobalOptions {
  checkpoint: string;
  out: string;
  checkpoints: string;
}

export const command: CommandModule<object, WebArgs> = {
  command: 'web',
  describe: 'Write a static web page that runs a trained model in the browser (model files + tfjs + fdft layers + demo)',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'Run directory (or its name / unique prefix)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (serve it with any static web server)' })
      .option('checkpoints', { type: 'string', default: 'checkpoints', describe: 'Directory holding run directories' }) as never,
  handler: async (argv) => {
    const { join } = await import('node:path');
    const { resolveRunDir, readRunInfo } = await import('../../train/runDir.ts');
    const { readableDir } = await import('../../util/atomic.ts');
    const { exportWeb, WebExportError } = await import('../../web/exportWeb.ts');
    const dir = await resolveRunDir(argv.checkpoint, argv.checkpoints);
    const info = await readRunInfo(dir);
    const config = info.config as { inputSize: number; fit: 'squash' | 'crop'; backbone: string; command: string };
    const modelDir = (await readableDir(join(dir, 'best'))) ?? (await readableDir(join(dir, 'checkpoint')));
    if (!modelDir) throw new WebExportError(`${dir} holds no trained model`);
    await exportWeb({ modelDir, out: argv.out, inputSize: config.inputSize, fit: config.fit, title: `fdft ${config.command === 'train' ? 'FDFtNet' : 'baseline'} (${config.backbone})` });
    console.log(`web page written to ${argv.out}/index.html — serve the folder, e.g. npx http-server ${argv.out}`);
  },
};
