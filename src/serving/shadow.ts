import type { Prediction } from '../ml/classifier.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { VersionRef } from './router.ts';
import type { ServingStats } from './stats.ts';

/** The shadow version's answer on the same image, stored with the prediction, never returned. */
export interface ShadowOutcome {
  version: number;
  label: string;
  confidence: number;
  status: string;
  agree: boolean;
}

/** Compares the shadow's answer with the primary's and counts the agreement (stats, metrics). */
export function compareShadow(
  primary: Prediction,
  shadow: Prediction,
  ref: VersionRef,
  stats: ServingStats,
  metrics: Metrics,
): ShadowOutcome {
  const agree = shadow.label === primary.label && shadow.status === primary.status;
  const shadowStats = stats.of(ref.name, ref.version);
  shadowStats.shadowCompared += 1;
  if (agree) shadowStats.shadowAgreed += 1;
  metrics.shadowAgreement.inc({
    model: ref.name,
    version: String(ref.version),
    agree: String(agree),
  });
  return {
    version: ref.version,
    label: shadow.label,
    confidence: shadow.confidence,
    status: shadow.status,
    agree,
  };
}
