// What serving needs to know about registered models, and nothing more. The model registry
// (modules/models) implements it; serving never imports a module, so the classify pipeline can be
// read, tested and changed without the registry's routes, storage or audit trail.

/** A reference to a model: `{name, selector}` where the selector is a version, an alias or 'latest'. */
export interface ModelRef {
  name: string;
  /** A version number, an alias, or 'latest'. */
  selector: string;
}

/** A registered model version, as serving sees it. */
export interface CatalogVersion {
  name: string;
  version: number;
  /** An archived version is never served. */
  status: 'ready' | 'archived';
}

export interface ModelCatalog {
  /** Reads `name`, `name@3`, `name@champion`; throws the catalog's own error for anything else. */
  parseRef(ref: string): ModelRef;
  /** The version a reference names; throws the catalog's own error when it names none. */
  resolve(ref: ModelRef): Promise<CatalogVersion>;
  /** The version a reference names, or undefined when it names none. */
  find(ref: ModelRef): Promise<CatalogVersion | undefined>;
  get(name: string, version: number): Promise<CatalogVersion | undefined>;
  /** Whether any version of the model was ever registered (archived ones count). */
  exists(name: string): Promise<boolean>;
  /** The names of the models with an alias: those serving loads ahead of traffic. */
  servedNames(): Promise<string[]>;
  /**
   * Calls `listener` whenever a model's versions, aliases or traffic change, in any process;
   * resolves to the unsubscribe function.
   */
  onChange(listener: (name: string) => Promise<void>): Promise<() => void>;
}
