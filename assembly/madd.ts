// The one multiply-add every f32 product kernel (GEMM, GEMV, so convolution, attention and LSTM) accumulates with.
//
// The exact build (the default) multiplies, rounds, then adds and rounds: two WebAssembly SIMD instructions whose
// results are the same on every engine and CPU.  The relaxed build (asc --enable relaxed-simd, loaded by
// init({ simd: "relaxed" })) uses f32x4.relaxed_madd instead: one fused multiply-add, rounded once, on every x86-64
// CPU with FMA3 and on arm64, where it is as deterministic as the exact build, only different from it.  On a CPU
// without FMA the engine computes it as mul then add, which is the exact build's bits.  The choice is made at
// compile time (ASC_FEATURE_RELAXED_SIMD), so each build holds one instruction sequence and no branch.

/** c + a * b, fused in the relaxed build. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
