// Production KPIs of one unit over a period, replayed from its operational log. Pure: no I/O.
import type { UnitLogKind } from '../../db/schema.ts';

export interface LogEvent {
  kind: UnitLogKind;
  occurredAt: Date;
  count: number | null;
  meanWeightG: number | null;
  feedKg: number | null;
}

export interface ProductionKpis {
  fish: { start: number; stocked: number; dead: number; harvested: number; end: number };
  mortality_rate: number | null;
  survival_rate: number | null;
  mean_weight_g: { start: number | null; end: number | null };
  biomass_kg: {
    start: number | null;
    end: number | null;
    stocked: number;
    harvested: number;
    gain: number | null;
  };
  feed_kg: number;
  fcr: number | null;
  sgr_percent_per_day: number | null;
}

const DAY_MS = 86_400_000;

/** Rounds away floating-point noise so hand-computed values compare exactly. */
const tidy = (x: number) => Math.round(x * 1e9) / 1e9;
const tidyOrNull = (x: number | null) => (x === null ? null : tidy(x));

/**
 * Replays a unit's log (oldest first, every entry up to `to`) and measures [from, to]:
 * - fish count N: stockings add, mortalities and harvests subtract;
 * - mean weight W: set by growth samples; a stocking mixes its fish in by count
 *   (W = (N W + n w) / (N + n)); the estimate holds until the next sample;
 * - mortality rate = dead / (N(from) + stocked); survival rate = (N(to) + harvested) / (N(from) + stocked);
 * - biomass estimate B(t) = N(t) x W(t); biomass gain = B(to) + B harvested - B(from) - B stocked
 *   (fish brought in or taken out are not growth; dead fish are lost gain);
 * - FCR = feed given / biomass gain (null when nothing was gained);
 * - SGR (%/day) = 100 x (ln W1 - ln W0) / days between the weight observations W0 (the last at or
 *   before `from`, else the first in the period) and W1 (the last up to `to`).
 */
export function productionKpis(events: LogEvent[], from: Date, to: Date): ProductionKpis {
  let n = 0;
  let w: number | null = null;
  let wAt: Date | null = null;
  let start: { n: number; w: number | null; wAt: Date | null } | null = null;
  let stocked = 0;
  let dead = 0;
  let harvested = 0;
  let stockedKg = 0;
  let harvestedKg = 0;
  let feedKg = 0;
  let firstInPeriod: { w: number; at: Date } | null = null;

  const observe = (weight: number, at: Date) => {
    w = weight;
    wAt = at;
    if (at >= from && !firstInPeriod) firstInPeriod = { w: weight, at };
  };

  for (const e of events) {
    if (e.occurredAt > to) break;
    if (!start && e.occurredAt >= from) start = { n, w, wAt };
    const inPeriod = e.occurredAt >= from;
    const c = e.count ?? 0;
    switch (e.kind) {
      case 'stocking': {
        const weight = e.meanWeightG ?? w;
        if (weight !== null) {
          const mixed = w === null || n <= 0 ? weight : (n * w + c * weight) / (n + c);
          observe(mixed, e.occurredAt);
        }
        n += c;
        if (inPeriod) {
          stocked += c;
          stockedKg += (c * (weight ?? 0)) / 1000;
        }
        break;
      }
      case 'mortality':
        n -= c;
        if (inPeriod) dead += c;
        break;
      case 'harvest':
        n -= c;
        if (inPeriod) {
          harvested += c;
          harvestedKg += (c * (e.meanWeightG ?? w ?? 0)) / 1000;
        }
        break;
      case 'growth_sample':
        if (e.meanWeightG !== null) observe(e.meanWeightG, e.occurredAt);
        break;
      case 'feeding':
        if (inPeriod) feedKg += e.feedKg ?? 0;
        break;
      case 'treatment':
        break;
    }
  }
  start ??= { n, w, wAt };
  const end = { n, w: w as number | null, wAt: wAt as Date | null };

  const base = start.n + stocked;
  const b0 = start.w === null ? (start.n === 0 ? 0 : null) : (start.n * start.w) / 1000;
  const b1 = end.w === null ? (end.n === 0 ? 0 : null) : (end.n * end.w) / 1000;
  const gain = b0 === null || b1 === null ? null : b1 + harvestedKg - b0 - stockedKg;

  const w0 = start.w !== null ? { w: start.w, at: start.wAt! } : firstInPeriod;
  let sgr: number | null = null;
  if (w0 && end.w !== null && end.wAt && end.wAt > w0.at) {
    sgr =
      (100 * (Math.log(end.w) - Math.log(w0.w))) / ((end.wAt.getTime() - w0.at.getTime()) / DAY_MS);
  }

  return {
    fish: { start: start.n, stocked, dead, harvested, end: end.n },
    mortality_rate: base > 0 ? tidy(dead / base) : null,
    survival_rate: base > 0 ? tidy((end.n + harvested) / base) : null,
    mean_weight_g: { start: tidyOrNull(start.w), end: tidyOrNull(end.w) },
    biomass_kg: {
      start: tidyOrNull(b0),
      end: tidyOrNull(b1),
      stocked: tidy(stockedKg),
      harvested: tidy(harvestedKg),
      gain: tidyOrNull(gain),
    },
    feed_kg: tidy(feedKg),
    fcr: gain !== null && gain > 0 ? tidy(feedKg / gain) : null,
    sgr_percent_per_day: tidyOrNull(sgr),
  };
}

/** A farm's KPIs from its units': sums, and the rates recomputed from the sums. */
export function farmKpis(units: ProductionKpis[]): ProductionKpis {
  const sum = (f: (k: ProductionKpis) => number) => units.reduce((a, k) => a + f(k), 0);
  const sumOrNull = (f: (k: ProductionKpis) => number | null) =>
    units.some((k) => f(k) === null) ? null : sum((k) => f(k)!);
  const fish = {
    start: sum((k) => k.fish.start),
    stocked: sum((k) => k.fish.stocked),
    dead: sum((k) => k.fish.dead),
    harvested: sum((k) => k.fish.harvested),
    end: sum((k) => k.fish.end),
  };
  const base = fish.start + fish.stocked;
  const b0 = sumOrNull((k) => k.biomass_kg.start);
  const b1 = sumOrNull((k) => k.biomass_kg.end);
  const gain = sumOrNull((k) => k.biomass_kg.gain);
  const feed = sum((k) => k.feed_kg);
  // Farm SGR: the units' SGRs weighted by their end biomass.
  const weighted = units.filter(
    (k) => k.sgr_percent_per_day !== null && (k.biomass_kg.end ?? 0) > 0,
  );
  const weight = weighted.reduce((a, k) => a + k.biomass_kg.end!, 0);
  return {
    fish,
    mortality_rate: base > 0 ? tidy(fish.dead / base) : null,
    survival_rate: base > 0 ? tidy((fish.end + fish.harvested) / base) : null,
    mean_weight_g: {
      start: b0 !== null && fish.start > 0 ? tidy((b0 * 1000) / fish.start) : null,
      end: b1 !== null && fish.end > 0 ? tidy((b1 * 1000) / fish.end) : null,
    },
    biomass_kg: {
      start: tidyOrNull(b0),
      end: tidyOrNull(b1),
      stocked: tidy(sum((k) => k.biomass_kg.stocked)),
      harvested: tidy(sum((k) => k.biomass_kg.harvested)),
      gain: tidyOrNull(gain),
    },
    feed_kg: tidy(feed),
    fcr: gain !== null && gain > 0 ? tidy(feed / gain) : null,
    sgr_percent_per_day: weight
      ? tidy(weighted.reduce((a, k) => a + k.sgr_percent_per_day! * k.biomass_kg.end!, 0) / weight)
      : null,
  };
}
