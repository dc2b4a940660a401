// `npm run bench -- coldstart`: from `node` starting to the first embedding, in a fresh process each time: polymodal
// (import, init, load the shipped clip-scenes from its safetensors, decode a PNG, embed it and a caption) against
// onnxruntime-web (import, one thread, a session from the same model exported by our own exportOnnx, run on the
// already preprocessed inputs: it has no image decoder or tokenizer).  Each side reports performance.now() at its
// first result (milliseconds since the process started) and the wall time to exit; the two alternate, 7 runs each.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, loadPretrained, encodePng } from "../dist/index.js";
import { makeScene, SIZE } from "../scripts/scenes.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const OURS = `
import { readFileSync } from "node:fs";
const { init, loadPretrained } = await import(process.argv[1]);
await init();
const m = await loadPretrained("clip-scenes");
m.embedImages([readFileSync(process.argv[2])]);
m.embedTexts([process.argv[3]]);
process.stdout.write(String(performance.now()));
`;

const ORT = `
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(process.argv[1]);
const ort = require("onnxruntime-web");
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";
const s = await ort.InferenceSession.create(readFileSync(process.argv[2]));
const feeds = {};
for (const [name, type, shape] of JSON.parse(process.argv[3]))
  feeds[name] = new ort.Tensor(type, type === "int32" ? new Int32Array(shape.reduce((a, b) => a * b, 1)).fill(1)
    : new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape);
await s.run(feeds);
process.stdout.write(String(performance.now()));
`;

function timed(args) {
  const t0 = performance.now();
  const first = Number(execFileSync(process.execPath, args, { encoding: "utf8", cwd: root }));
  return { first, wall: performance.now() - t0 };
}

export async function benchColdStart() {
  const dir = mkdtempSync(join(tmpdir(), "pm-coldstart-"));
  try {
    const onnx = join(dir, "clip-scenes.onnx"),
      png = join(dir, "scene.png");
    execFileSync(process.execPath, [join(root, "bin/polymodal.js"), "export", "clip-scenes", onnx], { cwd: root });
    const sc = makeScene(5);
    writeFileSync(png, encodePng({ width: SIZE, height: SIZE, channels: 3, data: sc.pixels }));
    await init(); // (run.mjs has; alone, this module needs it)
    const { inputs } = (await loadPretrained("clip-scenes")).exportSample();
    const specs = Object.entries(inputs).map(([n, t]) => [
      n,
      t.data instanceof Int32Array ? "int32" : "float32",
      [...t.shape],
    ]);
    const lib = pathToFileURL(join(root, "dist/index.js")).href;
    const ours = [],
      theirs = [];
    for (let i = 0; i < 7; i++) {
      ours.push(timed(["--input-type=module", "-e", OURS, lib, png, sc.caption]));
      theirs.push(timed(["--input-type=module", "-e", ORT, join(root, "package.json"), onnx, JSON.stringify(specs)]));
    }
    const [a, b] = [median(ours.map((r) => r.first)), median(theirs.map((r) => r.first))];
    const [wa, wb] = [median(ours.map((r) => r.wall)), median(theirs.map((r) => r.wall))];
    const line =
      `cold start in Node (clip-scenes, an image and a caption): first embedding ${a.toFixed(0)} ms after node ` +
      `started, onnxruntime-web ${b.toFixed(0)} ms (session from our ONNX, preprocessed inputs) = ` +
      `${(a / b).toFixed(2)}x its time; whole process ${wa.toFixed(0)} vs ${wb.toFixed(0)} ms`;
    console.log(`\ncold start\n  ${line}`);
    return [line];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
