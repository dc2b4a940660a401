// GEMM: y = x W^T (+ nothing) at the sizes.  polymodal's kernel with the weight packed once (how
// models run) and F.linear (copies and packs per call); XNNPACK via tfjs-backend-wasm with B stored K x N
// (its fast layout); onnxruntime-web MatMul with B as an initializer.  All single-threaded.
import { F, Tensor } from "../dist/index.js";
import { rt } from "../dist/bindings/module.js";
import { measure, report } from "./measure.mjs";
import { loadTfjs } from "./peers/tfjs.mjs";
import { loadOrt, session } from "./peers/ort.mjs";
import { model, node, initializer } from "./peers/onnx-build.mjs";

function data(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

export async function benchGemm(sizes) {
  const tf = await loadTfjs();
  const ort = await loadOrt();
  const summary = [];
  for (const [M, K, N] of sizes) {
    const x = data(M * K, 1),
      w = data(N * K, 2);
    const wt = new Float32Array(K * N); // K x N for the peers' fast layout
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = w[n * K + k];
    // polymodal, weights resident and packed once
    const { k: kr, heap } = rt();
    const blocks = [];
    const hold = (bytes) => {
      const p = heap.allocPersistent(bytes);
      blocks.push([p, bytes]);
      return p;
    };
    const px = hold(M * K * 4),
      pw = hold(N * K * 4);
    const pbp = hold(kr.sgemm_packed_size(K, N) * 4),
      pc = hold(M * N * 4);
    const pap = hold(Math.max(4, kr.sgemm_packed_a_size(M, K) * 4));
    heap.f32(px, M * K).set(x);
    heap.f32(pw, N * K).set(w);
    kr.sgemm_pack_b(pw, 1, K, K, N, pbp);
    const X = Tensor.from(x, [M, K]),
      W = Tensor.from(w, [N, K]);
    const ta = tf.tensor2d(x, [M, K]),
      tb = tf.tensor2d(wt, [K, N]);
    const sess = await session(
      model({
        nodes: [node("MatMul", ["A", "B"], ["C"])],
        initializers: [initializer("B", [K, N], wt)],
        inputs: [["A", [M, K]]],
        outputs: [["C", [M, N]]],
      }),
    );
    const oa = new ort.Tensor("float32", x, [M, K]);
    const flops = 2 * M * N * K;
    const reps = flops < 5e6 ? 200 : 1;
    const res = await measure(
      {
        "polymodal (weights packed once)": () => {
          if (M >= 4) kr.sgemm_pack_a(px, K, M, K, pap);
          kr.sgemm_packed(M, N, K, px, K, M >= 4 ? pap : 0, pbp, pc, N, 0, 0, 0);
        },
        "polymodal F.linear (copy in/out, pack per call)": () => F.linear(X, W),
        "XNNPACK (tfjs-backend-wasm matMul)": () => tf.matMul(ta, tb).dispose(),
        "onnxruntime-web MatMul": async () => (await sess.run({ A: oa })).C.data,
      },
      { reps, rounds: flops > 1e9 ? 5 : 9 },
    );
    report(`GEMM ${M}x${K}x${N}`, res, { flops });
    const xnn = res["XNNPACK (tfjs-backend-wasm matMul)"].median,
      ours = res["polymodal (weights packed once)"].median;
    const ortT = res["onnxruntime-web MatMul"].median;
    summary.push({ shape: `${M}x${K}x${N}`, gflops: flops / ours / 1e6, vsXnnpack: xnn / ours, vsOrt: ortT / ours });
    for (const [p, bytes] of blocks) heap.freePersistent(p, bytes);
    ta.dispose();
    tb.dispose();
  }
  return summary;
}
