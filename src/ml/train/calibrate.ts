// Temperature scaling (Guo et al. 2017): one scalar T minimising validation NLL of softmax(z/T).
import { softmax } from '../head/head.ts';

export function nll(logits: Float32Array[], y: ArrayLike<number>, T: number): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++)
    s -= Math.log(Math.max(softmax(logits[i], T)[y[i]], 1e-12));
  return s / logits.length;
}

/** Golden-section search on log T in [log 0.05, log 20]; NLL is unimodal in T in practice. */
export function fitTemperature(logits: Float32Array[], y: ArrayLike<number>): number {
  let a = Math.log(0.05);
  let b = Math.log(20);
  const r = (Math.sqrt(5) - 1) / 2;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = nll(logits, y, Math.exp(c));
  let fd = nll(logits, y, Math.exp(d));
  for (let i = 0; i < 60; i++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = nll(logits, y, Math.exp(c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = nll(logits, y, Math.exp(d));
    }
  }
  return Math.exp((a + b) / 2);
}
