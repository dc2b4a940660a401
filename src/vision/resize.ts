// torchvision 0.14 tensor resize with antialias=True (torch's _upsample_{bilinear,bicubic}2d_aa): separable
// PIL-style filters (triangle; cubic with a = -0.5) whose support widens with the downscale factor, width pass
// then height pass, float32 weights normalised to sum 1 and float32 accumulation, as the CPU kernel does.
// Only + - * / (each rounded with Math.fround), so every engine gives the same bits.
const f = Math.fround;

export type Interpolation = "bilinear" | "bicubic";

function filter(kind: Interpolation, x: number): number {
  x = Math.abs(x);
  if (kind === "bilinear") return x < 1 ? f(1 - x) : 0;
  const a = -0.5;
  if (x < 1) return f(f(f(f(a + 2) * x) - f(a + 3)) * f(x * x) + 1);
  if (x < 2) return f(f(f(f(f(f(a * x) - f(5 * a)) * x) + f(8 * a)) * x) - f(4 * a));
  return 0;
}

/** Per output index: first input index, count and normalised weights. */
function weights(
  kind: Interpolation,
  inSize: number,
  outSize: number,
): { start: Int32Array; size: Int32Array; w: Float32Array; stride: number } {
  const scale = f(inSize / outSize);
  const support = f((kind === "bilinear" ? 1 : 2) * (scale >= 1 ? scale : 1));
  const invscale = scale >= 1 ? f(1 / scale) : 1;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize),
    size = new Int32Array(outSize),
    w = new Float32Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = f(scale * f(i + 0.5));
    const xmin = Math.max(Math.trunc(f(f(center - support) + 0.5)), 0);
    const xsize = Math.min(Math.trunc(f(f(center + support) + 0.5)), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const v = filter(kind, f(f(f(j + xmin) - center + 0.5) * invscale));
      w[i * stride + j] = v;
      total = f(total + v);
    }
    for (let j = 0; j < xsize; j++) w[i * stride + j] = total !== 0 ? f(w[i * stride + j] / total) : 0;
    start[i] = xmin;
    size[i] = xsize;
  }
  return { start, size, w, stride };
}

/**
 * Resizes a planar float image (C, H, W) to (C, outH, outW).  Returns float32 values (not rounded).
 *
 * `pixelStride` > 0 reads `src` as interleaved 8-bit pixels instead, (H, W, pixelStride) with the C channels first
 * in each pixel (decoded RGB or RGBA): the same values (0..255 either way), so the same bits, without a planar
 * float copy of a large image (a 640x480 photo: 3.7 MB per image that the width pass would read once).  It
 * needs outW !== W, since the width pass is what reads the source.
 */
export function resizePlanar(
  src: Float32Array | Uint8Array,
  C: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  kind: Interpolation,
  pixelStride = 0,
): Float32Array {
  if (pixelStride && outW === W) throw new Error("resizePlanar: an interleaved source needs a width change");
  let cur = src,
    h = H,
    w = W;
  if (outW !== W) {
    const k = weights(kind, W, outW);
    const tmp = new Float32Array(C * h * outW);
    // element (c, y, x) of the source is cur[row + x * step]
    const step = pixelStride || 1;
    for (let c = 0; c < C; c++)
      for (let y = 0; y < h; y++) {
        const row = pixelStride ? y * w * pixelStride + c : (c * h + y) * w,
          orow = (c * h + y) * outW;
        for (let x = 0; x < outW; x++) {
          const s = k.start[x],
            n = k.size[x],
            o = x * k.stride;
          let t = f(cur[row + s * step] * k.w[o]);
          for (let j = 1; j < n; j++) t = f(t + f(cur[row + (s + j) * step] * k.w[o + j]));
          tmp[orow + x] = t;
        }
      }
    cur = tmp;
    w = outW;
  }
  if (outH !== H) {
    const k = weights(kind, H, outH);
    const tmp = new Float32Array(C * outH * w);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < outH; y++) {
        const s = k.start[y],
          n = k.size[y],
          o = y * k.stride;
        const orow = (c * outH + y) * w;
        for (let x = 0; x < w; x++) {
          let t = f(cur[(c * h + s) * w + x] * k.w[o]);
          for (let j = 1; j < n; j++) t = f(t + f(cur[(c * h + s + j) * w + x] * k.w[o + j]));
          tmp[orow + x] = t;
        }
      }
    cur = tmp;
    h = outH;
  }
  return cur === src ? (src as Float32Array).slice() : (cur as Float32Array);
}
