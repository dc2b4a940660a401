// conv2d: the ViT-B/16 patch embedding (3 -> 768, 16x16 stride 16) and the seed's 3 -> 64 7x7 stride 2
// padding 3, on one 224x224 image.  polymodal F.conv2d (NCHW, public API, copies included); tfjs-backend-wasm
// in NHWC (its native layout); onnxruntime-web Conv (NCHW).
import { F, Tensor } from "../dist/index.js";
import { measure, report } from "./measure.mjs";
import { loadTfjs } from "./peers/tfjs.mjs";
import { loadOrt, session } from "./peers/ort.mjs";
import { model, node, initializer } from "./peers/onnx-build.mjs";

function data(n, seed, scale = 1) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2147483648 - 1) * scale;
  }
  return a;
}

export async function benchConv() {
  const tf = await loadTfjs();
  const ort = await loadOrt();
  const out = [];
  for (const c of [
    { name: "ViT-B/16 patch conv 3->768 k16 s16", Cin: 3, Cout: 768, k: 16, s: 16, p: 0 },
    { name: "seed 3->64 k7 s2 p3", Cin: 3, Cout: 64, k: 7, s: 2, p: 3 },
  ]) {
    const H = 224,
      W = 224;
    const x = data(c.Cin * H * W, 3),
      w = data(c.Cout * c.Cin * c.k * c.k, 4, 0.1),
      b = data(c.Cout, 5);
    const OH = Math.floor((H + 2 * c.p - c.k) / c.s) + 1;
    const X = Tensor.from(x, [1, c.Cin, H, W]),
      Wt = Tensor.from(w, [c.Cout, c.Cin, c.k, c.k]),
      B = Tensor.from(b, [c.Cout]);
    // NHWC / HWIO copies for tfjs
    const xh = new Float32Array(x.length),
      wh = new Float32Array(w.length);
    for (let ci = 0; ci < c.Cin; ci++) for (let i = 0; i < H * W; i++) xh[i * c.Cin + ci] = x[ci * H * W + i];
    for (let o = 0; o < c.Cout; o++)
      for (let ci = 0; ci < c.Cin; ci++)
        for (let ky = 0; ky < c.k; ky++)
          for (let kx = 0; kx < c.k; kx++)
            wh[((ky * c.k + kx) * c.Cin + ci) * c.Cout + o] = w[((o * c.Cin + ci) * c.k + ky) * c.k + kx];
    const tx = tf.tensor4d(xh, [1, H, W, c.Cin]),
      tw = tf.tensor4d(wh, [c.k, c.k, c.Cin, c.Cout]),
      tb = tf.tensor1d(b);
    const pad = c.p
      ? [
          [0, 0],
          [c.p, c.p],
          [c.p, c.p],
          [0, 0],
        ]
      : "valid";
    const sess = await session(
      model({
        nodes: [
          node("Conv", ["X", "W", "B"], ["Y"], {
            kernel_shape: [c.k, c.k],
            strides: [c.s, c.s],
            pads: [c.p, c.p, c.p, c.p],
          }),
        ],
        initializers: [initializer("W", [c.Cout, c.Cin, c.k, c.k], w), initializer("B", [c.Cout], b)],
        inputs: [["X", [1, c.Cin, H, W]]],
        outputs: [["Y", [1, c.Cout, OH, OH]]],
      }),
    );
    const ox = new ort.Tensor("float32", x, [1, c.Cin, H, W]);
    const flops = 2 * c.Cout * OH * OH * c.Cin * c.k * c.k;
    const res = await measure({
      "polymodal F.conv2d": () => F.conv2d(X, Wt, B, { stride: c.s, padding: c.p }),
      "tfjs-backend-wasm conv2d (NHWC)": () => tf.tidy(() => tf.add(tf.conv2d(tx, tw, c.s, pad), tb)).dispose(),
      "onnxruntime-web Conv": async () => (await sess.run({ X: ox })).Y.data,
    });
    report(`conv2d ${c.name} on 224x224`, res, { flops });
    out.push({
      name: c.name,
      vsTfjs: res["tfjs-backend-wasm conv2d (NHWC)"].median / res["polymodal F.conv2d"].median,
      vsOrt: res["onnxruntime-web Conv"].median / res["polymodal F.conv2d"].median,
    });
    tx.dispose();
    tw.dispose();
    tb.dispose();
  }
  return out;
}
