// XNNPACK-style kernel tests at the pointer level: each kernel at n = 1, n < 4, n % 4 != 0, unaligned
// pointers and in place, against float64 references; GEMM over edge sizes with strides and batch invariance.
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { rt } from "../src/bindings/module.js";
import { UnaryOp } from "../src/bindings/exports.js";
import { gemmNT, gemmNN } from "../src/core/index.js";
import { unaryRef, unaryRange } from "./harness/ref64.js";

beforeAll(async () => {
  await init();
});

const SIZES = [1, 2, 3, 4, 5, 7, 8, 15, 17, 65];

/** Deterministic pseudo-random floats in [lo, hi] (log-uniform for positive ranges spanning decades). */
function fill(n: number, lo: number, hi: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    out[i] = lo > 0 && hi / lo > 1e3 ? lo * Math.pow(hi / lo, u) : lo + (hi - lo) * u;
  }
  return out;
}

describe("unary kernels: edge sizes, unaligned, in place", () => {
  for (const [name, code] of Object.entries(UnaryOp)) {
    it(name, () => {
      const { k, heap } = rt();
      const [lo, hi] = unaryRange[name];
      // 4 ulp relative for the transcendental ops; exact for relu.
      const tol = name === "relu" ? 0 : name === "gelu" ? 3e-7 : 4 * 2 ** -23;
      for (const n of SIZES) {
        for (const misalign of [0, 4, 8]) {
          heap.scope(() => {
            const x = fill(n, lo, hi, n * 31 + misalign);
            const base = heap.alloc(n * 4 + 64) + misalign;
            const outp = heap.alloc(n * 4 + 64) + misalign;
            heap.f32(base, n).set(x);
            k.unary_f32(code, base, outp, n);
            const out = heap.f32(outp, n).slice();
            k.unary_f32(code, base, base, n); // in place
            const inPlace = heap.f32(base, n).slice();
            expect(Array.from(inPlace), `${name} n=${n} in place`).toEqual(Array.from(out));
            for (let i = 0; i < n; i++) {
              const ref = unaryRef[name](x[i]);
              const err =
                name === "gelu"
                  ? Math.abs(out[i] - ref) / Math.max(1, Math.abs(ref))
                  : Math.abs(out[i] - ref) / Math.max(Math.abs(ref), 1e-30);
              expect(
                err,
                `${name}(${x[i]}) = ${out[i]}, float64 ${ref}, n=${n} misalign=${misalign}`,
              ).toBeLessThanOrEqual(tol);
            }
          });
        }
      }
    });
  }

  it("a value's result does not depend on its position or on n", () => {
    const { k, heap } = rt();
    heap.scope(() => {
      const x = fill(65, -9, 9, 7);
      const p = heap.put(x),
        o = heap.alloc(65 * 4);
      for (const code of Object.values(UnaryOp)) {
        if (code === UnaryOp.log) continue;
        k.unary_f32(code, p, o, 65);
        const full = heap.f32(o, 65).slice();
        for (const i of [0, 3, 4, 63, 64]) {
          k.unary_f32(code, p + i * 4, o, 1);
          expect(heap.f32(o, 1)[0]).toBe(full[i]);
        }
      }
    });
  });

  it("special values: NaN stays NaN, exp and log at the ends of f32", () => {
    const { k, heap } = rt();
    heap.scope(() => {
      const x = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 100, -100, 1e-45]);
      const p = heap.put(x),
        o = heap.alloc(32);
      k.unary_f32(UnaryOp.exp, p, o, 8);
      const e = heap.f32(o, 8);
      expect(Number.isNaN(e[0])).toBe(true);
      expect([e[1], e[2], e[3], e[4], e[5], e[6]]).toEqual([Infinity, 0, 1, 1, Infinity, 0]);
      k.unary_f32(UnaryOp.log, p, o, 8);
      const l = heap.f32(o, 8);
      expect(Number.isNaN(l[0])).toBe(true);
      expect([l[1], l[3], l[4]]).toEqual([Infinity, -Infinity, -Infinity]);
      expect(Number.isNaN(l[2])).toBe(true);
      k.unary_f32(UnaryOp.tanh, p, o, 8);
      const t = heap.f32(o, 8);
      expect([t[1], t[2], t[5], t[6]]).toEqual([1, -1, 1, -1]);
      k.unary_f32(UnaryOp.sigmoid, p, o, 8);
      const s = heap.f32(o, 8);
      expect([s[1], s[2], s[3]]).toEqual([1, 0, 0.5]);
    });
  });
});

describe("row kernels: softmax and layer norm at edge sizes", () => {
  it("softmax / log_softmax vs float64, unaligned and in place", () => {
    const { k, heap } = rt();
    for (const n of SIZES) {
      for (const log of [0, 1]) {
        heap.scope(() => {
          const rows = 3;
          const x = fill(rows * n, -20, 20, n + log);
          const p = heap.alloc(rows * n * 4 + 16) + 4;
          heap.f32(p, rows * n).set(x);
          const o = heap.alloc(rows * n * 4 + 16) + 8;
          k.softmax_f32(p, o, rows, n, 0, 1, log);
          const out = heap.f32(o, rows * n).slice();
          k.softmax_f32(p, p, rows, n, 0, 1, log);
          expect(Array.from(heap.f32(p, rows * n))).toEqual(Array.from(out));
          for (let r = 0; r < rows; r++) {
            const row = Array.from(x.subarray(r * n, (r + 1) * n));
            const m = Math.max(...row);
            const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
            for (let i = 0; i < n; i++) {
              const ref = log ? row[i] - m - Math.log(s) : Math.exp(row[i] - m) / s;
              expect(
                Math.abs(out[r * n + i] - ref) / Math.max(1, Math.abs(ref)),
                `n=${n} log=${log}`,
              ).toBeLessThanOrEqual(1e-6);
            }
          }
        });
      }
    }
  });

  it("layer norm vs float64 (tolerance grows with n)", () => {
    const { k, heap } = rt();
    for (const n of [...SIZES, 768]) {
      heap.scope(() => {
        const rows = 2;
        const x = fill(rows * n, -3, 5, n);
        const w = fill(n, -2, 2, n + 1),
          b = fill(n, -1, 1, n + 2);
        const p = heap.alloc(rows * n * 4 + 16) + 4;
        heap.f32(p, rows * n).set(x);
        const pw = heap.put(w),
          pb = heap.put(b);
        k.layernorm_f32(p, p, rows, n, pw, pb, 1e-5);
        const out = heap.f32(p, rows * n);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * n, (r + 1) * n));
          const mean = row.reduce((a, v) => a + v, 0) / n;
          const v = row.reduce((a, t) => a + (t - mean) ** 2, 0) / n;
          for (let i = 0; i < n; i++) {
            const ref = ((row[i] - mean) / Math.sqrt(v + 1e-5)) * w[i] + b[i];
            expect(Math.abs(out[r * n + i] - ref) / Math.max(1, Math.abs(ref)), `n=${n}`).toBeLessThanOrEqual(
              2e-6 * Math.max(1, Math.sqrt(n / 64)),
            );
          }
        }
      });
    }
  });
});

describe("GEMM: edge sizes, strides, batch invariance", () => {
  const dims = [1, 3, 4, 5, 8, 9, 17, 65];
  it("A x W^T and A x B vs float64 over M, N, K in {1, 3, 4, 5, 8, 9, 17, 65} with padded strides", () => {
    const { heap } = rt();
    for (const M of dims)
      for (const N of dims)
        for (const K of [1, 5, 17, 65, 300]) {
          heap.scope(() => {
            const lda = K + 3,
              ldw = K + 1,
              ldc = N + 2;
            const A = fill(M * lda, -1, 1, M * 7 + K),
              W = fill(N * ldw, -1, 1, N * 13 + K),
              bias = fill(N, -1, 1, N);
            const pa = heap.put(A),
              pw = heap.put(W),
              pbias = heap.put(bias);
            const pc = heap.alloc(M * ldc * 4);
            gemmNT(M, N, K, pa, lda, pw, ldw, pc, ldc, pbias);
            const C = heap.f32(pc, M * ldc).slice();
            // A x B with B = W^T stored K x N (ldb = N + 5)
            const ldb = N + 5;
            const B = new Float32Array(K * ldb);
            for (let kk = 0; kk < K; kk++) for (let n = 0; n < N; n++) B[kk * ldb + n] = W[n * ldw + kk];
            const pbm = heap.put(B),
              pc2 = heap.alloc(M * ldc * 4);
            gemmNN(M, N, K, pa, lda, pbm, ldb, pc2, ldc, pbias);
            const C2 = heap.f32(pc2, M * ldc);
            for (let m = 0; m < M; m++)
              for (let n = 0; n < N; n++) {
                let s = 0,
                  mag = 0;
                for (let kk = 0; kk < K; kk++) {
                  s += A[m * lda + kk] * W[n * ldw + kk];
                  mag += Math.abs(A[m * lda + kk] * W[n * ldw + kk]);
                }
                s += bias[n];
                const tol = 2 ** -23 * (32 + K / 32) * Math.max(1, mag);
                expect(Math.abs(C[m * ldc + n] - s), `NT M=${M} N=${N} K=${K} (${m},${n})`).toBeLessThanOrEqual(tol);
                // Same packed layout, same order: NN and NT agree to the bit.
                expect(C2[m * ldc + n], `NN vs NT M=${M} N=${N} K=${K}`).toBe(C[m * ldc + n]);
              }
          });
        }
  });

  it("the GEMV kernel (LSTM steps) gives sgemm's bits, walking panels forward or backward", () => {
    const { k, heap } = rt();
    for (const [N, K] of [
      [1, 1],
      [7, 3],
      [8, 64],
      [16, 65],
      [24, 130],
      [1024, 256],
      [33, 17],
      [1000, 512],
    ]) {
      heap.scope(() => {
        const W = heap.put(fill(N * K, -1, 1, N + K)),
          a = heap.put(fill(K, -1, 1, K)),
          bias = heap.put(fill(N, -1, 1, 3));
        const bp = heap.alloc(k.sgemm_packed_size(K, N) * 4);
        k.sgemm_pack_b(W, 1, K, K, N, bp);
        const ref = heap.alloc(N * 4),
          c0 = heap.alloc(N * 4),
          c1 = heap.alloc(N * 4);
        k.sgemm_packed(1, N, K, a, K, 0, bp, ref, N, bias, 1, 0);
        k.sgemv_packed(N, K, a, bp, c0, bias, 1, 0);
        k.sgemv_packed(N, K, a, bp, c1, bias, 1, 1);
        const r = Array.from(heap.f32(ref, N));
        expect(Array.from(heap.f32(c0, N)), `forward N=${N} K=${K}`).toEqual(r);
        expect(Array.from(heap.f32(c1, N)), `reverse N=${N} K=${K}`).toEqual(r);
      });
    }
  });

  it("a row's result is the same bits alone or inside any batch (batch invariance)", () => {
    const { heap } = rt();
    const K = 300,
      N = 37;
    heap.scope(() => {
      const A = fill(13 * K, -1, 1, 5),
        W = fill(N * K, -1, 1, 6);
      const pa = heap.put(A),
        pw = heap.put(W);
      const full = heap.alloc(13 * N * 4);
      gemmNT(13, N, K, pa, K, pw, K, full, N);
      const ref = heap.f32(full, 13 * N).slice();
      for (const [start, M] of [
        [0, 1],
        [5, 1],
        [12, 1],
        [3, 4],
        [1, 7],
        [2, 9],
      ]) {
        const c = heap.alloc(M * N * 4);
        gemmNT(M, N, K, pa + start * K * 4, K, pw, K, c, N);
        expect(Array.from(heap.f32(c, M * N)), `rows ${start}..${start + M - 1}`).toEqual(
          Array.from(ref.subarray(start * N, (start + M) * N)),
        );
      }
    });
  });
});
