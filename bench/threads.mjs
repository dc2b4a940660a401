// init({ threads }): the same cases in two runtimes of this process (worker_thread realms, one thread and two),
// timed in interleaved rounds; prints each runtime's median and the speed-up.
import { Worker } from "node:worker_threads";
import { cpus } from "node:os";

export async function benchThreads(rounds = 7) {
  const counts = [1, Math.min(2, cpus().length)];
  const realms = await Promise.all(
    counts.map(
      (threads) =>
        new Promise((resolve, reject) => {
          const w = new Worker(new URL("./threads-realm.mjs", import.meta.url), { workerData: { threads } });
          w.once("message", () => resolve(w));
          w.once("error", reject);
        }),
    ),
  );
  const time = (w, name) =>
    new Promise((resolve) => {
      w.once("message", resolve);
      w.postMessage(name);
    });
  const out = [];
  console.log(
    `\nthreads (init({ threads }); ${cpus().length} cores; results are bit-identical, see test/threads.test.ts)`,
  );
  for (const name of [
    "SpeechRecognitionModel, 1,000 frames",
    "Linear 1576 x 768 -> 3072",
    "CLIP ViT-B/16 image tower, batch 2",
    "flat f32 search, 100,000 x 512",
  ]) {
    const t = counts.map(() => []);
    for (const [_i, w] of realms.entries()) await time(w, name); // warm-up
    for (let r = 0; r < rounds; r++) for (const [i, w] of realms.entries()) t[i].push(await time(w, name));
    const med = t.map((a) => a.sort((x, y) => x - y)[a.length >> 1]);
    console.log(
      `  ${name.padEnd(40)} 1 thread ${med[0].toFixed(1).padStart(8)} ms   ${counts[1]} ` +
        `threads ${med[1].toFixed(1).padStart(8)} ms   ${(med[0] / med[1]).toFixed(2)}x faster`,
    );
    out.push(`${name}: ${counts[1]} threads ${(med[0] / med[1]).toFixed(2)}x faster than 1`);
  }
  await Promise.all(realms.map((w) => w.terminate()));
  return out;
}
