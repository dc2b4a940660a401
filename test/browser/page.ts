// Runs in headless Chromium: every fixture case and workload through the library, hashes each output and
// posts the hashes back to the test's loopback server.
import { init, loadSafetensors, MultimodalIndex, ImageProcessor, type SimdBuild } from "../../src/index.js";
import { rt } from "../../src/bindings/module.js";
import { runCase, type Case } from "../harness/cases.js";
import { hashBits } from "../harness/compare.js";
import { workloads, indexWorkload, indexQueries } from "../harness/workloads.js";
import { shippedOutputs } from "../harness/shipped.js";

const params = new URLSearchParams(location.search);
const threads = Number(params.get("threads") ?? "1");
const simd = (params.get("simd") ?? "exact") as SimdBuild;

async function main(): Promise<Record<string, string>> {
  await init({ threads, simd });
  const manifest = await (await fetch("/fixtures/kernels.json")).json();
  const tensors = loadSafetensors(new Uint8Array(await (await fetch("/fixtures/kernels.safetensors")).arrayBuffer()));
  const out: Record<string, string> = {};
  for (const c of manifest.cases as Case[]) {
    const ins = Object.fromEntries(c.inputs.map((n) => [n, tensors[`${c.id}.${n}`]]));
    const res = runCase(c, ins);
    out[c.id] = c.outputs.map((n) => hashBits(res[n].data)).join(",");
  }
  for (const [name, fn] of Object.entries(workloads())) out[name] = hashBits(fn().data);
  // the same index built here saves to the same bytes; Node's saved bytes load and search identically here
  out["index save bytes"] = hashBits(indexWorkload().save());
  const nodeBytes = new Uint8Array(await (await fetch("/fixtures/node-index.bin")).arrayBuffer());
  out["index loaded from Node"] = indexQueries(MultimodalIndex.load(nodeBytes));
  // image decoding + torchvision-style preprocessing (TypeScript arithmetic, not WASM)
  const proc = new ImageProcessor({ size: 224, cropSize: 224, interpolation: "bicubic" });
  for (const f of ["rgb.png", "palette.png", "photo420.jpg"]) {
    out[`image ${f}`] = hashBits(
      proc.process(new Uint8Array(await (await fetch(`/fixtures/images/${f}`)).arrayBuffer())).data,
    );
  }
  // the shipped models, loaded over HTTP the way a web app would
  const wav = new Uint8Array(await (await fetch("/fixtures/speech/0000.wav")).arrayBuffer());
  Object.assign(out, await shippedOutputs({ baseUrl: new URL("/models/", location.href).href }, wav));
  return out;
}

main().then(
  (hashes) =>
    fetch("/result", {
      method: "POST",
      body: JSON.stringify({
        ok: true,
        ua: navigator.userAgent,
        threads: rt().pool?.size ?? 1,
        simd: rt().simd,
        hashes,
      }),
    }),
  (e) => fetch("/result", { method: "POST", body: JSON.stringify({ ok: false, error: String(e?.stack ?? e) }) }),
);
