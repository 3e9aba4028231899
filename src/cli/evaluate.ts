import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BackbonePool } from '../ml/backbone/session.ts';
import { loadModel } from '../ml/classifier.ts';
import { evaluateModel, formatEvaluation } from '../ml/evaluate/evaluate-model.ts';
import { RegistryError } from '../modules/models/registry.ts';
import { withContext } from './run-command.ts';
import { CliError } from './errors.ts';
import { ProgressBar } from './progress.ts';

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('Evaluate a registered model on labelled image folders (<dir>/<class>/<image>)')
    .requiredOption('--model <ref>', 'name, name@version or name@alias (default alias: champion)')
    .requiredOption('--data <dir>', 'labelled images')
    .option('--ood <dir>', 'images of none of the classes (e.g. non-fish): adds open-set figures')
    .option('--flip-tta', 'average each image with its mirror')
    .option('--json', 'print one JSON object')
    .action(
      async (flags: {
        model: string;
        data: string;
        ood?: string;
        flipTta?: boolean;
        json?: boolean;
      }) => {
        const dataDir = resolve(flags.data);
        if (!(await stat(dataDir).catch(() => undefined))?.isDirectory()) {
          throw new CliError(`--data ${flags.data} is not a folder`);
        }
        await withContext(async (ctx) => {
          const row = await ctx.registry.resolve(flags.model).catch((err) => {
            if (err instanceof RegistryError) throw new CliError(err.message);
            throw err;
          });
          const backbones = new BackbonePool(ctx.config.models.storeDir, {
            intraOpThreads: ctx.config.models.backboneThreads,
          });
          const bar = flags.json ? undefined : new ProgressBar();
          try {
            const classifier = await loadModel(
              await ctx.store.localDir(row.name, row.version),
              backbones,
            );
            const result = await evaluateModel(classifier, dataDir, {
              flipTta: flags.flipTta,
              oodDir: flags.ood ? resolve(flags.ood) : undefined,
              onProgress: (done, total) => bar?.update('evaluating', done, total),
            }).catch((err: Error) => {
              throw new CliError(`evaluation failed: ${err.message}`);
            });
            if (flags.json) {
              console.log(
                JSON.stringify({ model: { name: row.name, version: row.version }, ...result }),
              );
            } else {
              console.log(formatEvaluation(result, `${row.name}@${row.version} on ${flags.data}`));
            }
          } finally {
            await backbones.close();
          }
        });
      },
    );
}
