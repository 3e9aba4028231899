import { createHash } from 'node:crypto';
import type { TrafficSplitEntry } from '../db/schema.ts';
import type { ModelCatalog } from './catalog.ts';

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

/** A model's traffic split (A/B weights by alias or version), shadow target and stickiness. */
export interface TrafficConfig {
  split: TrafficSplitEntry[];
  shadow: string | null;
  sticky: boolean;
}

/** A model nobody configured: all of its traffic to the champion, each caller kept on one version. */
export const DEFAULT_TRAFFIC: TrafficConfig = {
  split: [{ target: 'champion', weight: 100 }],
  shadow: null,
  sticky: true,
};

/** Where the traffic settings of models are kept (DEFAULT_TRAFFIC for a model without any). */
export interface TrafficSettings {
  get(name: string): Promise<TrafficConfig>;
}

export class RouteError extends Error {
  constructor(
    message: string,
    /** unknown_model: no such model (the caller's mistake); no_champion: it cannot serve yet. */
    readonly kind: 'unknown_model' | 'no_champion' = 'no_champion',
  ) {
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
    private readonly catalog: ModelCatalog,
    private readonly traffic: TrafficSettings,
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
    return (await this.catalog.resolve({ name, selector: target })).version;
  }

  private async resolve(name: string): Promise<ResolvedRoute> {
    const settings = await this.traffic.get(name);
    const entries = settings.split.length ? settings.split : DEFAULT_TRAFFIC.split;
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
        const fallback = DEFAULT_TRAFFIC.split[0]!;
        split.push({ ...fallback, version: await this.targetVersion(name, fallback.target) });
      } catch {
        // An unknown name is the caller's mistake (404); a known model without a champion cannot
        // serve yet (503).
        if (!(await this.catalog.exists(name))) {
          throw new RouteError(`no model ${name}`, 'unknown_model');
        }
        throw new RouteError(`model ${name} has no champion to serve`);
      }
    }
    let shadow: ResolvedRoute['shadow'];
    if (settings.shadow) {
      try {
        shadow = {
          target: settings.shadow,
          version: await this.targetVersion(name, settings.shadow),
        };
      } catch {
        shadow = undefined;
      }
    }
    return { name, split, shadow, sticky: settings.sticky };
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
