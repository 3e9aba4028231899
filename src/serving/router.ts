import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { modelRoutes, type TrafficSplitEntry } from '../db/schema.ts';
import type { ModelRegistry } from '../modules/models/registry.ts';

export interface VersionRef {
  name: string;
  version: number;
}

export interface RouteDecision {
  primary: VersionRef;
  /** Which split entry was chosen ("champion", "challenger", "3"), for the response and metrics. */
  target: string;
  shadow?: VersionRef;
}

export interface ResolvedRoute {
  name: string;
  split: { target: string; weight: number; version: number }[];
  shadow?: { target: string; version: number };
  sticky: boolean;
}

export class RouteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteError';
  }
}

/** Maps a hash of the sticky key to [0, 1): the same user or device always lands in the same slice. */
export function stickyFraction(key: string, model: string): number {
  const h = createHash('sha256').update(`${model}\u0000${key}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/**
 * The traffic split of each model name (A/B by weights, sticky per user or device, optional shadow),
 * resolved to version numbers and cached; `invalidate` drops a model after any change.
 */
export class TrafficRouter {
  private readonly cache = new Map<string, Promise<ResolvedRoute>>();

  constructor(
    private readonly db: Database,
    private readonly registry: ModelRegistry,
    private readonly random: () => number = Math.random,
  ) {}

  invalidate(name?: string): void {
    if (name) this.cache.delete(name);
    else this.cache.clear();
  }

  route(name: string): Promise<ResolvedRoute> {
    let r = this.cache.get(name);
    if (!r) {
      r = this.resolve(name);
      this.cache.set(name, r);
      r.catch(() => this.cache.delete(name));
    }
    return r;
  }

  private async targetVersion(name: string, target: string): Promise<number> {
    return (await this.registry.resolve({ name, selector: target })).version;
  }

  private async resolve(name: string): Promise<ResolvedRoute> {
    const [row] = await this.db
      .select()
      .from(modelRoutes)
      .where(eq(modelRoutes.modelName, name))
      .limit(1);
    const entries: TrafficSplitEntry[] = row?.split.length
      ? row.split
      : [{ target: 'champion', weight: 100 }];
    const split = [];
    for (const e of entries) {
      if (e.weight <= 0) continue;
      try {
        split.push({ ...e, version: await this.targetVersion(name, e.target) });
      } catch {
        // A split entry whose alias was removed no longer gets traffic; the rest share it.
      }
    }
    if (!split.length) {
      try {
        split.push({
          target: 'champion',
          weight: 100,
          version: await this.targetVersion(name, 'champion'),
        });
      } catch {
        throw new RouteError(`model ${name} has no champion to serve`);
      }
    }
    let shadow: ResolvedRoute['shadow'];
    if (row?.shadow) {
      try {
        shadow = { target: row.shadow, version: await this.targetVersion(name, row.shadow) };
      } catch {
        shadow = undefined;
      }
    }
    return { name, split, shadow, sticky: row?.sticky ?? true };
  }

  /** Picks the version for one request; `stickyKey` (user or device) keeps a caller on one version. */
  async decide(name: string, stickyKey?: string): Promise<RouteDecision> {
    const route = await this.route(name);
    const total = route.split.reduce((s, e) => s + e.weight, 0);
    const x = (route.sticky && stickyKey ? stickyFraction(stickyKey, name) : this.random()) * total;
    let acc = 0;
    let chosen = route.split[route.split.length - 1]!;
    for (const e of route.split) {
      acc += e.weight;
      if (x < acc) {
        chosen = e;
        break;
      }
    }
    const decision: RouteDecision = {
      primary: { name, version: chosen.version },
      target: chosen.target,
    };
    if (route.shadow && route.shadow.version !== chosen.version) {
      decision.shadow = { name, version: route.shadow.version };
    }
    return decision;
  }
}
