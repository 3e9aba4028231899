import type { Command } from 'commander';
import { withContext } from './run-command.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply database migrations and seed reference data (idempotent)')
    .action(async () => {
      await withContext(async (ctx) => {
        console.log(`migrations applied on ${ctx.database.kind}`);
      });
    });
}
