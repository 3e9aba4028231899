// Bilinear resizing of interleaved RGB in plain TypeScript. For the small crops this platform
// sees (~100 px, enlarged to the model input) it costs a fraction of libvips' resampler, which
// dominated preprocessing; large images are first reduced by sharp (see decodeRgb).

interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

const tables = new Map<string, AxisTable>();

/** Source indices and weights per output position (pixel centres aligned), cached per size pair. */
function axis(src: number, dst: number): AxisTable {
  const key = `${src}>${dst}`;
  let t = tables.get(key);
  if (!t) {
    t = { i0: new Int32Array(dst), i1: new Int32Array(dst), w: new Float32Array(dst) };
    const scale = src / dst;
    for (let d = 0; d < dst; d++) {
      const f = Math.min(src - 1, Math.max(0, (d + 0.5) * scale - 0.5));
      const i0 = Math.floor(f);
      t.i0[d] = i0;
      t.i1[d] = Math.min(src - 1, i0 + 1);
      t.w[d] = f - i0;
    }
    if (tables.size > 512) tables.clear();
    tables.set(key, t);
  }
  return t;
}

/** Stretches `src` (width × height × 3) to `out` (outW × outH × 3). */
export function resizeBilinearRgb(
  src: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  out = new Uint8Array(outW * outH * 3),
): Uint8Array {
  const xs = axis(width, outW);
  const ys = axis(height, outH);
  const row = width * 3;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const r0 = ys.i0[y]! * row;
    const r1 = ys.i1[y]! * row;
    const wy = ys.w[y]!;
    for (let x = 0; x < outW; x++) {
      const wx = xs.w[x]!;
      // The four neighbours; channels unrolled (this loop is the whole cost).
      const a = r0 + xs.i0[x]! * 3;
      const b = r0 + xs.i1[x]! * 3;
      const c = r1 + xs.i0[x]! * 3;
      const d = r1 + xs.i1[x]! * 3;
      let top = src[a]! + (src[b]! - src[a]!) * wx;
      let bottom = src[c]! + (src[d]! - src[c]!) * wx;
      out[o] = top + (bottom - top) * wy + 0.5;
      top = src[a + 1]! + (src[b + 1]! - src[a + 1]!) * wx;
      bottom = src[c + 1]! + (src[d + 1]! - src[c + 1]!) * wx;
      out[o + 1] = top + (bottom - top) * wy + 0.5;
      top = src[a + 2]! + (src[b + 2]! - src[a + 2]!) * wx;
      bottom = src[c + 2]! + (src[d + 2]! - src[c + 2]!) * wx;
      out[o + 2] = top + (bottom - top) * wy + 0.5;
      o += 3;
    }
  }
  return out;
}
