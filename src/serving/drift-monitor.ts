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

export interface DriftOptions {
  threshold: number;
  /** Fewer recent predictions than this are not judged (PSI is noisy on small samples). */
  minSamples: number;
  /** One alert per model version and this period at most. */
  cooldownMs: number;
}

/** Compares recent traffic of each served version with its training reference; raises alerts. */
export class DriftMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly runtime: ModelRuntime,
    private readonly stats: ServingStats,
    private readonly bus: EventBus,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: DriftOptions,
  ) {}

  private reportFor(s: VersionStats, reference: Record<string, number[]> | undefined): DriftReport {
    const ref = reference ?? {};
    const values = {
      confidence: psi(ref.confidence_deciles ?? [], s.confidence.values()),
      ood_score: psi(ref.ood_score_deciles ?? [], s.oodScore.values()),
      feature_norm: psi(ref.feature_norm_deciles ?? [], s.featureNorm.values()),
    };
    const samples = s.confidence.size;
    const judged = samples >= this.options.minSamples;
    const drifted =
      judged && Object.values(values).some((v) => v !== null && v > this.options.threshold);
    return { model: s.name, version: s.version, samples, psi: values, drifted };
  }

  async reports(): Promise<DriftReport[]> {
    const loaded = new Map((await this.runtime.loadedModels()).map((m) => [m.key, m]));
    return this.stats.all().flatMap((s) => {
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
          this.metrics.drift.set({ model: r.model, version: String(r.version), signal }, v);
      }
      if (r.drifted) await this.raise(r);
    }
    return reports;
  }

  private async raise(r: DriftReport): Promise<void> {
    const source = `model:${r.model}@${r.version}`;
    const since = new Date(Date.now() - this.options.cooldownMs);
    const [recent] = await this.db
      .select({ id: alerts.id })
      .from(alerts)
      .where(
        and(
          eq(alerts.source, source),
          eq(alerts.kind, 'model_drift'),
          gte(alerts.createdAt, since),
        ),
      )
      .limit(1);
    if (recent) return;
    const worst = Object.entries(r.psi).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]!;
    const message = `Input drift on ${r.model}@${r.version}: PSI of ${worst[0]} is ${worst[1]?.toFixed(2)} (threshold ${this.options.threshold}) over the last ${r.samples} predictions`;
    const [alert] = await this.db
      .insert(alerts)
      .values({
        kind: 'model_drift',
        severity: 'warning',
        source,
        message,
        details: r as unknown as Record<string, unknown>,
      })
      .returning();
    this.logger.warn({ alert: alert!.id, model: source, psi: r.psi }, message);
    await this.bus.publish(ALERTS_TOPIC, alert);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.check().catch((err: unknown) => this.logger.error({ err }, 'drift check failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
