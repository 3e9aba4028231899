import { checkImageFolderLayout, DatasetLayoutError } from '../ml/data/dataset.ts';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BackbonePrecision } from '../ml/backbone/quantize.ts';
import { BackbonePool } from '../ml/backbone/session.ts';
import { trainModel } from '../ml/train/train-model.ts';
import { ALIASES, type Alias, RegistryError } from '../modules/models/registry.ts';
import { readManifest, writeManifest } from '../modules/models/manifest.ts';
import { describeSource } from '../modules/training/sources.ts';
import { withContext } from './run-command.ts';
import { CliError } from './errors.ts';
import { ProgressBar } from './progress.ts';

interface TrainFlags {
  task: string;
  data: string;
  val?: string;
  name: string;
  backbone?: string;
  taps?: string;
  seed: string;
  flipTta?: boolean;
  precision: string;
  ood?: string;
  alias?: string;
}

async function assertDir(path: string, flag: string): Promise<string> {
  const full = resolve(path);
  const info = await stat(full).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`${flag} ${path} is not a folder`);
  return full;
}

async function layoutOrCliError(dir: string, name: string, minClasses: number): Promise<void> {
  await checkImageFolderLayout(dir, name, minClasses).catch((err: unknown) => {
    if (err instanceof DatasetLayoutError) throw new CliError(err.message);
    throw err;
  });
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'Train a model head on image folders (one sub-folder per class) and register it as a new version',
    )
    .requiredOption('--task <task>', 'species or health')
    .requiredOption('--data <dir>', 'training images: <dir>/<class>/<image>')
    .option('--val <dir>', 'validation images (default: a grouped, stratified 20 % of --data)')
    .requiredOption('--name <model>', 'model name in the registry')
    .option('--backbone <id>', 'backbone id, e.g. mnv2-140-160-b16 (default: the task default)')
    .option('--taps <list>', 'comma-separated pooled taps (default: the task default)')
    .option('--seed <n>', 'random seed (same data + seed = same model)', '42')
    .option(
      '--flip-tta',
      'average each image with its mirror at inference (doubles the backbone cost)',
    )
    .option(
      '--precision <precision>',
      'backbone precision: fp32, or int8 (static quantisation calibrated on training images; the fp32 recipe also runs, for the comparison in the model card)',
      'fp32',
    )
    .option('--ood <dir>', 'images of none of the classes (e.g. non-fish), for open-set figures')
    .option(
      '--alias <alias>',
      `point this alias at the new version (${ALIASES.join(', ')}); the first version becomes champion`,
    )
    .action(async (flags: TrainFlags) => {
      if (flags.task !== 'species' && flags.task !== 'health')
        throw new CliError('--task must be species or health');
      if (!/^\d+$/.test(flags.seed)) throw new CliError('--seed must be a whole number');
      if (flags.precision !== 'fp32' && flags.precision !== 'int8')
        throw new CliError('--precision must be fp32 or int8');
      const alias = flags.alias as Alias | undefined;
      if (alias && !ALIASES.includes(alias))
        throw new CliError(`--alias must be one of ${ALIASES.join(', ')}`);
      const dataDir = await assertDir(flags.data, '--data');
      const valDir = flags.val ? await assertDir(flags.val, '--val') : undefined;
      await layoutOrCliError(dataDir, `--data ${flags.data}`, 2);
      if (valDir) await layoutOrCliError(valDir, `--val ${flags.val}`, 1);
      const oodDir = flags.ood ? await assertDir(flags.ood, '--ood') : undefined;
      await withContext(async (ctx) => {
        const version = await ctx.registry.nextVersion(flags.name).catch((err) => {
          if (err instanceof RegistryError) throw new CliError(err.message);
          throw err;
        });
        const staging = await mkdtemp(join(ctx.config.dataDir, '.train-'));
        const backbones = new BackbonePool(ctx.config.models.storeDir, {
          intraOpThreads: ctx.config.models.backboneThreads,
        });
        const bar = new ProgressBar();
        try {
          const started = performance.now();
          const result = await trainModel({
            task: flags.task as 'species' | 'health',
            dataDir,
            valDir,
            name: flags.name,
            version,
            backbone: flags.backbone,
            taps: flags.taps?.split(',').map((s) => s.trim()),
            seed: Number(flags.seed),
            flipTta: flags.flipTta,
            precision: flags.precision as BackbonePrecision,
            oodDir,
            outDir: join(staging, 'artefact'),
            cacheDir: join(ctx.config.dataDir, 'cache', 'embeddings'),
            backbones,
            createdAt: process.env.AQUAML_CREATED_AT,
            onProgress: (p) =>
              bar.update(`${p.phase}${p.message ? `: ${p.message}` : ''}`, p.done, p.total),
          }).catch((err: Error) => {
            throw new CliError(`training failed: ${err.message}`);
          });
          bar.done();
          // Record where the data came from, so `retrain` can find it again.
          const manifest = await readManifest(result.outDir);
          (manifest.training as Record<string, unknown>).source = {
            train: describeSource(dataDir, ctx.config.trainingDataRoots),
            val: valDir && describeSource(valDir, ctx.config.trainingDataRoots),
          };
          await writeManifest(result.outDir, manifest);
          const row = await ctx.registry.register({
            fromDir: result.outDir,
            name: flags.name,
            version,
            source: 'trained',
            alias,
            actor: { name: 'cli' },
          });
          const m = result.manifest;
          const aliases = (await ctx.registry.aliases(row.name)).filter(
            (a) => a.version === row.version,
          );
          console.log(
            `registered ${row.name}@${row.version}${aliases.length ? ` [${aliases.map((a) => a.alias).join(', ')}]` : ''}`,
          );
          console.log(
            `val top-1 ${m.metrics.val.accuracy.toFixed(3)}  macro-F1 ${m.metrics.val.macro_f1.toFixed(3)}  ECE ${m.metrics.val.ece.toFixed(3)}  unknown ${(m.metrics.val.unknown_rate * 100).toFixed(1)} %${m.metrics.ood ? `  open-set AUROC ${m.metrics.ood.auroc.toFixed(3)}, non-fish unknown ${(m.metrics.ood.nonfish_unknown_rate * 100).toFixed(1)} %` : ''}`,
          );
          console.log(
            `head ${m.head.kind}; embedding ${result.embeddingSeconds.toFixed(1)} s, training ${result.trainingSeconds.toFixed(1)} s, total ${((performance.now() - started) / 1000).toFixed(1)} s`,
          );
        } finally {
          await backbones.close();
          await rm(staging, { recursive: true, force: true });
        }
      });
    });
}
