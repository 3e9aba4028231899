import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { modelRoutes } from '../../db/schema.ts';
import type { EventBus } from '../../infra/bus/types.ts';
import { DEFAULT_TRAFFIC, type TrafficConfig, type TrafficSettings } from '../../serving/router.ts';
import type { AuditActor, AuditLog } from '../audit/service.ts';
import { MODELS_CHANGED, type ModelRegistry, RegistryError } from './registry.ts';

/**
 * Stores a model's traffic split and shadow target, audited; every process picks a change up
 * from the bus, and the serving router reads the settings from here.
 */
export class TrafficService implements TrafficSettings {
  constructor(
    private readonly db: Database,
    private readonly registry: ModelRegistry,
    private readonly audit: AuditLog,
    private readonly bus: EventBus,
  ) {}

  async get(name: string): Promise<TrafficConfig> {
    const [row] = await this.db
      .select()
      .from(modelRoutes)
      .where(eq(modelRoutes.modelName, name))
      .limit(1);
    return row ? { split: row.split, shadow: row.shadow, sticky: row.sticky } : DEFAULT_TRAFFIC;
  }

  async set(name: string, config: TrafficConfig, actor?: AuditActor): Promise<TrafficConfig> {
    const split = config.split.filter((e) => e.weight > 0);
    if (!split.length)
      throw new RegistryError('the traffic split needs at least one target with weight > 0');
    const targets = [...split.map((e) => e.target), ...(config.shadow ? [config.shadow] : [])];
    for (const target of targets) {
      // Each target must resolve now: an alias that points nowhere would silently drop its share.
      const row = await this.registry.resolve({ name, selector: target });
      if (row.status === 'archived')
        throw new RegistryError(`${name}@${target} is archived`, 'conflict');
    }
    const before = await this.get(name);
    const values = {
      modelName: name,
      split,
      shadow: config.shadow,
      sticky: config.sticky,
      updatedAt: new Date(),
      updatedBy: actor?.userId ?? null,
    };
    await this.db
      .insert(modelRoutes)
      .values(values)
      .onConflictDoUpdate({ target: modelRoutes.modelName, set: values });
    await this.audit.record({
      action: 'model.traffic_changed',
      actor,
      targetType: 'model',
      targetId: name,
      details: {
        from: before as unknown as Record<string, unknown>,
        to: { split, shadow: config.shadow, sticky: config.sticky },
      },
    });
    await this.bus.publish(MODELS_CHANGED, { name });
    return { split, shadow: config.shadow, sticky: config.sticky };
  }
}
