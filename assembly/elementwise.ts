// Elementwise kernels over n floats.  Every kernel may run in place (out == x); a body of 4-float vectors
// and a scalar tail that goes through the same vector code on lane 0, so the result of an element does not
// depend on its position or on n.
import { vexp, vlog, vtanh, vsigmoid, vgelu } from "./vmath";

// Unary op codes shared with src/bindings/kernels.ts.
export const OP_RELU: i32 = 0;
export const OP_GELU: i32 = 1;
export const OP_SIGMOID: i32 = 2;
export const OP_TANH: i32 = 3;
export const OP_EXP: i32 = 4;
export const OP_LOG: i32 = 5;

@inline function apply(op: i32, v: v128): v128 {
  switch (op) {
    case OP_RELU: return f32x4.max(v, f32x4.splat(0));
    case OP_GELU: return vgelu(v);
    case OP_SIGMOID: return vsigmoid(v);
    case OP_TANH: return vtanh(v);
    case OP_EXP: return vexp(v);
    default: return vlog(v);
  }
}

/** out[i] = op(x[i]). (n) */
export function unary_f32(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  if (op == OP_RELU) {
    // relu(NaN) is NaN in torch; f32x4.max propagates NaN too.
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_RELU, v128.load(x + (<usize>i << 2))));
  } else if (op == OP_GELU) {
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_GELU, v128.load(x + (<usize>i << 2))));
  } else if (op == OP_SIGMOID) {
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_SIGMOID, v128.load(x + (<usize>i << 2))));
  } else if (op == OP_TANH) {
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_TANH, v128.load(x + (<usize>i << 2))));
  } else if (op == OP_EXP) {
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_EXP, v128.load(x + (<usize>i << 2))));
  } else {
    for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), apply(OP_LOG, v128.load(x + (<usize>i << 2))));
  }
  for (; i < n; i++) {
    const p = <usize>i << 2;
    store<f32>(out + p, f32x4.extract_lane(apply(op, f32x4.splat(load<f32>(x + p))), 0));
  }
}

// Binary op codes.
export const OP_ADD: i32 = 0;
export const OP_SUB: i32 = 1;
export const OP_MUL: i32 = 2;
export const OP_DIV: i32 = 3;

@inline function bin(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case OP_ADD: return f32x4.add(a, b);
    case OP_SUB: return f32x4.sub(a, b);
    case OP_MUL: return f32x4.mul(a, b);
    default: return f32x4.div(a, b);
  }
}

/**
 * out(r, c) = a(r, c) op b(r % bRows, c) for a (rows, cols); b (bRows, cols) broadcast over rows
 * (bRows = rows: same shape; bRows = 1: a bias row).  out may alias a or b.
 */
export function binary_f32(op: i32, a: usize, b: usize, out: usize, rows: i32, cols: i32, bRows: i32): void {
  for (let r = 0; r < rows; r++) {
    const pa = a + (<usize>r * cols << 2);
    const pb = b + (<usize>(r % bRows) * cols << 2);
    const po = out + (<usize>r * cols << 2);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(po + o, bin(op, v128.load(pa + o), v128.load(pb + o)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(po + o, f32x4.extract_lane(bin(op, f32x4.splat(load<f32>(pa + o)), f32x4.splat(load<f32>(pb + o))),
          0));
    }
  }
}

/** out[i] = x[i] * s + t. (n) */
export function affine_f32(x: usize, out: usize, n: i32, s: f32, t: f32): void {
  const vs = f32x4.splat(s), vt = f32x4.splat(t);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(v128.load(x + o), vs), vt));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * s + t);
  }
}

/** out[i] = log(x[i] + eps): the log-mel step of the seed's AudioFeatureExtractor. (n) */
export function log_eps_f32(x: usize, out: usize, n: i32, eps: f32): void {
  const ve = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, vlog(f32x4.add(v128.load(x + o), ve)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(vlog(f32x4.splat(load<f32>(x + o) + eps)), 0));
  }
}

/** Counts non-finite floats (NaN, +-inf) in x. (n) */
export function count_nonfinite_f32(x: usize, n: i32): i32 {
  let bad = i32x4.splat(0);
  const expMask = i32x4.splat(0x7f800000);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    bad = i32x4.sub(bad, i32x4.eq(v128.and(v, expMask), expMask));
  }
  let c = i32x4.extract_lane(bad, 0) + i32x4.extract_lane(bad, 1) + i32x4.extract_lane(bad, 2) +
      i32x4.extract_lane(bad, 3);
  for (; i < n; i++) if ((load<u32>(x + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) c++;
  return c;
}
