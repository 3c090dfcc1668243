/**
 * The `fdft` command line. Each subcommand lives in `src/cli/commands/<name>.ts` and exports
 * `command: CommandModule`; heavy modules (tfjs, sharp …) are imported inside handlers so that
 * `fdft --help` stays instant.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { addGlobalOptions } from './globalOptions.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

export async function buildCli(argv: string[]) {
  let cli = addGlobalOptions(yargs(argv).scriptName('fdft'));
  const files = readdirSync(commandsDir).filter((f) => f.endsWith('.ts')).sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(commandsDir, f)).href)) as { command?: CommandModule };
    if (mod.command) cli = cli.command(mod.command as CommandModule<object, any>);
  }
  return cli
    .demandCommand(1, 'Name a command (fdft --help lists them).')
    .fail((msg, err) => {
      // Errors thrown by a command go to the one error printer below, not under a page of help.
      if (err) throw err;
      process.stderr.write(`fdft: ${msg}\n(see fdft --help, or fdft <command> --help)\n`);
      process.exit(2);
    })
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .epilog('Docs: README.md. Every option can also be set in a JSON file given with --config; the command line wins.');
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain || process.argv[1]?.endsWith('fdft') || process.argv[1]?.endsWith('fdft.js')) {
  const cli = await buildCli(hideBin(process.argv));
  try {
    await cli.parseAsync();
  } catch (e) {
    // Named errors (DatasetError, ConfigError, NonFiniteLossError …) are for people: one clear line.
    // Anything else is a bug: keep the stack. FDFT_DEBUG=1 shows stacks always.
    const err = e as Error;
    const named = err && err.name && err.name !== 'Error' && err.name !== 'TypeError' && err.name !== 'RangeError';
    process.stderr.write(named && !process.env.FDFT_DEBUG ? `fdft: ${err.name}: ${err.message}\n` : `fdft: ${err?.stack ?? String(e)}\n`);
    process.exitCode = err?.name === 'ConfigError' ? 2 : 1;
  }
}
