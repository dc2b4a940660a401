// Convolution = im2col written straight into packed GEMM panels, then W (Cout/g, Cin/g*kh*kw) x cols, per batch
// item and group.  Conv1d is the H = KH = 1 case.
import { kernels, heap } from "./runtime.js";
import { type Buf, type WeightRef, empty } from "./buf.js";
import { gemmPacked, packedSize, Bias } from "./gemm.js";

export interface ConvGeometry {
  B: number;
  C: number;
  H: number;
  W: number;
  Cout: number;
  KH: number;
  KW: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Output height and width (may be < 1: the caller rejects that with its own message). */
export function convOutSize(
  g: Pick<ConvGeometry, "H" | "W" | "KH" | "KW" | "stride" | "padding" | "dilation">,
): [number, number] {
  const { H, W, KH, KW, stride: s, padding: p, dilation: d } = g;
  return [
    Math.floor((H + 2 * p[0] - d[0] * (KH - 1) - 1) / s[0]) + 1,
    Math.floor((W + 2 * p[1] - d[1] * (KW - 1) - 1) / s[1]) + 1,
  ];
}

/**
 * y (B, Cout, OH, OW) at out = conv(x (B, C, H, W), w (Cout, C/groups, KH, KW) row-major, bias (Cout) or 0);
 * act 1 applies ReLU in the GEMM's epilogue.
 */
export function convInto(x: number, w: number, bias: number, g: ConvGeometry, act: number, out: number): void {
  const k = kernels(),
    h = heap();
  const { B, C, H, W, Cout, KH, KW, stride: s, padding: p, dilation: d, groups } = g;
  const [OH, OW] = convOutSize(g);
  const Cg = C / groups,
    Og = Cout / groups,
    N = OH * OW,
    K = Cg * KH * KW;
  h.scope(() => {
    const cols = h.alloc(packedSize(K, N) * 4);
    for (let bi = 0; bi < B; bi++) {
      for (let gi = 0; gi < groups; gi++) {
        k.im2col_pack(
          x + (bi * C + gi * Cg) * H * W * 4,
          Cg,
          H,
          W,
          KH,
          KW,
          s[0],
          s[1],
          p[0],
          p[1],
          d[0],
          d[1],
          OH,
          OW,
          cols,
        );
        gemmPacked(
          Og,
          N,
          K,
          w + gi * Og * K * 4,
          K,
          cols,
          out + (bi * Cout + gi * Og) * N * 4,
          N,
          bias ? bias + gi * Og * 4 : 0,
          bias ? Bias.perRow : Bias.none,
          act,
        );
      }
    }
  });
}

/** Convolution over x (B, C, H, W) with a raw weight (Cout, C/groups, KH, KW) or (Cout, C/groups, KW) for conv1d. */
export function conv(
  x: Buf,
  w: WeightRef,
  b: WeightRef | null,
  stride: [number, number],
  padding: [number, number],
  dilation: [number, number],
  groups: number,
  act = 0,
): Buf {
  const [B, C, H, W] = x.shape;
  const [Cout, , KH, KW] = w.shape.length === 4 ? w.shape : [w.shape[0], w.shape[1], 1, w.shape[2]];
  const g: ConvGeometry = { B, C, H, W, Cout, KH, KW, stride, padding, dilation, groups };
  const [OH, OW] = convOutSize(g);
  const y = empty([B, Cout, OH, OW]);
  convInto(x.ptr, w.ptr, b ? b.ptr : 0, g, act, y.ptr);
  return y;
}
