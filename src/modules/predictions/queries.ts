import {
  and,
  count,
  desc,
  eq,
  gte,
  inArray,
  isNotNull,
  isNull,
  lte,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { predictions, type Role } from '../../db/schema.ts';
import { roundScore, roundMs } from '../../serving/precision.ts';

export type PredictionRow = typeof predictions.$inferSelect;

export interface HistoryFilter {
  species?: string;
  status?: 'ok' | 'unknown';
  from?: Date;
  to?: Date;
  model?: string;
  modelVersion?: number;
  minConfidence?: number;
  unitId?: string;
  /** Predictions attached to this farm unit (its id given as unit_id). */
  farmUnitId?: string;
  farmId?: string;
  userId?: string;
  /**
   * The farms the caller may see; predictions of other farms are left out (predictions with no
   * farm stay visible). Undefined: every farm (admins).
   */
  visibleFarms?: string[];
}

/** Feedback agrees with the prediction: the same known species, or "unknown" for an unknown answer. */
const feedbackAgrees = sql`(${predictions.feedbackLabel} = ${predictions.label} and ${predictions.status} = 'ok' or ${predictions.feedbackLabel} = 'unknown' and ${predictions.status} = 'unknown')`;

function where(f: HistoryFilter): SQL | undefined {
  const c: SQL[] = [];
  if (f.species) c.push(eq(predictions.label, f.species), eq(predictions.status, 'ok'));
  if (f.status) c.push(eq(predictions.status, f.status));
  if (f.from) c.push(gte(predictions.createdAt, f.from));
  if (f.to) c.push(lte(predictions.createdAt, f.to));
  if (f.model) c.push(eq(predictions.modelName, f.model));
  if (f.modelVersion !== undefined) c.push(eq(predictions.modelVersion, f.modelVersion));
  // Compared as double precision: a tiny bound such as 1e-254 is out of range for the column's
  // real type, which PostgreSQL refuses (a 500) instead of comparing.
  if (f.minConfidence !== undefined) {
    c.push(sql`${predictions.confidence} >= ${f.minConfidence}::double precision`);
  }
  if (f.unitId) c.push(eq(predictions.unitId, f.unitId));
  if (f.farmUnitId) c.push(eq(predictions.farmUnitId, f.farmUnitId));
  if (f.farmId) c.push(eq(predictions.farmId, f.farmId));
  if (f.visibleFarms) {
    c.push(
      f.visibleFarms.length
        ? or(isNull(predictions.farmId), inArray(predictions.farmId, f.visibleFarms))!
        : isNull(predictions.farmId),
    );
  }
  if (f.userId) c.push(eq(predictions.userId, f.userId));
  return c.length ? and(...c) : undefined;
}

/** A stored prediction as the API shows it: the fields and precision of the classify answer. */
export function toStoredPrediction(r: PredictionRow) {
  return {
    id: r.id,
    created_at: r.createdAt.toISOString(),
    species: r.status === 'ok' ? r.label : null,
    scientific_name: r.status === 'ok' ? r.scientificName : null,
    label: r.label,
    confidence: roundScore(r.confidence),
    status: r.status,
    top_k: r.topK.map((c) => ({ label: c.label, confidence: roundScore(c.confidence) })),
    ood_score: r.oodScore === null ? null : roundScore(r.oodScore),
    model: { name: r.modelName, version: r.modelVersion, route: r.routeTarget },
    unit_id: r.unitId,
    farm_unit_id: r.farmUnitId,
    farm_id: r.farmId,
    device_id: r.deviceId,
    inference_ms: roundMs(r.inferenceMs),
    timings: r.timings,
    cached: r.cached,
    image_sha256: r.imageSha256,
    source: r.source,
    health: r.health ?? null,
    feedback: r.feedbackLabel
      ? {
          label: r.feedbackLabel,
          note: r.feedbackNote,
          at: r.feedbackAt!.toISOString(),
          by: {
            user_id: r.feedbackBy,
            api_key_id: r.feedbackApiKeyId,
            role: r.feedbackRole,
          },
        }
      : null,
  };
}

/** Reads over stored predictions: history, statistics, feedback. */
export class PredictionQueries {
  constructor(private readonly db: Database) {}

  async history(f: HistoryFilter, page: { limit: number; offset: number }) {
    const w = where(f);
    const [items, [{ total }]] = await Promise.all([
      this.db
        .select()
        .from(predictions)
        .where(w)
        .orderBy(desc(predictions.createdAt), desc(predictions.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(predictions).where(w),
    ]);
    return { items, total: Number(total) };
  }

  async get(id: string): Promise<PredictionRow | undefined> {
    const [row] = await this.db.select().from(predictions).where(eq(predictions.id, id)).limit(1);
    return row;
  }

  /** Records a label with who gave it (user or API key) and the role they had. */
  async setFeedback(
    id: string,
    label: string,
    note: string | null,
    giver: { userId: string | null; apiKeyId: string | null; role: Role },
  ) {
    const [row] = await this.db
      .update(predictions)
      .set({
        feedbackLabel: label,
        feedbackNote: note,
        feedbackBy: giver.userId,
        feedbackApiKeyId: giver.apiKeyId,
        feedbackRole: giver.role,
        feedbackAt: new Date(),
      })
      .where(eq(predictions.id, id))
      .returning();
    return row;
  }

  async stats(f: HistoryFilter) {
    const w = where(f);
    const day = sql<string>`to_char(date_trunc('day', ${predictions.createdAt} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`;
    const [totals] = await this.db
      .select({
        total: count(),
        unknown: sql<number>`count(*) filter (where ${predictions.status} = 'unknown')`,
        meanConfidence: sql<number | null>`avg(${predictions.confidence})`,
        withFeedback: sql<number>`count(*) filter (where ${predictions.feedbackLabel} is not null)`,
        feedbackCorrect: sql<number>`count(*) filter (where ${feedbackAgrees})`,
      })
      .from(predictions)
      .where(w);
    const perSpecies = await this.db
      .select({
        species: predictions.label,
        count: count(),
        meanConfidence: sql<number>`avg(${predictions.confidence})`,
      })
      .from(predictions)
      .where(and(w, eq(predictions.status, 'ok')))
      .groupBy(predictions.label)
      .orderBy(desc(count()));
    const perDay = await this.db
      .select({ day, species: predictions.label, status: predictions.status, count: count() })
      .from(predictions)
      .where(w)
      .groupBy(day, predictions.label, predictions.status)
      .orderBy(day);
    const total = Number(totals?.total ?? 0);
    return {
      total,
      unknown_rate: total ? roundScore(Number(totals!.unknown) / total) : null,
      mean_confidence:
        totals?.meanConfidence === null || !total
          ? null
          : roundScore(Number(totals!.meanConfidence)),
      feedback: {
        count: Number(totals?.withFeedback ?? 0),
        accuracy: Number(totals?.withFeedback ?? 0)
          ? roundScore(Number(totals!.feedbackCorrect) / Number(totals!.withFeedback))
          : null,
      },
      per_species: perSpecies.map((r) => ({
        species: r.species,
        count: Number(r.count),
        mean_confidence: roundScore(Number(r.meanConfidence)),
      })),
      per_day: perDay.map((r) => ({
        day: r.day,
        species: r.status === 'ok' ? r.species : null,
        status: r.status,
        count: Number(r.count),
      })),
    };
  }

  /** Accuracy of each model version on the predictions operators corrected or confirmed. */
  async feedbackAccuracy(since?: Date) {
    const rows = await this.db
      .select({
        model: predictions.modelName,
        version: predictions.modelVersion,
        n: count(),
        correct: sql<number>`count(*) filter (where ${feedbackAgrees})`,
      })
      .from(predictions)
      .where(
        and(
          isNotNull(predictions.feedbackLabel),
          since ? gte(predictions.feedbackAt, since) : undefined,
        ),
      )
      .groupBy(predictions.modelName, predictions.modelVersion);
    return rows.map((r) => ({
      model: r.model,
      version: r.version,
      feedback: Number(r.n),
      accuracy: Number(r.n) ? Number(r.correct) / Number(r.n) : null,
    }));
  }
}
