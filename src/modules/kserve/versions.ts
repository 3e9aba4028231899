import { notFound } from '../../http/errors.ts';
import { type ModelRegistry, type ModelRow, RegistryError } from '../models/registry.ts';

/** The registered versions of a model (404 when it has none at all). */
export async function versionsOf(registry: ModelRegistry, name: string): Promise<ModelRow[]> {
  const all = await registry.list({ name, includeArchived: true });
  if (!all.length) throw notFound(`model "${name}" not found`);
  return all.filter((r) => r.status !== 'archived');
}

/** One registered version by number or alias (404 when unknown). */
export async function versionOf(
  registry: ModelRegistry,
  name: string,
  selector: string,
): Promise<ModelRow> {
  try {
    return await registry.resolve({ name, selector });
  } catch (err) {
    if (err instanceof RegistryError && err.kind === 'not_found') {
      throw notFound(`model "${name}" has no version "${selector}"`);
    }
    throw err;
  }
}
