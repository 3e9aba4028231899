// MODEL_CARD.md: intended use, data, metrics, per-class table, limitations, notices.
import { cropOf } from '../preprocess.ts';
import type { Manifest } from './manifest.ts';
import { BACKBONE_NOTICE, F4K_NOTICE } from './notice.ts';

const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;

const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

/** How an image becomes the backbone's input, as a reader of the card needs it. */
function preprocessingLine(m: Manifest): string {
  const p = m.preprocessing;
  const share = cropOf(p);
  const crop = share < 1 ? `the centre ${Math.round(share * 100)} % of each side, ` : '';
  const fit = p.fit === 'stretch' ? 'stretched' : 'letterboxed';
  return `${crop}${fit} to ${p.size}x${p.size} (${p.kernel}), RGB scaled to ${p.scale}`;
}

function precisionLine(m: Manifest): string {
  const q = m.backbone.quantization;
  if ((m.backbone.precision ?? 'fp32') !== 'int8' || !q) return 'fp32';
  const ref = q.fp32_reference;
  const change = ref
    ? `; validation top-1 ${m.metrics.val.accuracy.toFixed(3)} vs ${ref.val_accuracy.toFixed(3)} for the same recipe on the fp32 backbone (${signed((m.metrics.val.accuracy - ref.val_accuracy) * 100)} points), macro-F1 ${m.metrics.val.macro_f1.toFixed(3)} vs ${ref.val_macro_f1.toFixed(3)}`
    : '';
  return `int8 (static ${q.format.toUpperCase()}: weights int8 per channel, activations uint8 per tensor, ranges by ${q.calibration.method} over ${q.calibration.images} ${q.calibration.source}; the head was trained on int8 features)${change}`;
}

/** When an answer is `unknown`, in the words of the manifest's rule (openset.ts `unknownReason`). */
function openSetParagraph(m: Manifest): string {
  const similarity = `the maximum cosine similarity of its pooled backbone features to ${m.open_set.prototypes} class prototypes is below ${m.open_set.threshold.toFixed(4)} (the ${pct(m.open_set.val_quantile)} quantile on validation)`;
  const confidence = `Otherwise, an image whose calibrated confidence is below ${m.confidence_threshold} is \`unknown\` (\`low_confidence\`).`;
  const n = m.novelty;
  if (!n) return `Open set: an image is \`unknown\` when ${similarity}. ${confidence}`;
  const novelty = `its novelty score (${n.method}) is below ${n.threshold.toFixed(4)} (${pct(n.known_fish_loss)} of validation fish)`;
  if ((m.open_set.gate ?? 'prototypes-or-novelty') === 'novelty')
    return `Open set: an image is \`unknown\` when ${novelty}: \`not_a_fish\` when also ${similarity}, else \`unknown_species\`. ${confidence}`;
  return `Open set: an image is \`unknown\` (\`not_a_fish\`) when ${similarity}, or (\`unknown_species\`) when ${novelty}. ${confidence}`;
}

/** "0.091-0.500 (4 clips)"; a single clip gives no interval. The card and `aquaml evaluate` agree. */
export function recallIntervalText(low: number, high: number, clips: number): string {
  return clips < 2
    ? '1 clip: no interval'
    : `${low.toFixed(3)}-${high.toFixed(3)} (${clips} clips)`;
}

export function modelCard(m: Manifest, opts: { f4k: boolean }): string {
  const v = m.metrics.val;
  const rows = m.labels.map((l) => {
    const c = m.metrics.per_class[l];
    const sci = m.label_info[l]?.scientific_name;
    const interval =
      c.clips === undefined || c.recall_low === undefined || c.recall_high === undefined
        ? 'n/a'
        : recallIntervalText(c.recall_low, c.recall_high, c.clips);
    return `| \`${l}\`${sci ? ` (*${sci}*)` : ''} | ${c.precision.toFixed(3)} | ${c.recall.toFixed(3)} | ${interval} | ${c.f1.toFixed(3)} | ${c.support} | ${m.training.per_class_train[l] ?? 0} |`;
  });
  const ood = m.metrics.ood;
  const use =
    m.task === 'species'
      ? 'Identify the species of a reef fish in a small image crop (e.g. from a fixed underwater camera), among the labels below, and flag images that are not one of them as `unknown`.'
      : 'Research and evaluation of fish-health image classification. Not a veterinary diagnosis.';
  return `# Model card: ${m.name} v${m.version}

- Task: **${m.task}** (${m.labels.length} classes), created ${m.created_at}
- Backbone: \`${m.backbone.id}\` (MobileNetV2 ${m.backbone.width}, input ${m.backbone.input_size}x${m.backbone.input_size}), pooled taps ${m.backbone.taps.map((t) => `\`${t}\``).join(' + ')} (${m.backbone.feature_dim} features)
- Backbone precision: ${precisionLine(m)}
- Preprocessing: ${preprocessingLine(m)}
- Head: ${m.head.kind}${m.head.hidden ? ` (hidden ${m.head.hidden})` : ''}, temperature ${m.calibration.temperature.toFixed(3)}, flip-TTA ${m.options.flip_tta ? 'on' : 'off'}
- Training data fingerprint: \`${m.training.fingerprint}\` (${m.training.n_train} images; validation ${m.training.n_val} images, ${m.training.val})

## Intended use

${use}

Out of scope: medical, legal or regulatory decisions; species not listed; images unlike the training data
(these should come back \`unknown\`, but no open-set detector is perfect).

## Metrics (validation set)

| metric | value |
|---|---|
| top-1 accuracy | ${v.accuracy.toFixed(3)} |
| macro-F1 | ${v.macro_f1.toFixed(3)} |
| ECE (15 bins, after temperature scaling) | ${v.ece.toFixed(3)} |
| validation images returned \`unknown\` | ${pct(v.unknown_rate)} |
${ood ? `| open-set AUROC (fish val vs. ${ood.n_nonfish} non-fish images, on the score that rejects) | ${ood.auroc.toFixed(3)} |\n| non-fish images returned \`unknown\` | ${pct(ood.nonfish_unknown_rate)} |\n` : ''}
${openSetParagraph(m)}
${ood ? `Non-fish images: ${ood.source}.\n` : ''}
Temperature and thresholds were chosen on the validation set, so these figures are somewhat optimistic.

### Per class (validation)

| class | precision | recall | recall 95 % interval (bootstrap over val clips) | F1 | val support | train images |
|---|---|---|---|---|---|---|
${rows.join('\n')}

![confusion matrix](${m.files.confusion})

## Limitations

${
  m.task === 'species'
    ? `- Trained on low-resolution crops from fixed underwater cameras on Taiwanese coral reefs (F4K); photos taken
  out of water, other reefs, or other camera set-ups may score lower than reported.
- Small classes come from few video clips (e.g. one validation clip for \`neoniphon-sammara\`): their
  per-class numbers are noisy. Splits are grouped by clip, but the same resident fish may appear in several clips.
- Labels are F4K's "representative species" of hand-checked clusters.`
    : `- Web-collected images with noisy labels and augmented near-duplicates: validation accuracy is optimistic.
- The image license is unclear: do not redistribute this model or its training images.`
}

## Backbone

${BACKBONE_NOTICE}
${opts.f4k ? `\n${F4K_NOTICE}` : ''}`;
}
