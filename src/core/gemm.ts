// Pointer-level GEMM: packing and the blocked kernel, on one thread or split into whole panels over the worker
// threads.  Callers hold their operands in scratch, inside a Heap.scope().
import { kernels, heap as getHeap, pool as getPool } from "./runtime.js";
import { panelCols, tileRows } from "./geometry.js";
import { type Buf, type WeightRef, empty, size } from "./buf.js";

export const Bias = { none: 0, perColumn: 1, perRow: 2 } as const;
export const Act = { none: 0, relu: 1 } as const;

/** K = 0: the empty sum is 0, then bias and activation, as torch gives. */
function emptyReduction(M: number, N: number, C: number, ldc: number, bias: number, act: number): void {
  const heap = getHeap();
  const b = bias ? heap.f32(bias, N) : null;
  for (let m = 0; m < M; m++) {
    const row = heap.f32(C + m * ldc * 4, N);
    for (let n = 0; n < N; n++) row[n] = act === Act.relu ? Math.max(0, b ? b[n] : 0) : b ? b[n] : 0;
  }
}

/** C (M, N) = A (M, K) x W (N, K)^T [+ bias (N)]: nn.Linear's layout. */
export function gemmNT(
  M: number,
  N: number,
  K: number,
  A: number,
  lda: number,
  W: number,
  ldw: number,
  C: number,
  ldc: number,
  bias = 0,
  act: number = Act.none,
): void {
  gemmStrided(M, N, K, A, lda, W, 1, ldw, C, ldc, bias, act);
}

/** C (M, N) = A (M, K) x B (K, N) [+ bias (N)]. */
export function gemmNN(
  M: number,
  N: number,
  K: number,
  A: number,
  lda: number,
  B: number,
  ldb: number,
  C: number,
  ldc: number,
  bias = 0,
  act: number = Act.none,
): void {
  gemmStrided(M, N, K, A, lda, B, ldb, 1, C, ldc, bias, act);
}

/** B(k, n) = B[k*rs + n*cs]: packs B into scratch, then runs the blocked kernel. */
function gemmStrided(
  M: number,
  N: number,
  K: number,
  A: number,
  lda: number,
  B: number,
  rs: number,
  cs: number,
  C: number,
  ldc: number,
  bias: number,
  act: number,
): void {
  if (K === 0) {
    emptyReduction(M, N, C, ldc, bias, act);
    return;
  }
  const k = kernels(),
    heap = getHeap();
  heap.scope(() => {
    const bp = heap.alloc(k.sgemm_packed_size(K, N) * 4);
    k.sgemm_pack_b(B, rs, cs, K, N, bp);
    gemmPacked(M, N, K, A, lda, bp, C, ldc, bias, bias ? Bias.perColumn : Bias.none, act);
  });
}

/** Below this many multiply-adds a GEMM stays on one thread (dispatch costs more than it saves). */
const PARALLEL_MIN_MACS = 1 << 20;

/** C (M, N) = A (M, K) x packed B: packs A's whole register-tile row blocks into scratch, then runs the kernel. */
export function gemmPacked(
  M: number,
  N: number,
  K: number,
  A: number,
  lda: number,
  Bp: number,
  C: number,
  ldc: number,
  bias: number,
  biasMode: number,
  act: number,
): void {
  const k = kernels(),
    heap = getHeap();
  // Own scope: callers in a loop (LSTM steps, attention heads) must not stack one A copy per call.
  heap.scope(() => {
    const ap = M >= tileRows() ? heap.alloc(k.sgemm_packed_a_size(M, K) * 4) : 0;
    if (ap) k.sgemm_pack_a(A, lda, M, K, ap);
    const pool = getPool();
    const nr = panelCols(),
      panels = Math.ceil(N / nr);
    if (pool && M * N * K >= PARALLEL_MIN_MACS && panels >= 2) {
      // Whole panels per thread: each output column is computed exactly as on one thread.
      const t = Math.min(pool.size, panels),
        jobs: number[][] = [];
      for (let i = 0; i < t; i++) {
        const p0 = Math.floor((panels * i) / t),
          p1 = Math.floor((panels * (i + 1)) / t);
        const n0 = p0 * nr,
          n1 = Math.min(N, p1 * nr);
        jobs.push([
          M,
          n1 - n0,
          K,
          A,
          lda,
          ap,
          Bp + p0 * K * nr * 4,
          C + n0 * 4,
          ldc,
          bias && biasMode === Bias.perColumn ? bias + n0 * 4 : bias,
          biasMode,
          act,
        ]);
      }
      pool.run("sgemm_packed", jobs);
      return;
    }
    k.sgemm_packed(M, N, K, A, lda, ap, Bp, C, ldc, bias, biasMode, act);
  });
}

/** Floats a K x N operand takes packed in panels. */
export const packedSize = (K: number, N: number): number => kernels().sgemm_packed_size(K, N);

/** Packs B(k, n) = src[k*rs + n*cs] (K x N) into panels at dst (packedSize(K, N) floats). */
export const packB = (src: number, rs: number, cs: number, K: number, N: number, dst: number): void =>
  kernels().sgemm_pack_b(src, rs, cs, K, N, dst);

/** Packs nn.Linear's W (N, K), row-major at src, into scratch panels; returns the pointer. */
export function packWeightScratch(src: number, N: number, K: number): number {
  const p = getHeap().alloc(packedSize(K, N) * 4);
  packB(src, 1, K, K, N, p);
  return p;
}

/** Row-major (N, K) copy of a packed nn.Linear weight (the inverse of packB with rs = 1, cs = K). */
export function unpackWeight(packed: Float32Array, N: number, K: number): Float32Array {
  const nr = panelCols();
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const p = Math.floor(n / nr),
      c = n % nr;
    for (let kk = 0; kk < K; kk++) out[n * K + kk] = packed[(p * K + kk) * nr + c];
  }
  return out;
}

/**
 * Batched C[i] (M, N) = A[aIndex[i]] (M, K) x B[bIndex[i]] (K, N) for i < aIndex.length: contiguous matrices,
 * the index lists saying which operand matrix each product reads (broadcast batch dimensions repeat an index).
 */
export function matmulBatch(
  M: number,
  N: number,
  K: number,
  A: number,
  aIndex: ArrayLike<number>,
  B: number,
  bIndex: ArrayLike<number>,
  C: number,
): void {
  if (M * N === 0) return;
  for (let i = 0; i < aIndex.length; i++) {
    gemmNN(M, N, K, A + aIndex[i] * M * K * 4, K, B + bIndex[i] * K * N * 4, N, C + i * M * N * 4, N);
  }
}

/** y (..., N) = x (..., K) W^T + b with W a packed "linear" weight (N, K).  act: 0 none, 1 relu. */
export function linear(x: Buf, w: WeightRef, b: WeightRef | null, act = 0, out?: Buf): Buf {
  const [N, K] = w.shape;
  const M = size(x) / K;
  const y = out ?? empty([...x.shape.slice(0, -1), N]);
  if (M > 0) gemmPacked(M, N, K, x.ptr, K, w.ptr, y.ptr, N, b ? b.ptr : 0, b ? Bias.perColumn : Bias.none, act);
  return y;
}

/** y (M, N) = a (M, K) b (N, K)^T for two scratch activations (packs b on the fly). */
export function linearRaw(a: Buf, b: Buf): Buf {
  const K = a.shape[a.shape.length - 1];
  const M = size(a) / K,
    N = size(b) / K;
  const y = empty([M, N]);
  if (M > 0 && N > 0) gemmNT(M, N, K, a.ptr, K, b.ptr, K, y.ptr, N);
  return y;
}
