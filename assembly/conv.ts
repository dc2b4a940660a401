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
    const n0 = p * NR;
    if (n0 + NR <= N && (n0 % OW) + NR <= OW) {
      rowPanel(x, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, n0 / OW, n0 % OW, panel);
      continue;
    }
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

/**
 * A panel whose 8 output pixels lie in one output row (oy, ox0..ox0+7): for each k the 8 inputs are
 * x[ci, iy, ix0 + c*sw], written as two vectors.  Rows outside the image are zeros; a run that touches the
 * left or right padding falls back to per-element checks.
 */
function rowPanel(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32,
  oy: i32, ox0: i32, panel: usize
): void {
  let d = panel;
  const z = f32x4.splat(0);
  const span = (NR - 1) * sw;
  for (let ci = 0; ci < C; ci++) {
    const plane = x + (<usize>ci * H * W << 2);
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * sh - ph + ky * dh;
      if (<u32>iy >= <u32>H) {
        for (let kx = 0; kx < KW; kx++) { v128.store(d, z); v128.store(d, z, 16); d += NR << 2; }
        continue;
      }
      const row = plane + (<usize>iy * W << 2);
      for (let kx = 0; kx < KW; kx++) {
        const ix0 = ox0 * sw - pw + kx * dw;
        if (ix0 >= 0 && ix0 + span < W) {
          const s = row + (<usize>ix0 << 2);
          if (sw == 1) {
            v128.store(d, v128.load(s));
            v128.store(d, v128.load(s, 16), 16);
          } else {
            const st = <usize>sw << 2;
            let v0 = v128.load32_splat(s);
            v0 = f32x4.replace_lane(v0, 1, load<f32>(s + st));
            v0 = f32x4.replace_lane(v0, 2, load<f32>(s + 2 * st));
            v0 = f32x4.replace_lane(v0, 3, load<f32>(s + 3 * st));
            let v1 = v128.load32_splat(s + 4 * st);
            v1 = f32x4.replace_lane(v1, 1, load<f32>(s + 5 * st));
            v1 = f32x4.replace_lane(v1, 2, load<f32>(s + 6 * st));
            v1 = f32x4.replace_lane(v1, 3, load<f32>(s + 7 * st));
            v128.store(d, v0);
            v128.store(d, v1, 16);
          }
        } else {
          for (let c = 0; c < NR; c++) {
            const ix = ix0 + c * sw;
            store<f32>(d + (<usize>c << 2), <u32>ix < <u32>W ? load<f32>(row + (<usize>ix << 2)) : 0);
          }
        }
        d += NR << 2;
      }
    }
  }
}
