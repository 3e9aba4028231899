import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureBackbone } from '../ml/backbone/build.ts';
import { type ActivationRanges, rangesId } from '../ml/backbone/onnx-writer.ts';
import { backboneInt8, type Manifest } from '../ml/artifact/manifest.ts';
import { ALIASES, type Alias, parseModelRef, RegistryError } from '../modules/models/registry.ts';
import { exportModel, importModel } from '../modules/models/transfer.ts';
import { runAdminCommand, withContext } from './run-command.ts';
import { CliError } from './errors.ts';

function parseAlias(value: string): Alias {
  if (!(ALIASES as readonly string[]).includes(value)) {
    throw new CliError(`--alias must be one of ${ALIASES.join(', ')}`);
  }
  return value as Alias;
}

function parseVersion(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new CliError(`"${value}" is not a version number`);
  return Number(value);
}

/** Registry errors are the user's (unknown model, alias conflict): no stack trace. */
async function registryCommand<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RegistryError) throw new CliError(err.message);
    throw err;
  }
}

const CLI_ACTOR = { name: 'cli' };

export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('The model registry: versions, aliases, import and export');

  models
    .command('list')
    .description(
      'List model versions: status, aliases, validation accuracy and macro-F1; works while the server runs',
    )
    .option('--all', 'include archived versions')
    .action((opts: { all?: boolean }) => runAdminCommand('models.list', { all: opts.all }));

  models
    .command('show')
    .description('Show one version (name, name@version or name@alias) with its manifest')
    .argument('<ref>')
    .action(async (ref: string) => {
      await withContext(async (ctx) => {
        const row = await registryCommand(() => ctx.registry.resolve(ref));
        const aliases = (await ctx.registry.aliases(row.name)).filter(
          (a) => a.version === row.version,
        );
        console.log(
          JSON.stringify(
            {
              name: row.name,
              version: row.version,
              status: row.status,
              source: row.source,
              aliases: aliases.map((a) => a.alias),
              store_path: row.storePath,
              manifest: row.manifest,
            },
            null,
            2,
          ),
        );
      });
    });

  models
    .command('promote')
    .description('Point an alias (default champion) at a version; audited')
    .argument('<name>')
    .argument('<version>')
    .option('--alias <alias>', `one of ${ALIASES.join(', ')}`, 'champion')
    .action(async (name: string, version: string, opts: { alias: string }) => {
      const alias = parseAlias(opts.alias);
      await withContext(async (ctx) => {
        const saved = await registryCommand(() =>
          ctx.registry.setAlias(name, alias, parseVersion(version), CLI_ACTOR),
        );
        console.log(
          `${name}@${alias} -> ${saved.version}${saved.previousVersion ? ` (was ${saved.previousVersion})` : ''}`,
        );
      });
    });

  models
    .command('rollback')
    .description('Move an alias (default champion) back to the version it held before')
    .argument('<name>')
    .option('--alias <alias>', `one of ${ALIASES.join(', ')}`, 'champion')
    .action(async (name: string, opts: { alias: string }) => {
      const alias = parseAlias(opts.alias);
      await withContext(async (ctx) => {
        const saved = await registryCommand(() => ctx.registry.rollback(name, alias, CLI_ACTOR));
        console.log(`${name}@${alias} -> ${saved.version}`);
      });
    });

  models
    .command('archive')
    .description('Archive a version (kept, never served)')
    .argument('<ref>', 'name@version')
    .action(async (ref: string) => {
      const { name, selector } = parseModelRef(ref);
      await withContext(async (ctx) => {
        await registryCommand(() => ctx.registry.archive(name, parseVersion(selector), CLI_ACTOR));
        console.log(`${name}@${selector} archived`);
      });
    });

  models
    .command('export')
    .description('Write a version to a .tar.gz export file')
    .argument('<ref>')
    .argument('<file>')
    .action(async (ref: string, file: string) => {
      await withContext(async (ctx) => {
        const row = await registryCommand(() => ctx.registry.resolve(ref));
        await exportModel(ctx.store, row, resolve(file));
        console.log(`exported ${row.name}@${row.version} to ${file}`);
      });
    });

  models
    .command('import')
    .description(
      'Register a model from an export file (.tar.gz) or an artefact folder, as a new version',
    )
    .argument('<source>', '.tar.gz export file or folder with manifest.json')
    .option('--name <name>', 'register under another name')
    .option('--alias <alias>', 'also point this alias at it')
    .action(async (source: string, opts: { name?: string; alias?: string }) => {
      const alias = opts.alias ? parseAlias(opts.alias) : undefined;
      await withContext(async (ctx) => {
        const row = await registryCommand(() =>
          importModel(ctx.registry, resolve(source), { name: opts.name, alias, actor: CLI_ACTOR }),
        );
        console.log(`imported ${row.name}@${row.version}`);
      });
    });

  models
    .command('build-backbone')
    .description('Convert the MobileNetV2 weights bundled in nsfwjs to ONNX in the model store')
    .argument(
      '[ids...]',
      'backbone ids, every tap as an output (default: the graphs the registered models run, with only their taps)',
    )
    .action(async (ids: string[]) => {
      await withContext(async (ctx) => {
        // [id, taps, int8 ranges]: a model's graph has only that model's taps as outputs, in its
        // precision (as the classifier loads it).
        type Wanted = [string, string[] | undefined, ActivationRanges | undefined];
        let wanted: Wanted[] = ids.map((id) => [id, undefined, undefined]);
        if (!wanted.length) {
          const rows = await ctx.registry.list();
          const seen = new Map<string, Wanted>();
          for (const r of rows) {
            const b = r.manifest.backbone as Manifest['backbone'] | undefined;
            if (typeof b?.id !== 'string' || !Array.isArray(b.taps)) continue;
            const int8 = backboneInt8(b);
            seen.set(`${b.id}|${b.taps.join(',')}|${int8 ? rangesId(int8) : 'fp32'}`, [
              b.id,
              b.taps,
              int8,
            ]);
          }
          wanted = [...seen.values()];
        }
        if (!wanted.length)
          throw new CliError('no backbone ids given and no registered model names one');
        for (const [id, taps, int8] of wanted) {
          const started = performance.now();
          const path = await ensureBackbone(ctx.config.models.storeDir, id, taps, int8).catch(
            (err: Error) => {
              throw new CliError(err.message);
            },
          );
          console.log(`${id}: ${path} (${Math.round(performance.now() - started)} ms)`);
        }
      });
    });
}
