import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { DirLockedError } from '../db/dir-lock.ts';
import { VERSION } from '../context.ts';
import { CliError } from './errors.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerEvaluateCommand } from './evaluate.ts';
import { registerModelsCommand } from './models.ts';
import { registerTrainCommand } from './train.ts';
import { registerServeCommands } from './serve.ts';
import { registerSimulateCommand } from './simulate.ts';
import { registerUsersCommand } from './users.ts';

const program = new Command()
  .name('aquaml')
  .description('AquaML: aquaculture machine learning platform')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerServeCommands(program);
registerMigrateCommand(program);
registerUsersCommand(program);
registerModelsCommand(program);
registerTrainCommand(program);
registerEvaluateCommand(program);
registerSimulateCommand(program);

// `serve` is the default command, so a mistyped command would reach it as a stray argument.
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && first !== 'help') {
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (!known.includes(first)) {
    console.error(`aquaml: unknown command '${first}'\n\nCommands:`);
    for (const c of program.commands) console.error(`  ${c.name().padEnd(10)} ${c.description()}`);
    console.error(`\nRun 'aquaml <command> --help' for a command's options.`);
    process.exit(2);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError || err instanceof DirLockedError || err instanceof CliError) {
    console.error(`aquaml: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
}
