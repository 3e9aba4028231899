// `evaluateModel`: run a classifier over an image folder (class sub-folders) and report metrics.
// Folders whose class the model does not know count as misses. An optional folder of
// out-of-distribution images (e.g. non-fish) adds open-set figures.
import { readFile } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { recallIntervalText } from '../artifact/card.ts';
import { unknownRule } from '../artifact/manifest.ts';
import type { Classifier, Prediction } from '../classifier.ts';
import { groupOf, listImageFolder } from '../data/dataset.ts';
import { preprocess } from '../preprocess.ts';
import { auroc, computeMetrics } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import { type RecallInterval, recallIntervals } from './recall-interval.ts';

export interface EvaluateOptions {
  batchSize?: number;
  flipTta?: boolean;
  /** Folder (searched recursively) of images that are none of the model's classes. */
  oodDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface Evaluation extends Metrics {
  unknown_rate: number;
  /** Each class's recall, 95 % interval by a bootstrap over its clips. */
  recall_intervals: Record<string, RecallInterval>;
  /** Val images the open-set check turned away (`unknown` for any reason but low confidence). */
  open_set_rejected_rate: number;
  unknown_classes: string[];
  ood?: OpenSetFigures & { by_source: Record<string, OpenSetFigures> };
}

/**
 * Non-fish images against fish val. The threshold is set on fish val alone, so every source's
 * figures are already leave-one-source-out: no non-fish image chose it.
 */
export interface OpenSetFigures {
  n: number;
  unknown_rate: number;
  /** Fish val against these images on the score that rejects (the novelty score when it decides). */
  auroc: number;
}

const rejectedByOpenSet = (p: Prediction) =>
  p.status === 'unknown' && p.unknown_reason !== 'low_confidence';

async function predictPaths(
  c: Classifier,
  paths: string[],
  o: EvaluateOptions,
  offset = 0,
  total = paths.length,
): Promise<Prediction[]> {
  const bs = o.batchSize ?? 32;
  const res: Prediction[] = [];
  for (let i = 0; i < paths.length; i += bs) {
    const xs = await Promise.all(
      paths.slice(i, i + bs).map(async (p) => preprocess(await readFile(p), c.preprocessing)),
    );
    res.push(
      ...(await c.predictBatch(xs, { flipTta: o.flipTta, includeProbabilities: true, topK: 3 })),
    );
    o.onProgress?.(offset + Math.min(i + bs, paths.length), total);
  }
  return res;
}

export async function listImagesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listImagesRecursive(p)));
    else if (/\.(jpe?g|png|webp|gif|tiff?|avif)$/i.test(e.name)) out.push(p);
  }
  return out;
}

export async function evaluateModel(
  classifier: Classifier,
  dataDir: string,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const labels = classifier.manifest.labels;
  const folder = await listImageFolder(dataDir);
  const oodPaths = opts.oodDir ? await listImagesRecursive(opts.oodDir) : [];
  const total = folder.items.length + oodPaths.length;
  const preds = await predictPaths(
    classifier,
    folder.items.map((i) => i.path),
    opts,
    0,
    total,
  );
  const truth = folder.items.map((i) => labels.indexOf(i.label));
  const metrics = computeMetrics(
    truth,
    preds.map((p) => p.probabilities!),
    labels,
  );
  const result: Evaluation = {
    ...metrics,
    unknown_rate: preds.filter((p) => p.status === 'unknown').length / Math.max(1, preds.length),
    recall_intervals: recallIntervals(
      truth,
      preds.map((p) => labels.indexOf(p.label)),
      folder.items.map(groupOf),
      labels,
    ),
    open_set_rejected_rate: preds.filter(rejectedByOpenSet).length / Math.max(1, preds.length),
    unknown_classes: folder.labels.filter((l) => !labels.includes(l)),
  };
  if (oodPaths.length) {
    const ood = await predictPaths(classifier, oodPaths, opts, folder.items.length, total);
    const byNovelty = unknownRule(classifier.manifest).gate === 'novelty';
    const score = (p: Prediction) => (byNovelty ? (p.novelty_score ?? p.ood_score) : p.ood_score);
    const figures = (some: Prediction[]): OpenSetFigures => ({
      n: some.length,
      unknown_rate: some.filter((p) => p.status === 'unknown').length / some.length,
      auroc: auroc(preds.map(score), some.map(score)),
    });
    // A source is the folder an image sits in, relative to the OOD folder.
    const bySource = new Map<string, Prediction[]>();
    oodPaths.forEach((p, i) => {
      const source = relative(opts.oodDir!, dirname(p)) || '.';
      const some = bySource.get(source) ?? [];
      some.push(ood[i]!);
      bySource.set(source, some);
    });
    result.ood = {
      ...figures(ood),
      by_source: Object.fromEntries([...bySource].map(([source, some]) => [source, figures(some)])),
    };
  }
  return result;
}

const f3 = (v: number): string => v.toFixed(3);

export function formatEvaluation(e: Evaluation, title = 'evaluation'): string {
  const lines = [
    `${title}: ${e.n} images`,
    `top-1 accuracy ${f3(e.accuracy)}   macro-F1 ${f3(e.macro_f1)}   ECE (15 bins) ${f3(e.ece)}   unknown ${(e.unknown_rate * 100).toFixed(1)} % (open set ${(e.open_set_rejected_rate * 100).toFixed(1)} %, the rest low confidence)`,
  ];
  if (e.unknown_classes.length)
    lines.push(
      `classes unknown to the model (all count as misses): ${e.unknown_classes.join(', ')}`,
    );
  if (e.ood)
    lines.push(
      `open set: ${e.ood.n} OOD images, ${(e.ood.unknown_rate * 100).toFixed(1)} % unknown, AUROC ${f3(e.ood.auroc)}`,
      ...Object.entries(e.ood.by_source).map(
        ([source, f]) =>
          `  ${source}: ${f.n} images, ${(f.unknown_rate * 100).toFixed(1)} % unknown, AUROC ${f3(f.auroc)}`,
      ),
    );
  lines.push('', 'coverage at confidence thresholds:');
  for (const c of e.coverage)
    lines.push(
      `  >= ${c.threshold.toFixed(1)}: coverage ${f3(c.coverage)}  accuracy ${f3(c.accuracy)}`,
    );
  const w = Math.max(...e.labels.map((l) => l.length), 5);
  lines.push(
    '',
    `${'class'.padEnd(w)}  precision  recall     f1  support  recall 95 % (bootstrap over clips)`,
  );
  for (const l of e.labels) {
    const c = e.per_class[l];
    const ci = e.recall_intervals[l];
    lines.push(
      `${l.padEnd(w)}  ${f3(c.precision).padStart(9)}  ${f3(c.recall).padStart(6)}  ${f3(c.f1).padStart(5)}  ${String(c.support).padStart(7)}  ${ci ? recallIntervalText(ci.low, ci.high, ci.clips) : ''}`,
    );
  }
  const rows =
    e.confusion_matrix.length > e.labels.length ? [...e.labels, '(unknown class)'] : e.labels;
  lines.push('', 'confusion matrix (rows: true, columns: predicted, in label order):');
  e.confusion_matrix.forEach((r, i) =>
    lines.push(`${rows[i].padEnd(w)}  ${r.map((v) => String(v).padStart(4)).join('')}`),
  );
  return lines.join('\n');
}
