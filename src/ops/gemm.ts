// Pointer-level GEMM helpers for ops that already hold their operands in scratch.  They pack B into scratch
// and run the blocked kernel; callers are inside a Heap.scope().
import { rt } from "../bindings/module.js";

export const Bias = { none: 0, perColumn: 1, perRow: 2 } as const;
export const Act = { none: 0, relu: 1 } as const;

/** K = 0: the empty sum is 0, then bias and activation, as torch gives. */
function emptyReduction(M: number, N: number, C: number, ldc: number, bias: number, act: number): void {
  const { heap } = rt();
  const b = bias ? heap.f32(bias, N) : null;
  for (let m = 0; m < M; m++) {
    const row = heap.f32(C + m * ldc * 4, N);
    for (let n = 0; n < N; n++) row[n] = act === Act.relu ? Math.max(0, b ? b[n] : 0) : b ? b[n] : 0;
  }
}

/** C (M, N) = A (M, K) x W (N, K)^T [+ bias (N)]: nn.Linear's layout. */
export function gemmNT(
  M: number, N: number, K: number, A: number, lda: number, W: number, ldw: number,
  C: number, ldc: number, bias = 0, act: number = Act.none,
): void {
  gemmStrided(M, N, K, A, lda, W, 1, ldw, C, ldc, bias, act);
}

/** C (M, N) = A (M, K) x B (K, N) [+ bias (N)]. */
export function gemmNN(
  M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number,
  C: number, ldc: number, bias = 0, act: number = Act.none,
): void {
  gemmStrided(M, N, K, A, lda, B, ldb, 1, C, ldc, bias, act);
}

/** B(k, n) = B[k*rs + n*cs]: packs B into scratch, then runs the blocked kernel. */
function gemmStrided(
  M: number, N: number, K: number, A: number, lda: number, B: number, rs: number, cs: number,
  C: number, ldc: number, bias: number, act: number,
): void {
  if (K === 0) return emptyReduction(M, N, C, ldc, bias, act);
  const { k, heap } = rt();
  heap.scope(() => {
    const bp = heap.alloc(k.sgemm_packed_size(K, N) * 4);
    k.sgemm_pack_b(B, rs, cs, K, N, bp);
    gemmPacked(M, N, K, A, lda, bp, C, ldc, bias, bias ? Bias.perColumn : Bias.none, act);
  });
}

/** C (M, N) = A (M, K) x packed B: packs A's whole 4-row blocks into scratch, then runs the kernel. */
/** Below this many multiply-adds a GEMM stays on one thread (dispatch costs more than it saves). */
const PARALLEL_MIN_MACS = 1 << 20;

export function gemmPacked(
  M: number, N: number, K: number, A: number, lda: number, Bp: number, C: number, ldc: number,
  bias: number, biasMode: number, act: number,
): void {
  const { k, heap } = rt();
  // Own scope: callers in a loop (LSTM steps, attention heads) must not stack one A copy per call.
  heap.scope(() => {
    const ap = M >= 4 ? heap.alloc(k.sgemm_packed_a_size(M, K) * 4) : 0;
    if (ap) k.sgemm_pack_a(A, lda, M, K, ap);
    const pool = rt().pool;
    const panels = Math.ceil(N / 8);
    if (pool && M * N * K >= PARALLEL_MIN_MACS && panels >= 2) {
      // Whole 8-column panels per thread: each output column is computed exactly as on one thread.
      const t = Math.min(pool.size, panels), jobs: number[][] = [];
      for (let i = 0; i < t; i++) {
        const p0 = Math.floor((panels * i) / t), p1 = Math.floor((panels * (i + 1)) / t);
        const n0 = p0 * 8, n1 = Math.min(N, p1 * 8);
        jobs.push([M, n1 - n0, K, A, lda, ap, Bp + p0 * K * 8 * 4, C + n0 * 4, ldc,
          bias && biasMode === Bias.perColumn ? bias + n0 * 4 : bias, biasMode, act]);
      }
      pool.run("sgemm_packed", jobs);
      return;
    }
    k.sgemm_packed(M, N, K, A, lda, ap, Bp, C, ldc, bias, biasMode, act);
  });
}
