import { Type } from 'typebox';
import { Timestamp } from '../../http/schemas.ts';

const N = Type.Number();
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** How every KPI is computed: the description of the KPI routes and their CSV exports. */
export const KPI_FORMULAS = `Over the period [from, to] (to defaults to now), replaying the unit logs:
- fish: start = count at \`from\` (stockings minus mortalities and harvests before it); stocked, dead, harvested in the period; end = start + stocked - dead - harvested.
- mortality_rate = dead / (start + stocked); survival_rate = (end + harvested) / (start + stocked). Fractions 0-1.
- mean_weight_g: the last growth sample (a stocking mixes its fish in by count: W = (N W + n w) / (N + n)) at \`from\` and at \`to\`.
- biomass_kg (the biomass estimate): start = fish.start x mean_weight_g.start / 1000, end likewise; stocked and harvested = count x the entry's mean weight (else the current estimate); gain = end + harvested - start - stocked.
- fcr (feed conversion ratio) = feed_kg / biomass_kg.gain (null when nothing was gained).
- sgr_percent_per_day (specific growth rate) = 100 x (ln W1 - ln W0) / days between the weight observations W0 (the last at or before \`from\`, else the first in the period) and W1 (the last up to \`to\`).
- water_quality.compliance (% of time every metric was within range, as a fraction) = minutes in which every measured metric with a range stayed within it (minimum and maximum of the minute's readings) / minutes in which any such metric was measured, from the per-minute rollups of the readings; ranges are the unit's thresholds (the stocked species' cited ranges or the unit's overrides).
A farm's figures sum its units' counts, biomass and feed and recompute the rates from the sums; its mean weights are biomass / fish; its SGR is the units' SGRs weighted by end biomass; its compliance is the units' compliant minutes / measured minutes.`;

const production = {
  days: N,
  fish: Type.Object({
    start: Type.Integer(),
    stocked: Type.Integer(),
    dead: Type.Integer(),
    harvested: Type.Integer(),
    end: Type.Integer(),
  }),
  mortality_rate: NullableNumber,
  survival_rate: NullableNumber,
  mean_weight_g: Type.Object({ start: NullableNumber, end: NullableNumber }),
  biomass_kg: Type.Object({
    start: NullableNumber,
    end: NullableNumber,
    stocked: N,
    harvested: N,
    gain: NullableNumber,
  }),
  feed_kg: N,
  fcr: NullableNumber,
  sgr_percent_per_day: NullableNumber,
  water_quality: Type.Object({
    compliance: NullableNumber,
    minutes_measured: Type.Integer(),
    minutes_compliant: Type.Integer(),
    metrics: Type.Array(Type.String()),
  }),
};

export const UnitKpisSchema = Type.Object({
  unit_id: Type.String({ format: 'uuid' }),
  unit_name: Type.String(),
  from: Timestamp,
  to: Timestamp,
  ...production,
});

export const FarmKpisSchema = Type.Object({
  farm_id: Type.String({ format: 'uuid' }),
  from: Timestamp,
  to: Timestamp,
  ...production,
  units: Type.Array(UnitKpisSchema),
});

export const Period = Type.Object({ from: Timestamp, to: Type.Optional(Timestamp) });
