// A scalar reference of the relaxed build's f32 product: float32 fused multiply-add, rounded once, in plain
// JavaScript doubles.  a * b is exact in a double (24 + 24 bits); a + b's rounding error comes back exactly from
// TwoSum; the double is then rounded to float32, and only a double that lies exactly halfway between two floats
// could round the wrong way (double rounding), which the error term's sign settles.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 next to x (a float32) in the direction of `toward`. */
function nextFloat(x: number, toward: number): number {
  f32[0] = x;
  if (x === 0) u32[0] = toward > 0 ? 1 : 0x80000001;
  else u32[0] += x < toward === x > 0 ? 1 : -1;
  return f32[0];
}

/** fl32(a * b + c) rounded once (a, b, c float32 values). */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const e = p - (s - bb) + (c - bb); // s + e = p + c exactly
  let r = Math.fround(s);
  if (r !== s && e !== 0) {
    const other = nextFloat(r, s);
    if ((r + other) / 2 === s) r = e > 0 === other > r ? other : r; // a tie only in the double: e decides
  }
  return r;
}

/** The kernel's summation block (assembly/gemm-tile.ts SB): each run of SB products gets its own accumulator. */
const SB = 64;

/**
 * C (M, N) = A (M, K) W^T (+ bias) as the relaxed build sums it: per block acc = fma(a, w, acc) in k order, block sums
 * added to C in order, then + bias (as (c + bias) + 0), then ReLU when asked.
 */
export function relaxedLinearRef(
  A: Float32Array,
  W: Float32Array,
  bias: Float32Array | null,
  M: number,
  N: number,
  K: number,
  relu = false,
): Float32Array {
  const C = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let c = 0;
      for (let k0 = 0; k0 < K; k0 += SB) {
        let acc = 0;
        for (let k = k0; k < Math.min(K, k0 + SB); k++) acc = fma32(A[m * K + k], W[n * K + k], acc);
        c = k0 === 0 ? acc : Math.fround(c + acc);
      }
      let r = Math.fround(Math.fround(c + (bias ? bias[n] : 0)) + 0);
      if (relu) r = Math.max(r, 0);
      C[m * N + n] = r;
    }
  return C;
}
