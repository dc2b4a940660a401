// sentence-transformers' Pooling over token states (sentence_transformers/models/Pooling.py): mean over the
// unmasked tokens (their sum over max(count, 1e-9)), the CLS (first) token, max over the unmasked tokens (masked ones
// at -1e9), or the last unmasked token (right padding).  Sums run token by token in float32.  Reference:
// reference/hf_bert.py's pool().
export const POOLING_MODES = ["mean", "cls", "max", "lasttoken"] as const;
export type PoolingMode = (typeof POOLING_MODES)[number];

/** states (B, T, H) row-major, mask (B, T) (1: a token; null: none padded) -> (B, H) */
export function poolTokens(
  states: Float32Array,
  mask: Int32Array | null,
  B: number,
  T: number,
  H: number,
  mode: PoolingMode,
): Float32Array {
  const out = new Float32Array(B * H),
    on = (b: number, t: number) => mask?.[b * T + t] !== 0;
  for (let b = 0; b < B; b++) {
    const o = out.subarray(b * H, (b + 1) * H),
      row = (t: number) => states.subarray((b * T + t) * H, (b * T + t + 1) * H);
    if (mode === "cls") o.set(row(0));
    else if (mode === "lasttoken") {
      let last = 0;
      for (let t = 0; t < T; t++) if (on(b, t)) last = t;
      o.set(row(last));
    } else if (mode === "max") {
      o.fill(-Infinity);
      for (let t = 0; t < T; t++) {
        const r = row(t),
          live = on(b, t);
        for (let j = 0; j < H; j++) {
          const v = live ? r[j] : -1e9;
          if (v > o[j]) o[j] = v;
        }
      }
      for (let j = 0; j < H; j++) o[j] = Math.fround(o[j]);
    } else {
      let count = 0;
      for (let t = 0; t < T; t++) {
        if (!on(b, t)) continue;
        count++;
        const r = row(t);
        for (let j = 0; j < H; j++) o[j] = Math.fround(o[j] + r[j]);
      }
      const n = Math.fround(Math.max(count, 1e-9));
      for (let j = 0; j < H; j++) o[j] = Math.fround(o[j] / n);
    }
  }
  return out;
}
