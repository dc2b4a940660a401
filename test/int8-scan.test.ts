// int8 GEMM / quantisation and the retrieval scans + top-k, against exact or float64 brute-force references.
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, F } from "../src/index.js";
import { lcg } from "./harness/workloads.js";
import { rt } from "../src/bindings/module.js";

beforeAll(async () => {
  await init();
});

describe("int8", () => {
  it("quantizePerRow: scale = max|row| / 127, round half to even, zero rows get scale 1", () => {
    const x = Tensor.from(new Float32Array([0.5, -1, 0.25, 0.0039370078740157, 0, 0, 0, 0]), [2, 4]);
    const q = F.quantizePerRow(x);
    expect(q.shape).toEqual([2, 4]);
    expect(q.scales[0]).toBe(Math.fround(1 / 127));
    expect(q.scales[1]).toBe(1);
    expect(Array.from(q.data)).toEqual([64, -127, 32, 0, 0, 0, 0, 0]); // 63.5 -> 64 (even), 31.75 -> 32
  });

  it("matmulInt8 is exact for K up to thousands, at edge sizes", () => {
    for (const [M, N, K] of [
      [1, 1, 1],
      [3, 5, 15],
      [4, 4, 16],
      [5, 7, 33],
      [2, 9, 4096],
    ]) {
      const a = Int8Array.from(lcg(M * K, M + K), (v) => Math.round(v * 127));
      const b = Int8Array.from(lcg(N * K, N + K + 1), (v) => Math.round(v * 127));
      const got = F.matmulInt8(a, b, M, N, K);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
          expect(got[m * N + n]).toBe(s);
        }
    }
  });

  /** A qgemm kernel against the integer sum at edge sizes and extreme codes, whole and as a thread's column block. */
  function checkQgemm(kernel: "qgemm_nt_i32" | "qgemm_nt_u7_i32", top: number): void {
    const { k, heap } = rt();
    // A as the kernel takes it: int16 codes, or uint8 bytes
    const put = (a: Int16Array) => heap.put(kernel === "qgemm_nt_i32" ? new Uint8Array(a.buffer) : Uint8Array.from(a));
    for (const [M, N, K] of [
      [1, 1, 1],
      [1, 5, 7],
      [3, 4, 8],
      [4, 2, 9],
      [5, 3, 16],
      [4, 3, 17],
      [9, 7, 33],
      [8, 8, 200],
    ]) {
      heap.scope(() => {
        // codes at the ends of their ranges (0 / top, -128 / 127) as well as in between
        const a = Int16Array.from(lcg(M * K, M * 7 + K), (v, i) =>
          i % 5 === 0 ? top : i % 7 === 0 ? 0 : Math.round(((v + 1) * top) / 2),
        );
        const w = Int8Array.from(lcg(N * K, N * 11 + K), (v, i) =>
          i % 3 === 0 ? -128 : i % 4 === 0 ? 127 : Math.round(v * 127),
        );
        const acc = heap.alloc(M * N * 4);
        k[kernel](M, N, K, put(a), heap.put(w), acc, N);
        // and a block of columns [n0, N) written into the same (M, N) rows, as a thread does
        const n0 = Math.floor(N / 2),
          acc2 = heap.alloc(M * N * 4);
        heap.i32(acc2, M * N).fill(-7);
        k[kernel](M, N - n0, K, put(a), heap.put(w.subarray(n0 * K)), acc2 + n0 * 4, N);
        const got = heap.i32(acc, M * N),
          block = heap.i32(acc2, M * N);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let s = 0;
            for (let j = 0; j < K; j++) s += a[m * K + j] * w[n * K + j];
            expect(got[m * N + n], `(${M}, ${N}, ${K}) at ${m}, ${n}`).toBe(s);
            expect(block[m * N + n], `column block at ${m}, ${n}`).toBe(n < n0 ? -7 : s);
          }
      });
    }
  }

  it("qgemm (int16 activation codes x int8 weights) is exact at edge sizes and extreme codes", () => {
    checkQgemm("qgemm_nt_i32", 255);
  });

  it("qgemm u7 (uint8 activation codes 0..127 x int8 weights: relaxed int8 dot) is exact at edge sizes", () => {
    checkQgemm("qgemm_nt_u7_i32", 127);
  });

  it("linearInt8 approximates the float product within the quantisation error", () => {
    const M = 6,
      K = 256,
      N = 10;
    const x = Tensor.from(lcg(M * K, 3), [M, K]),
      w = Tensor.from(lcg(N * K, 4, 0.2), [N, K]),
      b = Tensor.from(lcg(N, 5), [N]);
    const yq = F.linearInt8(F.quantizePerRow(x), F.quantizePerRow(w), b);
    const yf = F.linear(x, w, b);
    let maxErr = 0,
      maxRef = 0;
    for (let i = 0; i < yf.size; i++) {
      maxErr = Math.max(maxErr, Math.abs(yq.data[i] - yf.data[i]));
      maxRef = Math.max(maxRef, Math.abs(yf.data[i]));
    }
    // Each factor is off by <= scale/2: |error| <= K * (|x| sw/2 + |w| sx/2), about 1% of the output range here.
    expect(maxErr / maxRef).toBeLessThan(0.02);
    // And it equals the exact integer product dequantised in the documented order.
    const qx = F.quantizePerRow(x),
      qw = F.quantizePerRow(w);
    const acc = F.matmulInt8(qx.data, qw.data, M, N, K);
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const ref = Math.fround(Math.fround(Math.fround(acc[m * N + n]) * qx.scales[m]) * qw.scales[n]) + b.data[n];
        expect(yq.data[m * N + n]).toBe(Math.fround(ref));
      }
  });

  it("linearInt8 rejects inconsistent inputs", () => {
    const q = F.quantizePerRow(Tensor.zeros([2, 4]));
    expect(() => F.linearInt8(q, F.quantizePerRow(Tensor.zeros([3, 5])))).toThrow(
      /input has 4 features but weight \[3, 5\] expects 5/,
    );
    expect(() => F.linearInt8({ ...q, scales: new Float32Array(1) }, q)).toThrow(
      /needs 8 values and 2 scales, got 8 and 1/,
    );
  });
});

describe("similarity scan and top-k", () => {
  it("f32 scan equals the float64 dot product within K ulp, for any D", () => {
    for (const D of [1, 3, 7, 8, 9, 512, 515]) {
      const N = 37;
      const q = Tensor.from(lcg(D, D), [D]),
        X = Tensor.from(lcg(N * D, D + 1), [N, D]);
      const s = F.similarityScan(q, X);
      for (let i = 0; i < N; i++) {
        let r = 0,
          mag = 0;
        for (let d = 0; d < D; d++) {
          r += q.data[d] * X.data[i * D + d];
          mag += Math.abs(q.data[d] * X.data[i * D + d]);
        }
        expect(Math.abs(s.data[i] - r)).toBeLessThanOrEqual(mag * 2 ** -23 * (8 + D / 8));
      }
    }
  });

  it("a row's score does not depend on N or on where the row sits", () => {
    const D = 100,
      X = Tensor.from(lcg(50 * D, 9), [50, D]),
      q = Tensor.from(lcg(D, 10), [D]);
    const all = F.similarityScan(q, X);
    const one = F.similarityScan(q, Tensor.from(X.data.slice(17 * D, 18 * D), [1, D]));
    expect(one.data[0]).toBe(all.data[17]);
  });

  it("int8 scan is exact", () => {
    const D = 70,
      N = 20;
    const q = Int8Array.from(lcg(D, 1), (v) => Math.round(v * 127)),
      X = Int8Array.from(lcg(N * D, 2), (v) => Math.round(v * 127));
    const s = F.similarityScanInt8(q, X, D);
    for (let i = 0; i < N; i++) {
      let r = 0;
      for (let d = 0; d < D; d++) r += q[d] * X[i * D + d];
      expect(s[i]).toBe(r);
    }
  });

  it("topk matches a full sort (score desc, lower index first on ties), with masks and NaN", () => {
    const N = 1000;
    const scores = Float32Array.from(lcg(N, 42), (v) => Math.round(v * 50) / 10); // many ties
    scores[5] = NaN;
    const mask = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 0 : 1));
    for (const k of [1, 2, 10, 100, 999, 2000]) {
      for (const m of [null, mask]) {
        const got = F.topk(Tensor.from(scores), k, m);
        const order = Array.from({ length: N }, (_, i) => i)
          .filter((i) => !Number.isNaN(scores[i]) && (!m || m[i]))
          .sort((a, b) => scores[b] - scores[a] || a - b)
          .slice(0, k);
        expect(Array.from(got.indices)).toEqual(order);
        expect(Array.from(got.values)).toEqual(order.map((i) => scores[i]));
      }
    }
  });

  it("tiled int8 scan: exact and scaled for every N (partial last tile) and D, rows packed at any slot", () => {
    const { k, heap } = rt();
    for (const D of [16, 48, 512]) {
      for (const N of [1, 2, 3, 4, 5, 7, 37]) {
        for (const n of [D, D - 5]) {
          // n < D: the packer zero-fills each row's tail
          heap.scope(() => {
            const slot0 = N % 3; // rows start mid-tile
            const rows = Int8Array.from(lcg(N * n, N + D + n), (v) => Math.round(v * 127));
            const q = Int16Array.from(lcg(D, D + 7), (v) => Math.round(v * 127));
            const scales = Float32Array.from(lcg(slot0 + N, 3), (v) => 0.5 + Math.abs(v));
            const tiles = heap.alloc(Math.ceil((slot0 + N) / 4) * 4 * D);
            heap.u8(tiles, Math.ceil((slot0 + N) / 4) * 4 * D).fill(0x5a); // stale bytes must not leak into scores
            k.pack_i8_tiles(heap.put(rows), N, n, D, tiles, slot0);
            const q16 = heap.put(new Uint8Array(q.buffer));
            const sc = heap.put(scales);
            // scan from slot0's tile start, so the first slot0 rows are the 0x5a filler; then check rows slot0..
            const total = slot0 + N,
              out = heap.alloc((total + 1) * 4);
            heap.f32(out, total + 1).fill(-1);
            k.scan_i8t_scaled(q16, tiles, total, D, sc, out);
            const got = heap.f32(out, total + 1);
            expect(got[total], "writes exactly N scores").toBe(-1);
            for (let i = 0; i < N; i++) {
              let r = 0;
              for (let d = 0; d < n; d++) r += q[d] * rows[i * n + d];
              expect(got[slot0 + i]).toBe(Math.fround(Math.fround(r) * scales[slot0 + i]));
            }
            const back = heap.alloc(N * n);
            k.unpack_i8_tiles(tiles, slot0, N, D, n, back);
            expect(Array.from(heap.i8(back, N * n))).toEqual(Array.from(rows));
          });
        }
      }
    }
  });
});
