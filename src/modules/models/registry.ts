import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, asc, eq, max } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { modelAliases, models } from '../../db/schema.ts';
import { INT32_MAX } from '../../http/input-limits.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import { assertModelName } from '../../ml/artifact/model-name.ts';
import type { ModelStore } from '../../infra/store/types.ts';
import type { CatalogVersion, ModelCatalog, ModelRef } from '../../serving/catalog.ts';
import type { AuditActor, AuditLog } from '../audit/service.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { type ManifestCore, readManifest, writeManifest } from './manifest.ts';

export type ModelRow = typeof models.$inferSelect;
export type AliasRow = typeof modelAliases.$inferSelect;

export const ALIASES = ['champion', 'challenger'] as const;
export type Alias = (typeof ALIASES)[number];

/** Topic on the event bus telling every process that a model's versions or aliases changed. */
export const MODELS_CHANGED = 'models.changed';

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly kind: 'not_found' | 'conflict' | 'invalid' = 'invalid',
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Parses `species`, `species@3`, `species@champion`, `species@latest`. */
export function parseModelRef(ref: string): ModelRef {
  const [name, selector, extra] = ref.split('@');
  if (!name || extra !== undefined || selector === '') {
    throw new RegistryError(`"${ref}" is not a model reference (name, name@version or name@alias)`);
  }
  return { name, selector: selector ?? 'champion' };
}

export interface RegisterOptions {
  fromDir: string;
  /** Overrides the manifest's name. */
  name?: string;
  /** A fixed version (shipped models); otherwise the next free number. */
  version?: number;
  source: 'trained' | 'shipped' | 'imported' | 'retrained';
  actor?: AuditActor;
  /** Move this alias to the new version (the first version of a model always becomes champion). */
  alias?: Alias;
}

/**
 * Models and versions in the database, files in the model store, aliases instead of an "active"
 * flag. It is the catalog serving reads models from.
 */
export class ModelRegistry implements ModelCatalog {
  constructor(
    private readonly db: Database,
    private readonly store: ModelStore,
    private readonly audit: AuditLog,
    private readonly bus: EventBus,
  ) {}

  async list(options: { name?: string; includeArchived?: boolean } = {}): Promise<ModelRow[]> {
    const rows = await this.db
      .select()
      .from(models)
      .where(options.name ? eq(models.name, options.name) : undefined)
      .orderBy(asc(models.name), asc(models.version));
    return options.includeArchived ? rows : rows.filter((r) => r.status !== 'archived');
  }

  async aliases(name?: string): Promise<AliasRow[]> {
    return this.db
      .select()
      .from(modelAliases)
      .where(name ? eq(modelAliases.modelName, name) : undefined)
      .orderBy(asc(modelAliases.modelName), asc(modelAliases.alias));
  }

  async get(name: string, version: number): Promise<ModelRow | undefined> {
    const [row] = await this.db
      .select()
      .from(models)
      .where(and(eq(models.name, name), eq(models.version, version)))
      .limit(1);
    return row;
  }

  /** Resolves a reference to a registered version; throws not_found with a reason. */
  async resolve(ref: string | ModelRef): Promise<ModelRow> {
    const { name, selector } = typeof ref === 'string' ? parseModelRef(ref) : ref;
    let version: number | undefined;
    if (/^\d+$/.test(selector)) {
      version = Number(selector);
      // Versions are PostgreSQL integers: a larger number is a bad reference, not a query.
      if (version > INT32_MAX) {
        throw new RegistryError(`version ${selector} is out of range (at most ${INT32_MAX})`);
      }
    } else if (selector === 'latest') {
      const rows = await this.list({ name });
      version = rows.at(-1)?.version;
    } else {
      const [alias] = await this.db
        .select()
        .from(modelAliases)
        .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, selector)))
        .limit(1);
      version = alias?.version;
      if (version === undefined) {
        throw new RegistryError(
          `model ${name} has no version with alias "${selector}"`,
          'not_found',
        );
      }
    }
    const row = version === undefined ? undefined : await this.get(name, version);
    if (!row) throw new RegistryError(`no model ${name}@${selector}`, 'not_found');
    return row;
  }

  parseRef(ref: string): ModelRef {
    return parseModelRef(ref);
  }

  /** The version a reference names, or undefined (a bad reference names none either). */
  async find(ref: ModelRef): Promise<CatalogVersion | undefined> {
    return this.resolve(ref).catch((err: unknown) => {
      if (err instanceof RegistryError) return undefined;
      throw err;
    });
  }

  async exists(name: string): Promise<boolean> {
    return (await this.list({ name, includeArchived: true })).length > 0;
  }

  async servedNames(): Promise<string[]> {
    return [...new Set((await this.aliases()).map((a) => a.modelName))];
  }

  onChange(listener: (name: string) => Promise<void>): Promise<() => void> {
    return this.bus.subscribe<{ name: string }>(MODELS_CHANGED, ({ name }) => listener(name));
  }

  /** The version number the next registration of `name` would get. */
  async nextVersion(name: string): Promise<number> {
    try {
      assertModelName(name);
    } catch (err) {
      throw new RegistryError((err as Error).message);
    }
    const [{ v }] = await this.db
      .select({ v: max(models.version) })
      .from(models)
      .where(eq(models.name, name));
    let next = (v ?? 0) + 1;
    // A version folder left by a crash between store and database must not be overwritten.
    while (await this.store.has(name, next)) next += 1;
    return next;
  }

  async register(options: RegisterOptions): Promise<ModelRow> {
    const manifest = await readManifest(options.fromDir);
    const name = options.name ?? manifest.name;
    try {
      assertModelName(name);
    } catch (err) {
      throw new RegistryError((err as Error).message);
    }
    for (let attempt = 0; ; attempt++) {
      const version = options.version ?? (await this.nextVersion(name));
      if (options.version !== undefined && (await this.get(name, version))) {
        throw new RegistryError(
          `model ${name} version ${version} is already registered`,
          'conflict',
        );
      }
      const stored: ManifestCore = { ...manifest, name, version };
      if (!(await this.store.has(name, version))) {
        const staging = await mkdtemp(join(tmpdir(), 'aquaml-register-'));
        try {
          await cp(options.fromDir, staging, { recursive: true });
          await writeManifest(staging, stored);
          await this.store.put(name, version, staging);
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
      }
      try {
        const [row] = await this.db
          .insert(models)
          .values({
            name,
            version,
            task: manifest.task,
            storePath: `${name}/${version}`,
            manifest: stored,
            metrics: (manifest.metrics ?? {}) as Record<string, unknown>,
            source: options.source,
            createdBy: options.actor?.userId ?? null,
          })
          .returning();
        await this.audit.record({
          action: 'model.registered',
          actor: options.actor,
          targetType: 'model',
          targetId: `${name}@${version}`,
          details: { source: options.source, task: manifest.task },
        });
        const hasChampion = (await this.aliases(name)).some((a) => a.alias === 'champion');
        if (!hasChampion) await this.setAlias(name, 'champion', version, options.actor);
        else if (options.alias) await this.setAlias(name, options.alias, version, options.actor);
        else await this.changed(name);
        return row!;
      } catch (err) {
        // Another process took this version number at the same moment: take the next one.
        if (isUniqueViolation(err) && options.version === undefined && attempt < 3) continue;
        if (isUniqueViolation(err)) {
          throw new RegistryError(
            `model ${name} version ${version} is already registered`,
            'conflict',
          );
        }
        throw err;
      }
    }
  }

  /** Points an alias at a version (promote), remembering where it pointed for rollback. */
  async setAlias(
    name: string,
    alias: Alias,
    version: number,
    actor?: AuditActor,
  ): Promise<AliasRow> {
    const row = await this.get(name, version);
    if (!row) throw new RegistryError(`no model ${name}@${version}`, 'not_found');
    if (row.status === 'archived')
      throw new RegistryError(`${name}@${version} is archived`, 'conflict');
    const [current] = await this.db
      .select()
      .from(modelAliases)
      .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, alias)))
      .limit(1);
    if (current?.version === version) return current;
    const values = {
      modelName: name,
      alias,
      version,
      previousVersion: current?.version ?? null,
      updatedAt: new Date(),
      updatedBy: actor?.userId ?? null,
    };
    const [saved] = await this.db
      .insert(modelAliases)
      .values(values)
      .onConflictDoUpdate({ target: [modelAliases.modelName, modelAliases.alias], set: values })
      .returning();
    await this.audit.record({
      action: 'model.alias_moved',
      actor,
      targetType: 'model',
      targetId: name,
      details: { alias, from: current?.version ?? null, to: version },
    });
    await this.changed(name);
    return saved!;
  }

  /** Moves an alias back to the version it pointed at before its last move. */
  async rollback(name: string, alias: Alias, actor?: AuditActor): Promise<AliasRow> {
    const [current] = await this.db
      .select()
      .from(modelAliases)
      .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, alias)))
      .limit(1);
    if (!current) throw new RegistryError(`model ${name} has no ${alias}`, 'not_found');
    if (current.previousVersion === null) {
      throw new RegistryError(
        `${name}@${alias} has no earlier version to roll back to`,
        'conflict',
      );
    }
    const saved = await this.setAlias(name, alias, current.previousVersion, actor);
    await this.audit.record({
      action: 'model.rollback',
      actor,
      targetType: 'model',
      targetId: name,
      details: { alias, from: current.version, to: current.previousVersion },
    });
    return saved;
  }

  async removeAlias(name: string, alias: Alias, actor?: AuditActor): Promise<void> {
    const removed = await this.db
      .delete(modelAliases)
      .where(and(eq(modelAliases.modelName, name), eq(modelAliases.alias, alias)))
      .returning();
    if (removed.length) {
      await this.audit.record({
        action: 'model.alias_moved',
        actor,
        targetType: 'model',
        targetId: name,
        details: { alias, from: removed[0]!.version, to: null },
      });
      await this.changed(name);
    }
  }

  /** Archives a version: kept in the store for the record, never served. Aliased versions stay. */
  async archive(name: string, version: number, actor?: AuditActor): Promise<ModelRow> {
    const row = await this.get(name, version);
    if (!row) throw new RegistryError(`no model ${name}@${version}`, 'not_found');
    const held = (await this.aliases(name))
      .filter((a) => a.version === version)
      .map((a) => a.alias);
    if (held.length) {
      throw new RegistryError(
        `${name}@${version} is ${held.join(' and ')}; move the alias first`,
        'conflict',
      );
    }
    const [saved] = await this.db
      .update(models)
      .set({ status: 'archived' })
      .where(and(eq(models.name, name), eq(models.version, version)))
      .returning();
    await this.audit.record({
      action: 'model.archived',
      actor,
      targetType: 'model',
      targetId: `${name}@${version}`,
    });
    await this.changed(name);
    return saved!;
  }

  /** Registers the artefacts shipped with the repository (`models/<name>/<version>/`) that are missing. */
  async registerShipped(shippedDir: string): Promise<ModelRow[]> {
    const added: ModelRow[] = [];
    let names: string[];
    try {
      names = (await readdir(shippedDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      return added;
    }
    for (const name of names) {
      const versions = (await readdir(join(shippedDir, name), { withFileTypes: true }))
        .filter((d) => d.isDirectory() && /^\d+$/.test(d.name))
        .map((d) => Number(d.name))
        .sort((a, b) => a - b);
      for (const version of versions) {
        if (await this.get(name, version)) {
          // Registered (by another process, on a shared database) but absent from this
          // process's store, e.g. a new pod with its own local store: the repository has the files.
          if (!(await this.store.has(name, version)))
            await this.store
              .put(name, version, join(shippedDir, name, String(version)))
              .catch(async (err: unknown) => {
                // Another process sharing the store restored it first.
                if (!(await this.store.has(name, version))) throw err;
              });
          continue;
        }
        try {
          added.push(
            await this.register({
              fromDir: join(shippedDir, name, String(version)),
              name,
              version,
              source: 'shipped',
              actor: { name: 'system' },
            }),
          );
        } catch (err) {
          // Another process registered it first.
          if (!(err instanceof RegistryError && err.kind === 'conflict')) throw err;
        }
      }
    }
    return added;
  }

  private async changed(name: string): Promise<void> {
    await this.bus.publish(MODELS_CHANGED, { name });
  }
}
