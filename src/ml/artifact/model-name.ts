// The rule for model names, in one place: the registry checks it before registering, the model
// stores before building a path or key from a name, the route schemas before a request runs.

/** A model name: it becomes a folder or key prefix in the model store and a segment of API paths. */
export const MODEL_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
const MODEL_NAME = new RegExp(MODEL_NAME_PATTERN);
/** Names taken by store folders or by API paths next to /models/{name}. */
const RESERVED = new Set(['backbones', 'all', 'active', 'stats', 'health', 'train']);

export function assertModelName(name: string): void {
  if (!MODEL_NAME.test(name) || RESERVED.has(name)) {
    throw new Error(
      `invalid model name "${name}": use 1-64 of a-z, 0-9, _ . - (reserved: ${[...RESERVED].join(', ')})`,
    );
  }
}
