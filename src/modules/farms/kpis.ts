import type { ComplianceSource, WaterQualityCompliance } from './compliance.ts';
import type { UnitRow } from './access.ts';
import type { UnitLogService } from './logs.ts';
import { farmKpis, type LogEvent, productionKpis, type ProductionKpis } from './kpi-math.ts';
import type { UnitService } from './units.ts';

const DAY_MS = 86_400_000;

export type UnitKpis = {
  unit_id: string;
  unit_name: string;
  from: string;
  to: string;
  days: number;
  water_quality: WaterQualityCompliance;
} & ProductionKpis;

export type FarmKpis = {
  farm_id: string;
  from: string;
  to: string;
  days: number;
  water_quality: WaterQualityCompliance;
  units: UnitKpis[];
} & ProductionKpis;

/** KPIs per unit and per farm over a period: production from the logs, water quality from telemetry. */
export class KpiService {
  constructor(
    private readonly units: UnitService,
    private readonly logs: UnitLogService,
    private readonly water: ComplianceSource,
  ) {}

  private async unitKpis(
    unit: UnitRow,
    events: LogEvent[],
    from: Date,
    to: Date,
  ): Promise<UnitKpis> {
    return {
      unit_id: unit.id,
      unit_name: unit.name,
      from: from.toISOString(),
      to: to.toISOString(),
      days: (to.getTime() - from.getTime()) / DAY_MS,
      ...productionKpis(events, from, to),
      water_quality: await this.water.compliance(unit.id, from, to),
    };
  }

  async unit(unit: UnitRow, from: Date, to: Date): Promise<UnitKpis> {
    const events = await this.logs.all({ unitId: unit.id }, { to });
    return this.unitKpis(unit, events, from, to);
  }

  async farm(farmId: string, from: Date, to: Date): Promise<FarmKpis> {
    const [units, events] = await Promise.all([
      this.units.listByFarm(farmId),
      this.logs.all({ farmId }, { to }),
    ]);
    const byUnit = new Map<string, LogEvent[]>();
    for (const e of events) {
      const list = byUnit.get(e.unitId) ?? [];
      list.push(e);
      byUnit.set(e.unitId, list);
    }
    const perUnit: UnitKpis[] = [];
    for (const u of units) perUnit.push(await this.unitKpis(u, byUnit.get(u.id) ?? [], from, to));
    const measured = perUnit.reduce((a, k) => a + k.water_quality.minutes_measured, 0);
    const compliant = perUnit.reduce((a, k) => a + k.water_quality.minutes_compliant, 0);
    return {
      farm_id: farmId,
      from: from.toISOString(),
      to: to.toISOString(),
      days: (to.getTime() - from.getTime()) / DAY_MS,
      ...farmKpis(perUnit),
      water_quality: {
        compliance: measured ? compliant / measured : null,
        minutes_measured: measured,
        minutes_compliant: compliant,
        metrics: [...new Set(perUnit.flatMap((k) => k.water_quality.metrics))].sort(),
      },
      units: perUnit,
    };
  }
}
