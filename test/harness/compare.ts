// Error measures as ggml's test-backend-ops reports them: max-abs error, max error scaled by max(1, |ref|),
// and NMSE = sum((a - ref)^2) / sum(ref^2).
export interface ErrorStats {
  maxAbs: number;
  maxScaled: number;
  nmse: number;
  worstIndex: number;
}

export function compare(actual: ArrayLike<number>, ref: ArrayLike<number>): ErrorStats {
  if (actual.length !== ref.length) throw new Error(`length mismatch: ${actual.length} vs ${ref.length}`);
  let maxAbs = 0,
    maxScaled = 0,
    num = 0,
    den = 0,
    worstIndex = -1;
  for (let i = 0; i < ref.length; i++) {
    const a = actual[i],
      r = ref[i];
    if (Number.isNaN(r) || Number.isNaN(a)) {
      if (Number.isNaN(r) !== Number.isNaN(a))
        return { maxAbs: Infinity, maxScaled: Infinity, nmse: Infinity, worstIndex: i };
      continue;
    }
    if (!Number.isFinite(r) || !Number.isFinite(a)) {
      if (a !== r) return { maxAbs: Infinity, maxScaled: Infinity, nmse: Infinity, worstIndex: i };
      continue;
    }
    const d = Math.abs(a - r);
    const s = d / Math.max(1, Math.abs(r));
    if (d > maxAbs) maxAbs = d;
    if (s > maxScaled) {
      maxScaled = s;
      worstIndex = i;
    }
    num += d * d;
    den += r * r;
  }
  return { maxAbs, maxScaled, nmse: den > 0 ? num / den : num, worstIndex };
}

/** Max relative error over entries whose reference exceeds floor x max|ref| (the spectral measure). */
export function maxRelAbove(actual: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Math.abs(ref[i]) > floor * m) worst = Math.max(worst, Math.abs(actual[i] - ref[i]) / Math.abs(ref[i]));
  }
  return worst;
}

/** FNV-1a over the bytes of a typed array: a cheap bit-exact fingerprint. */
export function hashBits(data: ArrayBufferView): string {
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < u8.length; i++) {
    h ^= u8[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** maxRelAbove for interleaved (re, im) pairs, on complex magnitudes. */
export function maxRelComplexAbove(actual: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  let m = 0;
  for (let i = 0; i < ref.length; i += 2) m = Math.max(m, Math.hypot(ref[i], ref[i + 1]));
  let worst = 0;
  for (let i = 0; i < ref.length; i += 2) {
    const r = Math.hypot(ref[i], ref[i + 1]);
    if (r > floor * m) worst = Math.max(worst, Math.hypot(actual[i] - ref[i], actual[i + 1] - ref[i + 1]) / r);
  }
  return worst;
}
