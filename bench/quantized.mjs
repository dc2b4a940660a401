// Dynamic int8 quantisation (MultimodalModelOptimizer.quantizeModel) against the same float model, side by side
// on the same input: a ViT-B MLP projection, the seed's SpeechRecognitionModel and a CLIP ViT-B/16 image tower.
import { Tensor, nn, SpeechRecognitionModel, CLIPModel, MultimodalModelOptimizer } from "../dist/index.js";
import { measure, report } from "./measure.mjs";

const wave = (n, f) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f)); // inputs only, not a numeric path

export async function benchQuantized() {
  const out = [];
  const cases = [
    // (operations counted for the Linear only: 2 per multiply-add, whole call incl. quantising the input)
    [
      "Linear 197x8 rows, 768 -> 3072",
      () => new nn.Sequential(new nn.Linear(768, 3072)),
      Tensor.from(wave(1576 * 768, 0.37), [1576, 768]),
      (m, x) => m.forward(x),
      5,
      2 * 1576 * 768 * 3072,
    ],
    [
      "SpeechRecognitionModel defaults, 1,000 frames",
      () => new SpeechRecognitionModel({}),
      Tensor.from(wave(80 * 1000, 0.11), [1, 80, 1000]),
      (m, x) => m.forward(x),
      5,
      0,
    ],
    [
      "CLIP ViT-B/16 image tower, batch 1",
      () => new CLIPModel({}),
      Tensor.from(wave(3 * 224 * 224, 0.01), [1, 3, 224, 224]),
      (m, x) => m.encodeImage(x),
      5,
      0,
    ],
  ];
  for (const [title, make, x, run, rounds, flops] of cases) {
    const f = make();
    const q = MultimodalModelOptimizer.quantizeModel(f);
    const res = await measure({ float32: () => run(f, x), "dynamic int8": () => run(q, x) }, { rounds });
    report(title, res, { flops });
    out.push(
      `int8 ${title}: ${(res["dynamic int8"].median / res.float32.median).toFixed(2)}x the float32 model's time`,
    );
    q.dispose();
    f.dispose();
  }
  return out;
}
