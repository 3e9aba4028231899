/**
 * Population stability index of recent values against reference quantile edges taken on the
 * training-time validation set. Bins are [edge_k, edge_k+1): each holds an equal share of the
 * reference, and tied edges (e.g. many confidences of exactly 1.0) give their share to the bin that
 * starts at the tie, where that mass really lies.
 * Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 drifted.
 */
export function psi(edges: number[], recent: ArrayLike<number>): number | null {
  if (!edges.length || !recent.length) return null;
  const share = 1 / (edges.length + 1);
  const bounds: number[] = [];
  const expected: number[] = [share];
  for (const e of edges) {
    if (bounds.length && e <= bounds[bounds.length - 1]!) expected[expected.length - 1]! += share;
    else {
      bounds.push(e);
      expected.push(share);
    }
  }
  const counts = new Array<number>(expected.length).fill(0);
  for (let i = 0; i < recent.length; i++) {
    const v = recent[i]!;
    let b = 0;
    while (b < bounds.length && v >= bounds[b]!) b++;
    counts[b]! += 1;
  }
  const eps = 1e-4;
  let total = 0;
  counts.forEach((c, b) => {
    const actual = Math.max(c / recent.length, eps);
    total += (actual - expected[b]!) * Math.log(actual / expected[b]!);
  });
  return total;
}
