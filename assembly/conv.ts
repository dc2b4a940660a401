// Convolution as GEMM: out (Cout, OH*OW) = W (Cout, Cin*KH*KW) x cols (Cin*KH*KW, OH*OW).  The column
// matrix is written straight into sgemm's packed panel layout, so no separate im2col buffer exists.
// Padding positions read as 0, as torch's zero padding.
import { NR } from "./gemm";

/**
 * Pack the im2col matrix of one image x (C, H, W) for a KH x KW kernel into 8-column panels:
 * dst[(p*K + k)*8 + c] = x[ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw], k = (ci*KH + ky)*KW + kx,
 * output pixel n = p*8 + c = oy*OW + ox.  K = C*KH*KW.  Conv1d is H = 1, KH = 1.
 */
export function im2col_pack(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, OH: i32, OW: i32, dst: usize
): void {
  const N = OH * OW;
  const K = C * KH * KW;
  const np = (N + NR - 1) / NR;
  for (let p = 0; p < np; p++) {
    const panel = dst + (<usize>p * K * NR << 2);
    for (let c = 0; c < NR; c++) {
      const n = p * NR + c;
      let d = panel + (<usize>c << 2);
      if (n >= N) {
        for (let k = 0; k < K; k++) { store<f32>(d, 0); d += NR << 2; }
        continue;
      }
      const oy = n / OW, ox = n % OW;
      const iy0 = oy * sh - ph, ix0 = ox * sw - pw;
      for (let ci = 0; ci < C; ci++) {
        const plane = x + (<usize>ci * H * W << 2);
        for (let ky = 0; ky < KH; ky++) {
          const iy = iy0 + ky * dh;
          if (<u32>iy >= <u32>H) {
            for (let kx = 0; kx < KW; kx++) { store<f32>(d, 0); d += NR << 2; }
            continue;
          }
          const row = plane + (<usize>iy * W << 2);
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * dw;
            store<f32>(d, <u32>ix < <u32>W ? load<f32>(row + (<usize>ix << 2)) : 0);
            d += NR << 2;
          }
        }
      }
    }
  }
}
