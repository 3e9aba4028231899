import type { Database } from '../../db/client.ts';
import { FarmAccess } from './access.ts';
import { type ComplianceSource, RollupCompliance } from './compliance.ts';
import { DeviceService } from './devices.ts';
import { FarmService } from './farms.ts';
import { KpiService } from './kpis.ts';
import { UnitLogService } from './logs.ts';
import { UnitService } from './units.ts';

/** The farm model: farms, members, units, devices, logs, and the access checks over them. */
export interface FarmModule {
  access: FarmAccess;
  farms: FarmService;
  units: UnitService;
  devices: DeviceService;
  logs: UnitLogService;
  kpis: KpiService;
}

export function createFarmModule(
  db: Database,
  water: ComplianceSource = new RollupCompliance(db),
): FarmModule {
  const units = new UnitService(db);
  const logs = new UnitLogService(db);
  return {
    access: new FarmAccess(db),
    farms: new FarmService(db),
    units,
    devices: new DeviceService(db),
    logs,
    kpis: new KpiService(units, logs, water),
  };
}
