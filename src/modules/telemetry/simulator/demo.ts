import { eq } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { farms, fishSpecies, units } from '../../../db/schema.ts';
import type { Logger } from '../../../logger.ts';
import type { FarmModule } from '../../farms/index.ts';
import type { TelemetryIngest } from '../ingest.ts';
import { profileFor } from './model.ts';
import { runSimulation, type SimulatedUnit } from './runner.ts';

export const DEMO_FARM = 'Demo farm';

const DEMO_UNITS = [
  { name: 'Tilapia pond 1', kind: 'pond', species: 'nile-tilapia', volume_m3: 1500 },
  { name: 'Tilapia pond 2', kind: 'pond', species: 'nile-tilapia', volume_m3: 1500 },
  { name: 'Trout raceway', kind: 'raceway', species: 'rainbow-trout', volume_m3: 300 },
  { name: 'Carp pond', kind: 'pond', species: 'common-carp', volume_m3: 2500 },
] as const;

/** Units of the demo farm with their simulated sensor, created on the first start. */
export async function seedDemoFarm(db: Database, farmModule: FarmModule): Promise<SimulatedUnit[]> {
  let [farm] = await db.select().from(farms).where(eq(farms.name, DEMO_FARM)).limit(1);
  farm ??= await farmModule.farms.create(
    {
      name: DEMO_FARM,
      location: 'Simulated',
      description: 'Seeded by AQUAML_DEMO=1; fed by the simulator.',
    },
    null,
  );
  const existing = await farmModule.units.listByFarm(farm.id);
  const out: SimulatedUnit[] = [];
  for (const spec of DEMO_UNITS) {
    const [known] = await db.select().from(fishSpecies).where(eq(fishSpecies.code, spec.species));
    let unit = existing.find((u) => u.name === spec.name);
    unit ??= await farmModule.units.create(
      farm.id,
      {
        name: spec.name,
        kind: spec.kind,
        species: known ? spec.species : undefined,
        volume_m3: spec.volume_m3,
      },
      null,
    );
    const devices = await farmModule.devices.listByUnit(unit.id);
    const device =
      devices.find((d) => d.name === 'simulator') ??
      (await farmModule.devices.create(unit, { name: 'simulator', kind: 'sensor' }, null)).row;
    const [row] = await db
      .select({ species: fishSpecies })
      .from(units)
      .leftJoin(fishSpecies, eq(fishSpecies.code, units.speciesCode))
      .where(eq(units.id, unit.id));
    out.push({
      farmId: farm.id,
      unitId: unit.id,
      deviceId: device.id,
      profile: profileFor(row?.species ?? undefined),
    });
  }
  return out;
}

/** Seeds the demo farm and feeds it in-process until stopped (one reading per second per unit). */
export async function startDemo(
  db: Database,
  farmModule: FarmModule,
  ingest: TelemetryIngest,
  logger: Logger,
): Promise<() => Promise<void>> {
  const simulated = await seedDemoFarm(db, farmModule);
  const abort = new AbortController();
  const running = runSimulation({
    units: simulated,
    ratePerUnit: 1,
    faults: true,
    seed: 42,
    signal: abort.signal,
    sink: {
      async send(unit, readings) {
        await ingest.ingest(
          { deviceId: unit.deviceId, unitId: unit.unitId, farmId: unit.farmId },
          readings,
          'simulator',
        );
      },
    },
    onError: (err) => logger.warn({ err }, 'demo simulator send failed'),
  });
  logger.info(
    { farm: simulated[0]?.farmId, units: simulated.length },
    'demo farm seeded; simulator running',
  );
  return async () => {
    abort.abort();
    await running;
  };
}
