// Pillow's Image.resize on 8-bit images (libImaging/Resample.c), bit for bit: what Hugging Face image processors
// run (they resize through PIL).  Separable, horizontal pass first, each pass with 22-bit fixed-point coefficients
// and a clip to uint8 in between.  Coefficients come from double arithmetic on +, -, *, / only (no Math.sin or
// Math.cos), so every engine gets the same integers; filters needing those (LANCZOS, HAMMING) are refused.

/** PIL's resample codes this implements: 2 BILINEAR, 3 BICUBIC, 4 BOX. */
export const PIL_FILTERS: Record<number, { name: string; support: number; filter: (x: number) => number }> = {
  2: {
    name: "BILINEAR",
    support: 1,
    filter: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  3: {
    name: "BICUBIC",
    support: 2,
    filter: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  4: { name: "BOX", support: 0.5, filter: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
};
const PIL_NAMES: Record<number, string> = { 0: "NEAREST", 1: "LANCZOS", 5: "HAMMING" };

const PRECISION_BITS = 32 - 8 - 2;

interface Coeffs {
  ksize: number;
  bounds: Int32Array;
  kk: Int32Array;
}

/** precompute_coeffs + normalize_coeffs_8bpc for one axis: inSize -> outSize over the whole input. */
function coeffs(inSize: number, outSize: number, resample: number): Coeffs {
  const f = PIL_FILTERS[resample];
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2),
    kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5); // C's (int) cast
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      kk[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/** clip8: the accumulator's integer part (arithmetic shift) clamped to 0..255. */
function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

/**
 * PIL `Image.resize((ow, oh), resample)` of interleaved 8-bit pixels (h, w, C) -> (oh, ow, C).  resample: 2
 * BILINEAR, 3 BICUBIC (Hugging Face's default), 4 BOX.
 * @example
 * const small = resizePIL(rgb, 480, 640, 3, 224, 298, 3); // as PIL.Image.resize((298, 224), Image.BICUBIC)
 */
export function resizePIL(
  src: Uint8Array,
  h: number,
  w: number,
  C: number,
  oh: number,
  ow: number,
  resample = 3,
): Uint8Array {
  if (!PIL_FILTERS[resample]) {
    throw new Error(
      `resizePIL: resample ${resample}${PIL_NAMES[resample] ? ` (${PIL_NAMES[resample]})` : ""} is not supported; ` +
        `supported: ${Object.entries(PIL_FILTERS)
          .map(([k, v]) => `${k} (${v.name})`)
          .join(", ")}`,
    );
  }
  for (const [n, v] of [
    ["h", h],
    ["w", w],
    ["oh", oh],
    ["ow", ow],
    ["C", C],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resizePIL: ${n} must be a positive integer, got ${v}`);
  }
  if (src.length !== h * w * C)
    throw new Error(`resizePIL: ${h}x${w}x${C} pixels need ${h * w * C} bytes, got ${src.length}`);
  const half = 1 << (PRECISION_BITS - 1);
  let img = src,
    iw = w;
  if (ow !== w) {
    // horizontal pass (PIL runs it only over the rows the vertical pass reads; the values are the same)
    const { ksize, bounds, kk } = coeffs(w, ow, resample);
    const out = new Uint8Array(h * ow * C);
    for (let y = 0; y < h; y++) {
      const row = y * w * C;
      for (let xx = 0; xx < ow; xx++) {
        const xmin = bounds[xx * 2],
          xmax = bounds[xx * 2 + 1],
          k0 = xx * ksize;
        for (let c = 0; c < C; c++) {
          let ss = half;
          for (let x = 0; x < xmax; x++) ss += src[row + (x + xmin) * C + c] * kk[k0 + x];
          out[(y * ow + xx) * C + c] = clip8(ss);
        }
      }
    }
    img = out;
    iw = ow;
  }
  if (oh === h) return img === src ? src.slice() : img;
  const { ksize, bounds, kk } = coeffs(h, oh, resample);
  const out = new Uint8Array(oh * iw * C);
  const acc = new Int32Array(iw * C);
  for (let yy = 0; yy < oh; yy++) {
    const ymin = bounds[yy * 2],
      ymax = bounds[yy * 2 + 1],
      k0 = yy * ksize;
    acc.fill(half);
    for (let y = 0; y < ymax; y++) {
      const kv = kk[k0 + y],
        row = (y + ymin) * iw * C;
      for (let i = 0; i < iw * C; i++) acc[i] += img[row + i] * kv; // exact: |sum| < 2^31 (see PRECISION_BITS)
    }
    for (let i = 0; i < iw * C; i++) out[yy * iw * C + i] = clip8(acc[i]);
  }
  return out;
}
