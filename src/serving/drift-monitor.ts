import { and, eq, gte } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { alerts } from '../db/schema.ts';
import type { EventBus } from '../infra/bus/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { psi } from './drift.ts';
import type { ModelRuntime } from './runtime.ts';
import type { ServingStats, VersionStats } from './stats.ts';

export const ALERTS_TOPIC = 'alerts';

export interface DriftReport {
  model: string;
  version: number;
  samples: number;
  psi: { confidence: number | null; ood_score: number | null; feature_norm: number | null };
  drifted: boolean;
}

export interface AccuracyReport {
  model: string;
  version: number;
  feedback: number;
  accuracy: number | null;
}

export interface DriftOptions {
  threshold: number;
  /** Rolling accuracy from feedback this far below the validation accuracy raises an alert. */
  accuracyDrop: number;
  /** Fewer feedback labels than this are not judged. */
  minFeedback: number;
  /** How far back feedback counts for the rolling accuracy. */
  feedbackWindowMs: number;
  /** Fewer recent predictions than this are not judged (PSI is noisy on small samples). */
  minSamples: number;
  /** One alert per model version and this period at most. */
  cooldownMs: number;
}

export interface DriftMonitorDeps {
  db: Database;
  runtime: ModelRuntime;
  stats: ServingStats;
  bus: EventBus;
  metrics: Metrics;
  logger: Logger;
  options: DriftOptions;
  /** Rolling accuracy from operator feedback since a time, per version (modules/predictions). */
  feedbackAccuracy: (since: Date) => Promise<AccuracyReport[]>;
}

/** Compares recent traffic of each served version with its training reference; raises alerts. */
export class DriftMonitor {
  private timer: NodeJS.Timeout | undefined;

  private readonly options: DriftOptions;

  constructor(private readonly deps: DriftMonitorDeps) {
    this.options = deps.options;
  }

  /** Rolling accuracy from operator feedback, per version, over the configured window. */
  rollingAccuracy(): Promise<AccuracyReport[]> {
    return this.deps.feedbackAccuracy(new Date(Date.now() - this.options.feedbackWindowMs));
  }

  private reportFor(s: VersionStats, reference: Record<string, number[]> | undefined): DriftReport {
    const ref = reference ?? {};
    const samples = s.confidence.size;
    // A PSI over a handful of predictions is noise: nothing is reported (nor exported) before
    // AQUAML_DRIFT_MIN_SAMPLES predictions.
    const judged = samples >= this.options.minSamples;
    const values = judged
      ? {
          confidence: psi(ref.confidence_deciles ?? [], s.confidence.values()),
          ood_score: psi(ref.ood_score_deciles ?? [], s.oodScore.values()),
          feature_norm: psi(ref.feature_norm_deciles ?? [], s.featureNorm.values()),
        }
      : { confidence: null, ood_score: null, feature_norm: null };
    const drifted =
      judged && Object.values(values).some((v) => v !== null && v > this.options.threshold);
    return { model: s.name, version: s.version, samples, psi: values, drifted };
  }

  async reports(): Promise<DriftReport[]> {
    const loaded = new Map((await this.deps.runtime.loadedModels()).map((m) => [m.key, m]));
    return this.deps.stats.all().flatMap((s) => {
      const model = loaded.get(`${s.name}@${s.version}`);
      if (!model) return [];
      return [this.reportFor(s, model.manifest.reference as unknown as Record<string, number[]>)];
    });
  }

  /** One pass: update the gauges and raise an alert for each drifted version (with a cooldown). */
  async check(): Promise<DriftReport[]> {
    const reports = await this.reports();
    for (const r of reports) {
      for (const [signal, v] of Object.entries(r.psi)) {
        if (v !== null)
          this.deps.metrics.drift.set({ model: r.model, version: String(r.version), signal }, v);
      }
      if (r.drifted) await this.raise(r);
    }
    await this.checkAccuracy();
    return reports;
  }

  /** Alerts when a served version's accuracy on recent feedback falls well below its validation accuracy. */
  private async checkAccuracy(): Promise<void> {
    const loaded = new Map((await this.deps.runtime.loadedModels()).map((m) => [m.key, m]));
    for (const a of await this.rollingAccuracy()) {
      const model = loaded.get(`${a.model}@${a.version}`);
      const expected = model?.manifest.metrics?.val?.accuracy;
      // Judged only with enough labels, like the alert below (a few labels make a noisy gauge).
      if (model && a.accuracy !== null && a.feedback >= this.options.minFeedback)
        this.deps.metrics.feedbackAccuracy.set(
          { model: a.model, version: String(a.version) },
          a.accuracy,
        );
      if (
        !model ||
        expected === undefined ||
        a.accuracy === null ||
        a.feedback < this.options.minFeedback
      )
        continue;
      if (a.accuracy >= expected - this.options.accuracyDrop) continue;
      await this.alert(
        `model:${a.model}@${a.version}`,
        'model_accuracy',
        `Accuracy of ${a.model}@${a.version} on the last ${a.feedback} feedback labels is ${(a.accuracy * 100).toFixed(1)} %, against ${(expected * 100).toFixed(1)} % at validation`,
        { ...a, validation_accuracy: expected },
      );
    }
  }

  private async raise(r: DriftReport): Promise<void> {
    const worst = Object.entries(r.psi).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]!;
    await this.alert(
      `model:${r.model}@${r.version}`,
      'model_drift',
      `Input drift on ${r.model}@${r.version}: PSI of ${worst[0]} is ${worst[1]?.toFixed(2)} (threshold ${this.options.threshold}) over the last ${r.samples} predictions`,
      r as unknown as Record<string, unknown>,
    );
  }

  /** Stores an alert and announces it, at most once per source and kind within the cooldown. */
  private async alert(
    source: string,
    kind: string,
    message: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    const since = new Date(Date.now() - this.options.cooldownMs);
    const [recent] = await this.deps.db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.source, source), eq(alerts.kind, kind), gte(alerts.createdAt, since)))
      .limit(1);
    if (recent) return;
    const [alert] = await this.deps.db
      .insert(alerts)
      .values({ kind, severity: 'warning', source, message, details })
      .returning();
    this.deps.logger.warn({ alert: alert!.id, source, kind }, message);
    await this.deps.bus.publish(ALERTS_TOPIC, alert);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.check().catch((err: unknown) => this.deps.logger.error({ err }, 'drift check failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
