// Leave-one-class-out (LOCO) figures for the "unknown species" problem: a model trained without
// one class scores that class's validation images as unknown fish and the other classes'
// validation images as known fish. Per left-out class: the share of unknown fish rejected at the
// threshold that rejects 2 / 5 / 10 % of known fish, and AUROC (known vs unknown). The splits
// are grouped by clip, so no clip of a known class is both trained on and scored.
import type { MatMulABt } from '../gemm.ts';
import { headLogits } from '../head/head.ts';
import { fitStandardizer, pack, standardize } from '../head/standardize.ts';
import {
  combineNovelty,
  fitNoveltyModel,
  noveltyFeatures,
  noveltyNeeds,
  noveltyPartScores,
  noveltyScales,
  type NoveltySettings,
} from '../novelty.ts';
import { quantile } from '../openset.ts';
import { classWeights } from '../train/fit-heads.ts';
import { trainSoftmaxGemm } from '../train/softmax-gemm.ts';
import { auroc } from './metrics.ts';

/** Known-fish losses the table reports the unknown-fish rejection at. */
export const LOCO_KNOWN_LOSSES = [0.02, 0.05, 0.1] as const;

export interface LocoFold {
  /** The left-out class. */
  label: string;
  /** Novelty scores (higher = more known) of known-class validation images. */
  known: readonly number[];
  /** Scores of the left-out class's validation images. */
  unknown: readonly number[];
}

export interface LocoRow {
  label: string;
  n_known: number;
  n_unknown: number;
  /** Share of unknown fish rejected at each of LOCO_KNOWN_LOSSES. */
  rejected: number[];
  auroc: number;
}

export function locoRow(f: LocoFold): LocoRow {
  const rejected = LOCO_KNOWN_LOSSES.map((q) => {
    const t = quantile(f.known, q);
    return f.unknown.filter((s) => s < t).length / f.unknown.length;
  });
  return {
    label: f.label,
    n_known: f.known.length,
    n_unknown: f.unknown.length,
    rejected,
    auroc: auroc([...f.known], [...f.unknown]),
  };
}

/** Per-fold rows and their unweighted mean over folds (each left-out class counts once). */
export function locoTable(folds: readonly LocoFold[]): { rows: LocoRow[]; mean: LocoRow } {
  const rows = folds.map(locoRow);
  const avg = (f: (r: LocoRow) => number): number =>
    rows.reduce((a, r) => a + f(r), 0) / rows.length;
  return {
    rows,
    mean: {
      label: 'mean over folds',
      n_known: Math.round(avg((r) => r.n_known)),
      n_unknown: Math.round(avg((r) => r.n_unknown)),
      rejected: LOCO_KNOWN_LOSSES.map((_, i) => avg((r) => r.rejected[i])),
      auroc: avg((r) => r.auroc),
    },
  };
}

/** A Markdown table (the form docs/model-research.md records). */
export function formatLocoTable(t: { rows: LocoRow[]; mean: LocoRow }, title?: string): string {
  const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
  const head = `| left-out class | unknown n | ${LOCO_KNOWN_LOSSES.map((q) => `rejected @ ${q * 100} % known`).join(' | ')} | AUROC |`;
  const sep = `| --- | --- | ${LOCO_KNOWN_LOSSES.map(() => '---').join(' | ')} | --- |`;
  const line = (r: LocoRow, bold = false): string => {
    const b = (s: string): string => (bold ? `**${s}**` : s);
    return `| ${b(r.label)} | ${r.n_unknown} | ${r.rejected.map((v) => b(pct(v))).join(' | ')} | ${b(r.auroc.toFixed(3))} |`;
  };
  return [
    ...(title ? [title, ''] : []),
    head,
    sep,
    ...t.rows.map((r) => line(r)),
    line(t.mean, true),
  ].join('\n');
}

export interface LocoNoveltyInput {
  labels: string[];
  /** Training rows as the model trains on them (originals, then mirrors), and their classes. */
  trainRaw: readonly Float32Array[];
  trainY: Int32Array;
  /** Validation rows (originals) and their classes. */
  valRaw: readonly Float32Array[];
  valY: Int32Array;
  /** Raw row → open-set features (openset.ts `openSetFeatures` for the model's taps). */
  openSet: (raw: Float32Array) => Float32Array;
  /** The model's novelty setting (method, shrinkage, subspace rank; the loss is not used). */
  settings: NoveltySettings;
  /** The softmax head's L2 and iterations (the combined method needs each fold's head). */
  l2: number;
  maxIter: number;
  onFold?: (label: string, seconds: number) => void;
}

/**
 * The leave-one-class-out folds of a novelty method, fitted as training fits it: per fold, the
 * head (standardiser + softmax regression) and the novelty model (novelty.ts, the code training
 * runs) on the 9 remaining classes; the combination's scales come from the fold's known-fish
 * validation scores.
 */
export async function locoNoveltyFolds(inp: LocoNoveltyInput, mm: MatMulABt): Promise<LocoFold[]> {
  const folds: LocoFold[] = [];
  const valNov = inp.valRaw.map((r) => noveltyFeatures(inp.openSet(r)));
  const trainNov = inp.trainRaw.map((r) => noveltyFeatures(inp.openSet(r)));
  for (let left = 0; left < inp.labels.length; left++) {
    const t0 = performance.now();
    const idx = [...inp.trainY.keys()].filter((i) => inp.trainY[i] !== left);
    const y = Int32Array.from(idx, (i) =>
      inp.trainY[i] > left ? inp.trainY[i] - 1 : inp.trainY[i],
    );
    const k = inp.labels.length - 1;
    let maxLogits: number[] = inp.valRaw.map(() => 0);
    if (noveltyNeeds(inp.settings.method).maxLogit) {
      const rows = idx.map((i) => inp.trainRaw[i]);
      const st = fitStandardizer(rows);
      const X = pack(rows.map((r) => standardize(st, r)));
      const head = await trainSoftmaxGemm(X, y, k, {
        l2: inp.l2,
        classWeights: classWeights(y, k),
        maxIter: inp.maxIter,
      });
      maxLogits = inp.valRaw.map((r) => Math.max(...headLogits(head, standardize(st, r))));
    }
    const model = await fitNoveltyModel(
      idx.map((i) => trainNov[i]),
      y,
      k,
      inp.settings,
      mm,
    );
    const parts = await noveltyPartScores(model, valNov, maxLogits, mm);
    const isKnown = (i: number): boolean => inp.valY[i] !== left;
    const known = <T>(xs: T[]): T[] => xs.filter((_, i) => isKnown(i));
    const scales = noveltyScales(
      inp.settings.method,
      Object.fromEntries(Object.entries(parts).map(([key, v]) => [key, known(v)])),
    );
    const s = combineNovelty(inp.settings.method, parts, scales, inp.settings.weights);
    folds.push({
      label: inp.labels[left],
      known: known(s),
      unknown: s.filter((_, i) => !isKnown(i)),
    });
    inp.onFold?.(inp.labels[left], (performance.now() - t0) / 1000);
  }
  return folds;
}
