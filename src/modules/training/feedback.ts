import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { predictions, type Role } from '../../db/schema.ts';

/**
 * What a new class's label may look like: it becomes a folder name and a model label, so
 * lower-case words joined by single hyphens (like the shipped species labels).
 */
export const NEW_CLASS_LABEL = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Images a new class needs from trusted feedback before retraining adds it. */
export const MIN_NEW_CLASS_IMAGES = 3;

/** Roles whose labels retraining trusts unless told otherwise. */
export const TRUSTED_FEEDBACK_ROLES: readonly Role[] = ['operator', 'admin'];

export interface FeedbackGiver {
  user_id: string | null;
  api_key_id: string | null;
  role: string | null;
  labels: number;
}

export interface FeedbackSummary {
  /** Images whose latest trusted label the model knows: what retraining adds. */
  labels: number;
  by_role: Record<string, number>;
  by_giver: FeedbackGiver[];
  /** Latest labels left out because their giver's role is not trusted (or unknown). */
  untrusted_ignored: number;
  /** Labels the model does not know, with their image counts: new classes when retrained. */
  new_classes: Record<string, number>;
  /** New-class labels left out for having fewer than MIN_NEW_CLASS_IMAGES images. */
  new_classes_too_small: Record<string, number>;
}

/**
 * The latest feedback label per image for a model, from trusted givers only (operators and
 * admins, or everyone when `includeViewers`), with a count of who gave them. A label outside
 * `knownLabels` (an operator's new class, see the feedback route) is kept as a new class when
 * it has at least MIN_NEW_CLASS_IMAGES images; "unknown" is never a class.
 */
export async function feedbackForRetraining(
  db: Database,
  modelName: string,
  knownLabels: Iterable<string>,
  includeViewers = false,
): Promise<{ labels: Map<string, string>; summary: FeedbackSummary }> {
  const known = new Set(knownLabels);
  const rows = await db
    .select({
      sha: predictions.imageSha256,
      label: predictions.feedbackLabel,
      role: predictions.feedbackRole,
      userId: predictions.feedbackBy,
      apiKeyId: predictions.feedbackApiKeyId,
    })
    .from(predictions)
    .where(and(eq(predictions.modelName, modelName), isNotNull(predictions.feedbackLabel)))
    .orderBy(desc(predictions.feedbackAt));
  const seen = new Set<string>();
  const kept: (typeof rows)[number][] = [];
  let ignored = 0;
  for (const r of rows) {
    if (!r.label || r.label === 'unknown' || seen.has(r.sha)) continue;
    seen.add(r.sha);
    const trusted = includeViewers || (r.role !== null && TRUSTED_FEEDBACK_ROLES.includes(r.role));
    if (trusted) kept.push(r);
    else ignored += 1;
  }
  const newClasses: Record<string, number> = {};
  for (const r of kept)
    if (!known.has(r.label!)) newClasses[r.label!] = (newClasses[r.label!] ?? 0) + 1;
  const tooSmall: Record<string, number> = {};
  for (const [l, n] of Object.entries(newClasses))
    if (n < MIN_NEW_CLASS_IMAGES) {
      tooSmall[l] = n;
      delete newClasses[l];
    }
  const labels = new Map<string, string>();
  const byRole: Record<string, number> = {};
  const byGiver = new Map<string, FeedbackGiver>();
  for (const r of kept) {
    if (tooSmall[r.label!] !== undefined) continue;
    labels.set(r.sha, r.label!);
    const role = r.role ?? 'unknown';
    byRole[role] = (byRole[role] ?? 0) + 1;
    const key = `${r.userId}|${r.apiKeyId}|${role}`;
    const giver = byGiver.get(key) ?? {
      user_id: r.userId,
      api_key_id: r.apiKeyId,
      role: r.role,
      labels: 0,
    };
    giver.labels += 1;
    byGiver.set(key, giver);
  }
  return {
    labels,
    summary: {
      labels: labels.size,
      by_role: byRole,
      by_giver: [...byGiver.values()].sort((a, b) => b.labels - a.labels),
      untrusted_ignored: ignored,
      new_classes: newClasses,
      new_classes_too_small: tooSmall,
    },
  };
}
