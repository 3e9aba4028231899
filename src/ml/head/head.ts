// Runtime form of a trained head: dense layers over standardised features. Shared by training
// (validation scoring) and the classifier, so both compute exactly the same logits.
export interface DenseLayer {
  /** Row-major [out × in]. */
  weight: Float32Array;
  bias: Float32Array;
  inDim: number;
  outDim: number;
  relu: boolean;
}

export interface Head {
  kind: 'softmax' | 'mlp';
  layers: DenseLayer[];
}

export function headLogits(head: Head, x: Float32Array): Float32Array {
  let h = x;
  for (const l of head.layers) {
    const o = new Float32Array(l.outDim);
    for (let j = 0; j < l.outDim; j++) {
      let s = l.bias[j];
      const off = j * l.inDim;
      for (let p = 0; p < l.inDim; p++) s += l.weight[off + p] * h[p];
      o[j] = l.relu && s < 0 ? 0 : s;
    }
    h = o;
  }
  return h;
}

export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < logits.length; j++) m = Math.max(m, logits[j] / temperature);
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let j = 0; j < logits.length; j++) z += p[j] = Math.exp(logits[j] / temperature - m);
  for (let j = 0; j < p.length; j++) p[j] /= z;
  return p;
}

export function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let j = 1; j < a.length; j++) if (a[j] > a[b]) b = j;
  return b;
}
