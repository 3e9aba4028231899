// Issue 14: the open set per non-fish source. The served rule (prototype similarity, novelty
// score and confidence gates, thresholds set on fish val) as `aquaml evaluate --ood` reports it,
// and each score alone (`ood_score`: max cosine to the prototypes; `novelty_score`: max-logit +
// ½·residual, §15) at 2, 5 and 10 % of fish val rejected. Every threshold comes from fish val
// only, so each source's share is a leave-one-source-out figure.
// Then the rules the served gate was chosen from (§22), each at the largest equal per-score
// quantile that loses <= 5 % of fish val, and a leave-one-source-out choice among them: for each
// source, the rule that does best on the other sources, scored on the source.
// Usage: bash scripts/fetch-nonfish.sh && node bin/run-ts.js research/open-set-sources.ts
//   (docs/model-research.md §20, §22)
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { BackbonePool } from '../src/ml/backbone/session.ts';
import { loadModel, type Prediction } from '../src/ml/classifier.ts';
import { listImageFolder } from '../src/ml/data/dataset.ts';
import { listImagesRecursive } from '../src/ml/evaluate/evaluate-model.ts';
import { quantile } from '../src/ml/openset.ts';
import { preprocess } from '../src/ml/preprocess.ts';

const nonfish = resolve('data/nonfish');
const pool = new BackbonePool(resolve('data/store'));
try {
  const clf = await loadModel(
    resolve(process.env.AQUAML_RESEARCH_MODEL ?? 'models/species/1'),
    pool,
  );
  const predict = async (paths: readonly string[]): Promise<Prediction[]> => {
    const out: Prediction[] = [];
    for (let i = 0; i < paths.length; i += 32) {
      const xs = await Promise.all(
        paths.slice(i, i + 32).map(async (p) => preprocess(await readFile(p), clf.preprocessing)),
      );
      out.push(...(await clf.predictBatch(xs, { topK: 1 })));
    }
    return out;
  };
  const fishVal = await listImageFolder(resolve('../shared/data/fish-species/val'));
  const fish = await predict(fishVal.items.map((i) => i.path));
  const paths = await listImagesRecursive(nonfish);
  const other = await predict(paths);
  const sources = new Map<string, Prediction[]>();
  paths.forEach((p, i) => {
    const s = relative(nonfish, dirname(p));
    const some = sources.get(s) ?? [];
    some.push(other[i]!);
    sources.set(s, some);
  });
  const gates = {
    similarity: (p: Prediction) => p.ood_score,
    novelty: (p: Prediction) => p.novelty_score ?? Infinity,
    confidence: (p: Prediction) => p.confidence,
  };
  type Gate = keyof typeof gates;
  const scores = { prototype: gates.similarity, novelty: gates.novelty };
  const share = (ps: Prediction[], keep: (p: Prediction) => boolean) =>
    +((100 * ps.filter(keep).length) / ps.length).toFixed(1);
  const unknown = (p: Prediction) => p.status === 'unknown';
  console.log(
    JSON.stringify({ source: 'fish val (lost)', n: fish.length, served: share(fish, unknown) }),
  );
  for (const [source, ps] of [...sources, ['all non-fish', other] as const]) {
    const row: Record<string, unknown> = { source, n: ps.length, served: share(ps, unknown) };
    for (const [name, score] of Object.entries(scores)) {
      row[name] = [0.02, 0.05, 0.1].map((loss) => {
        const t = quantile(fish.map(score), loss);
        return share(ps, (p) => score(p) < t);
      });
    }
    console.log(JSON.stringify(row));
  }
  const ruleAt = (names: Gate[], r: number) => {
    const ts = names.map((g) => [gates[g], quantile(fish.map(gates[g]), r)] as const);
    return (p: Prediction) => ts.some(([score, t]) => score(p) < t);
  };
  const rules = Object.fromEntries(
    (
      [['novelty'], ['similarity', 'novelty'], ['similarity', 'novelty', 'confidence']] as Gate[][]
    ).map((names) => {
      let r = 0;
      for (let q = 1; q <= 100; q++) if (share(fish, ruleAt(names, q / 1000)) <= 5) r = q / 1000;
      return [names.join(' or '), ruleAt(names, r)];
    }),
  );
  for (const [name, rejects] of Object.entries(rules)) {
    const row: Record<string, unknown> = { rule: name, 'fish val lost': share(fish, rejects) };
    for (const [source, ps] of [...sources, ['all non-fish', other] as const])
      row[source] = share(ps, rejects);
    console.log(JSON.stringify(row));
  }
  // Two ways to choose on the other sources: the most of their images pooled (stamps weigh 426 of
  // 757), or the best worst source (the bar is per source).
  const choosers = {
    pooled: (rest: [string, Prediction[]][], rejects: (p: Prediction) => boolean) =>
      share(
        rest.flatMap(([, some]) => some),
        rejects,
      ),
    'worst source': (rest: [string, Prediction[]][], rejects: (p: Prediction) => boolean) =>
      Math.min(...rest.map(([, some]) => share(some, rejects))),
  };
  for (const [chooser, merit] of Object.entries(choosers))
    for (const [source, ps] of sources) {
      const rest = [...sources].filter(([s]) => s !== source);
      const [name, rejects] = Object.entries(rules).sort(
        ([, a], [, b]) => merit(rest, b) - merit(rest, a),
      )[0]!;
      console.log(
        JSON.stringify({
          chooser,
          'held out': source,
          'rule chosen': name,
          rejected: share(ps, rejects),
        }),
      );
    }
} finally {
  await pool.close();
}
