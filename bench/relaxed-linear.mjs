// Child of bench/relaxed.mjs: a linear layer 197x768 -> 3072 (ViT-B's MLP up-projection over 197 tokens) on the build
// argv[2] names, as models run it (nn.Linear: weights resident, packed once); prints the GFLOP/s of the best of several
// timed runs as JSON.  One build per process: a process has one runtime.
import { init, Tensor, nn } from "../dist/index.js";

const r = await init({ simd: process.argv[2] });
const [M, K, N] = [197, 768, 3072];
const x = Tensor.from(
  Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37) * 0.5),
  [M, K],
);
const fc = new nn.Linear(K, N);
for (let i = 0; i < 3; i++) fc.forward(x);
let best = Infinity;
for (let round = 0; round < 7; round++) {
  const t = performance.now();
  for (let i = 0; i < 5; i++) fc.forward(x);
  best = Math.min(best, (performance.now() - t) / 5);
}
process.stdout.write(JSON.stringify({ simd: r.simd, gflops: (2 * M * K * N) / best / 1e6 }));
