import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

export const command: CommandModule<object, GlobalOptions> = {
  command: 'engine',
  describe: 'Show which tensor backend fdft would use on this machine, and why',
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const info = await initEngine(argv.backend, () => {});
    if (argv.json) console.log(JSON.stringify(info));
    else console.log(`backend: ${info.backend}\nprovider: ${info.provider}\nreason: ${info.reason}`);
  },
};
