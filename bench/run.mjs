// `npm run bench` (or `npm run bench -- <group>`: gemm, conv, audio, models, hfclip, media, limits, quantized,
// threads, retrieval, serve, scale, browser, speech, text, relaxed, coldstart): polymodal's kernels side by side with
// XNNPACK (tfjs-backend-wasm), onnxruntime-web and Meyda in this process, and torchaudio in a separate process, all
// single-threaded; ratios, not absolute times, are the result (these machines are shared and noisy).
import { setFlagsFromString } from "node:v8";
import { init } from "../dist/index.js";
import { benchGemm } from "./gemm.mjs";
import { benchPeak } from "./peak.mjs";
import { benchConv } from "./conv.mjs";
import { benchAudio } from "./audio.mjs";
import { benchModels } from "./models.mjs";
import { benchHfClip } from "./hf-clip.mjs";
import { benchMedia } from "./media.mjs";
import { benchLimits } from "./limits.mjs";
import { benchRetrieval } from "./retrieval.mjs";
import { benchQuantized } from "./quantized.mjs";
import { benchThreads } from "./threads.mjs";
import { benchServe } from "./serve.mjs";
import { benchScale } from "./scale.mjs";
import { benchBrowser } from "./browser.mjs";
import { benchSpeech } from "./speech.mjs";
import { benchText } from "./text.mjs";
import { benchRelaxed } from "./relaxed.mjs";
import { benchColdStart } from "./coldstart.mjs";
import { writeBenchmarksDoc } from "./report.mjs";

// POLYMODAL_SIMD=relaxed: the relaxed build (bench/relaxed.mjs runs the models group so, in a child process, and
// reads the summary it prints as JSON with POLYMODAL_BENCH_SUMMARY_ONLY=1 instead of writing docs/benchmarks.md)
// Node 20 has relaxed SIMD behind a V8 flag (22+ ship it): on, so the peak line measures FMA too (the default build
// here stays the exact one)
if (process.versions.node.startsWith("20.")) setFlagsFromString("--experimental-wasm-relaxed-simd");
const runtime = await init({ simd: process.env.POLYMODAL_SIMD ?? "exact" });
if (runtime.simdNote) throw new Error(`bench: ${runtime.simdNote}`);
const summaryOnly = !!process.env.POLYMODAL_BENCH_SUMMARY_ONLY;
if (summaryOnly) console.log = (...a) => console.error(...a); // stdout carries only the JSON summary
const only = process.argv[2];
console.log(`polymodal benchmarks — single thread; medians of interleaved rounds; ${runtime.simd} SIMD build`);

const lines = [];
const byGroup = new Map(); // group -> its summary lines, for docs/benchmarks.md
function push(group, ...ls) {
  lines.push(...ls);
  byGroup.set(group, [...(byGroup.get(group) ?? []), ...ls]);
}
if (!only || only === "gemm") {
  const g = await benchGemm([
    [197, 768, 768],
    [197, 768, 3072],
    [1024, 1024, 1024],
    [1, 512, 512],
  ]);
  // the peak line: this machine's measured SIMD ceiling, and each GEMM's fraction of it
  const peak = await benchPeak();
  push(
    "gemm",
    `peak, one core: WebAssembly SIMD mul+add ${peak.mulAdd.toFixed(1)} GFLOP/s; ` +
      (peak.fma === null
        ? "FMA (relaxed_madd): this engine lacks relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)"
        : `FMA (relaxed_madd) ${peak.fma.toFixed(1)} GFLOP/s = ${(peak.fma / peak.mulAdd).toFixed(2)}x mul+add`),
  );
  for (const r of g)
    push(
      "gemm",
      `GEMM ${r.shape}: ${r.gflops.toFixed(1)} GFLOP/s (${((100 * r.gflops) / peak.mulAdd).toFixed(0)}% of the ` +
        `mul+add peak), ${r.vsXnnpack.toFixed(2)}x XNNPACK's speed, ${r.vsOrt.toFixed(2)}x onnxruntime-web's`,
    );
}
if (!only || only === "conv") {
  for (const r of await benchConv())
    push(
      "conv",
      `conv2d ${r.name}: ${r.vsTfjs.toFixed(2)}x tfjs-backend-wasm's speed, ${r.vsOrt.toFixed(2)}x onnxruntime-web's`,
    );
}
if (!only || only === "audio") {
  const a = await benchAudio();
  push(
    "audio",
    `STFT+mel 60 s: ${a.ms.toFixed(2)} ms` +
      (a.torchaudioMs
        ? `, ${(a.ms / a.torchaudioMs).toFixed(2)}x torchaudio's time (target <= 1.5x)`
        : " (torchaudio not available)") +
      `, ${a.vsOrt.toFixed(1)}x onnxruntime-web's speed, ${a.vsMeyda.toFixed(1)}x Meyda's`,
  );
  if (a.mfccTorch)
    push(
      "audio",
      `MFCC 60 s: ${a.mfccMs.toFixed(2)} ms, ${(a.mfccMs / a.mfccTorch).toFixed(2)}x torchaudio's time (target <= ` +
        `1.5x)`,
    );
  if (a.resampleTorch)
    push(
      "audio",
      `resample 44.1k->16k 60 s: ${a.resampleMs.toFixed(1)} ms, ${(a.resampleMs / a.resampleTorch).toFixed(2)}x ` +
        `torchaudio's time`,
    );
  push("audio", `streaming mel: real-time factor ${a.rtf.toExponential(2)}`);
}
if (!only || only === "models") {
  for (const r of await benchModels(process.argv[3] ? process.argv[3].split(",") : undefined))
    push(
      "models",
      `${r.title}: ${r.ms.toFixed(0)} ms` +
        (r.ratio ? `, ${r.ratio.toFixed(2)}x onnxruntime-web's time (target <= 0.75x)` : ""),
    );
}
if (!only || only === "hfclip") {
  for (const r of await benchHfClip())
    push(
      "hfclip",
      `${r.title}: ${r.ms.toFixed(1)} ms, ${r.ratio.toFixed(2)}x onnxruntime-web's time (target <= 0.75x)`,
    );
}
if (!only || only === "media") push("media", ...(await benchMedia()));
if (!only || only === "limits") push("limits", ...(await benchLimits()));
if (!only || only === "quantized") push("quantized", ...(await benchQuantized()));
if (!only || only === "threads") push("threads", ...(await benchThreads()));
if (!only || only === "retrieval") push("retrieval", ...(await benchRetrieval()));
if (!only || only === "serve") push("serve", ...(await benchServe()));
if (!only || only === "scale") push("scale", ...(await benchScale()));
if (!only || only === "browser") push("browser", ...(await benchBrowser()));
if (!only || only === "speech") push("speech", ...(await benchSpeech()));
if (!only || only === "text") push("text", ...(await benchText()));
if ((!only && !summaryOnly) || only === "relaxed") push("relaxed", ...(await benchRelaxed()));
if (!only || only === "coldstart") push("coldstart", ...(await benchColdStart()));
if (summaryOnly) {
  process.stdout.write(JSON.stringify(Object.fromEntries(byGroup)));
} else {
  console.log("\nsummary");
  for (const l of lines) console.log("  " + l);
  writeBenchmarksDoc(byGroup);
}
