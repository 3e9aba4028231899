// Image-folder datasets (`<dir>/<class>/<image>`), file hashes and deterministic splits.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ImageItem {
  path: string;
  label: string;
  sha256: string;
}

export interface ImageFolder {
  labels: string[];
  items: ImageItem[];
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif)$/i;

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Class folders sorted by name; images sorted by name, so the order never depends on the file system. */
export async function listImageFolder(dir: string): Promise<ImageFolder> {
  const entries = await readdir(dir, { withFileTypes: true });
  const labels = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const items: ImageItem[] = [];
  for (const label of labels) {
    const files = (await readdir(join(dir, label))).filter((f) => IMAGE_EXT.test(f)).sort();
    for (const f of files) {
      const path = join(dir, label, f);
      items.push({ path, label, sha256: await sha256File(path) });
    }
  }
  return { labels, items };
}

export class DatasetLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetLayoutError';
  }
}

/** The layout training and evaluation read, in words a user can act on. */
export const EXPECTED_LAYOUT =
  'one folder per class holding its images, e.g. <data>/<class>/*.png (a training set: train/<class>/*.png, validation: val/<class>/*.png)';

/**
 * Checks that `dir` is an image folder (`<dir>/<class>/<image>`, at least `minClasses` classes
 * with images) before work starts. `name` is how the folder is shown (never a server path).
 */
export async function checkImageFolderLayout(
  dir: string,
  name: string,
  minClasses = 2,
): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  let withImages = 0;
  const nested: string[] = [];
  for (const c of classes) {
    const inner = await readdir(join(dir, c.name), { withFileTypes: true });
    if (inner.some((e) => e.isFile() && IMAGE_EXT.test(e.name))) withImages += 1;
    else if (inner.some((e) => e.isDirectory())) nested.push(c.name);
  }
  if (withImages >= minClasses) return;
  const loose = entries.filter((e) => e.isFile() && IMAGE_EXT.test(e.name)).length;
  const hint = nested.length
    ? `; its folders ${nested.slice(0, 3).join(', ')} hold folders, not images: did you mean ${name}/${nested[0]}?`
    : loose
      ? `; it holds ${loose} images directly, with no class folders`
      : '';
  throw new DatasetLayoutError(
    `${name} has ${withImages} class folder${withImages === 1 ? '' : 's'} with images (at least ${minClasses} needed)${hint}. Expected ${EXPECTED_LAYOUT}`,
  );
}

/**
 * Group key for grouped splits. Fish4Knowledge names are `fish_<tracking id>_<n>.png`; tracks
 * sharing the last 4 digits of the tracking id come from one video clip (see the dataset README),
 * so the clip is the group. Other files are their own group (by content hash).
 */
export function groupOf(item: ImageItem): string {
  const m = /fish_(\d+)_\d+\.\w+$/.exec(item.path);
  return m ? `${item.label}/clip-${m[1].slice(-4)}` : `${item.label}/${item.sha256}`;
}

/** Deterministic stratified split by group: whole groups go to val until each class has ~`fraction`. */
export function groupedSplit(
  items: ImageItem[],
  fraction: number,
  seed: number,
): { train: ImageItem[]; val: ImageItem[] } {
  const byLabel = new Map<string, Map<string, ImageItem[]>>();
  for (const it of items) {
    const groups = byLabel.get(it.label) ?? new Map<string, ImageItem[]>();
    const g = groupOf(it);
    groups.set(g, [...(groups.get(g) ?? []), it]);
    byLabel.set(it.label, groups);
  }
  const train: ImageItem[] = [];
  const val: ImageItem[] = [];
  const rank = (g: string): string => createHash('sha1').update(`${seed}:${g}`).digest('hex');
  for (const [, groups] of [...byLabel].sort(([a], [b]) => a.localeCompare(b))) {
    const total = [...groups.values()].reduce((s, g) => s + g.length, 0);
    const target = Math.max(1, Math.round(total * fraction));
    const ordered = [...groups.keys()].sort((a, b) => rank(a).localeCompare(rank(b)));
    let inVal = 0;
    for (const g of ordered) {
      const members = groups.get(g)!;
      // Keep at least one group in train; stop before overshooting the target by a lot.
      if (inVal < target && inVal + members.length <= target * 1.5 && ordered.length > 1 && g !== ordered.at(-1)) {
        val.push(...members);
        inVal += members.length;
      } else train.push(...members);
    }
  }
  const byPath = (a: ImageItem, b: ImageItem): number => a.path.localeCompare(b.path);
  return { train: train.sort(byPath), val: val.sort(byPath) };
}

/** Fingerprint of a training set: hash over sorted (label, file hash) pairs. */
export function fingerprint(items: ImageItem[]): string {
  const h = createHash('sha256');
  for (const line of items.map((i) => `${i.label}\t${i.sha256}`).sort()) h.update(`${line}\n`);
  return h.digest('hex');
}
