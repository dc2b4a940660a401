// The `polymodal` command: index a folder, search it by text / image / audio / video, transcribe, embed, export,
// info.
// Exit codes: 0 ok, 1 failure, 2 bad usage (unknown command or flag), 3 missing or unsupported input file.
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve, join, relative, isAbsolute, sep } from "node:path";
import { init } from "../bindings/module.js";
import { parseArgs, intFlag, UsageError } from "./args.js";
import { indexFolder } from "./indexer.js";
import { Collection } from "./collection.js";
import { Models } from "./models.js";
import { modalityOf, SUPPORTED, type Modality } from "./media.js";
import { info } from "./info.js";
import { exportShipped, EXPORTABLE } from "./export.js";
import { MultimodalModelOptimizer } from "../models/optimizer.js";
import { SpeechRecognizer } from "../pipelines/speech.js";
import type { IndexKind } from "../retrieval/multimodal-index.js";

const USAGE = `polymodal — multimodal search and speech on a WebAssembly SIMD core, offline

usage:
  polymodal index <folder> [--index DIR] [--kind flat|int8|hnsw] [--quiet]
      embed every image (png, jpg), WAV and video (y4m; mp4/webm/... through ffmpeg) under <folder> with the
      shipped models into a saved index (default <folder>/.polymodal); re-running resumes and skips unchanged files
  polymodal search "<text>" | --image FILE | --audio FILE | --video FILE  [--index DIR] [-k N] [--json]
      text finds images and videos; a file finds the most similar files of its kind
  polymodal transcribe <wav> [--beam N] [--int8] [--json]
      --int8: the model dynamically quantised to int8 (torch's quantize_dynamic numerics)
  polymodal embed <file> | --text "<text>" [--space image|video]
  polymodal export <model> <out.onnx>
      a shipped model (${EXPORTABLE.join(", ")}) as ONNX (opset 17, dynamic batch)
  polymodal info
options:  --models DIR (default: the package's models/)   --ffmpeg PATH   --threads N (default 1; same results)   -h, --help
exit codes: 0 ok, 1 failure, 2 bad usage, 3 missing or unsupported input file`;

class InputError extends Error {
  readonly exitCode = 3;
}

function needFile(f: string | undefined, what: string): string {
  if (!f) throw new UsageError(`${what}: missing file argument`);
  const st = statSync(f, { throwIfNoEntry: false });
  if (!st) throw new InputError(`${f}: no such file`);
  if (!st.isFile()) throw new InputError(`${f}: not a file`);
  return f;
}

function needModality(f: string, want?: Modality): Modality {
  const m = modalityOf(f);
  if (!m) throw new InputError(`${f}: unsupported file type (supported: ${SUPPORTED})`);
  if (want && m !== want) throw new InputError(`${f}: expected a ${want} file, got a ${m} file`);
  return m;
}

const out = (s: string): boolean => process.stdout.write(s + "\n");

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") { out(USAGE); return cmd ? 0 : 2; }
  const common = { models: "string", ffmpeg: "string", help: "boolean", threads: "string" } as const;
  const withModels = (f: Record<string, string | boolean>): Models => new Models(f.models as string | undefined, f.ffmpeg as string | undefined);
  // --threads is read before any command runs: the runtime is made once
  const ti = rest.indexOf("--threads");
  const threads = ti >= 0 ? Number(rest[ti + 1]) : 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError(`--threads must be an integer from 1 to 64, got ${JSON.stringify(rest[ti + 1] ?? "")}`);
  await init({ threads });
  switch (cmd) {
    case "index": {
      const { positional, flags } = parseArgs(rest, { ...common, index: "string", kind: "string", quiet: "boolean" }, { h: "help" });
      if (flags.help) { out(USAGE); return 0; }
      if (positional.length !== 1) throw new UsageError(`index takes one folder, got ${positional.length} arguments`);
      const kind = (flags.kind ?? "flat") as IndexKind;
      if (!["flat", "int8", "hnsw"].includes(kind)) throw new UsageError(`--kind must be flat, int8 or hnsw, got ${JSON.stringify(flags.kind)}`);
      if (!existsSync(positional[0])) throw new InputError(`${positional[0]}: no such folder`);
      const r = await indexFolder(positional[0], { indexDir: flags.index as string | undefined, kind, models: withModels(flags), progress: !flags.quiet });
      out(`indexed ${r.added} new or changed files (${r.unchanged} unchanged, ${r.failed} skipped as unreadable, ${r.ignored} not media) in ${r.seconds.toFixed(1)} s`);
      out(`index ${r.indexDir}: ${r.counts.image} images, ${r.counts.audio} sounds, ${r.counts.video} videos`);
      return 0;
    }
    case "search": {
      const { positional, flags } = parseArgs(rest, { ...common, index: "string", image: "string", audio: "string", video: "string", json: "boolean", k: "string" }, { h: "help" });
      return search(positional, flags, withModels(flags));
    }
    case "transcribe": {
      const { positional, flags } = parseArgs(rest, { ...common, beam: "string", json: "boolean", int8: "boolean" }, { h: "help" });
      if (positional.length !== 1) throw new UsageError(`transcribe takes one WAV file, got ${positional.length} arguments`);
      const f = needFile(positional[0], "transcribe");
      needModality(f, "audio");
      const t0 = performance.now();
      const asr = await withModels(flags).asr();
      const rec = flags.int8 ? new SpeechRecognizer(MultimodalModelOptimizer.quantizeModel(asr.model), asr.card) : asr;
      const r = rec.transcribe(readFileSync(f), { beamWidth: intFlag(flags, "beam", 1) });
      const ms = performance.now() - t0;
      out(flags.json ? JSON.stringify({ file: f, ...r, ms: Math.round(ms) }) : r.text || "(no words recognised)");
      return 0;
    }
    case "embed": {
      const { positional, flags } = parseArgs(rest, { ...common, text: "string", space: "string" }, { h: "help" });
      const models = withModels(flags);
      if (flags.text !== undefined) {
        const space = (flags.space ?? "image") as string;
        if (space !== "image" && space !== "video") throw new UsageError(`--space must be image or video, got ${JSON.stringify(space)}`);
        const e = await models.embedText(String(flags.text), space);
        out(JSON.stringify({ text: flags.text, space, model: space === "image" ? "clip-scenes" : "video-text", dim: e.length, embedding: Array.from(e) }));
        return 0;
      }
      if (positional.length !== 1) throw new UsageError(`embed takes one file (or --text), got ${positional.length} arguments`);
      const f = needFile(positional[0], "embed");
      const m = needModality(f);
      const e = await models.embedFile(f, m);
      out(JSON.stringify({ file: f, modality: m, model: { image: "clip-scenes", audio: "audio-events", video: "video-text" }[m], dim: e.length, embedding: Array.from(e) }));
      return 0;
    }
    case "export": {
      const { positional, flags } = parseArgs(rest, { ...common }, { h: "help" });
      if (flags.help) { out(USAGE); return 0; }
      if (positional.length !== 2) throw new UsageError(`export takes a model name and an output path, got ${positional.length} arguments`);
      const inputs = await exportShipped(positional[0], positional[1], withModels(flags));
      out(`wrote ${positional[1]}: ${positional[0]} as ONNX; inputs ${inputs} (batch and lengths dynamic)`);
      return 0;
    }
    case "info": {
      const { flags } = parseArgs(rest, { ...common, json: "boolean" }, { h: "help" });
      out(await info(flags.models as string | undefined, !!flags.json));
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}; commands: index, search, transcribe, embed, export, info (polymodal --help)`);
  }
}

async function search(positional: string[], flags: Record<string, string | boolean>, models: Models): Promise<number> {
  const k = intFlag(flags, "k", 5);
  const dir = resolve((flags.index as string | undefined) ?? join(".", ".polymodal"));
  const byFile = (["image", "audio", "video"] as Modality[]).filter((m) => flags[m] !== undefined);
  if (byFile.length + (positional.length ? 1 : 0) !== 1) throw new UsageError('search takes one query: "<text>", --image FILE, --audio FILE or --video FILE');
  if (positional.length > 1) throw new UsageError(`search takes one text query (quote it), got ${positional.length} words`);
  const coll = await Collection.open(dir, null);
  const t0 = performance.now();
  const queries: Array<{ space: Modality; vec: Float32Array }> = [];
  let exclude: string | null = null;
  if (byFile.length) {
    const m = byFile[0], f = needFile(flags[m] as string, `--${m}`);
    needModality(f, m);
    queries.push({ space: m, vec: await models.embedFile(f, m) });
    const rel = relative(coll.manifest.root, resolve(f));
    exclude = rel.startsWith("..") || isAbsolute(rel) ? null : rel.split(sep).join("/"); // the query file itself, when it is in the collection
  } else {
    for (const space of ["image", "video"] as const) if (coll.indexes.get(space)?.size) queries.push({ space, vec: await models.embedText(positional[0], space) });
  }
  const results = queries.flatMap(({ space, vec }) => {
    const ix = coll.indexes.get(space);
    if (!ix || ix.size === 0) return [];
    return ix.search(vec, k + (exclude ? 1 : 0), space).filter((h) => h.itemId !== exclude).slice(0, k).map((h) => ({ space, path: h.itemId, score: h.score }));
  });
  const ms = performance.now() - t0;
  if (flags.json) { out(JSON.stringify({ query: positional[0] ?? flags[byFile[0]], results, ms: Math.round(ms) })); return 0; }
  if (queries.length === 0 || results.length === 0) { out("no indexed items of a matching kind"); return 0; }
  for (const { space } of queries) {
    out(`${{ image: "images", audio: "audio", video: "videos" }[space]}:`);
    for (const r of results.filter((x) => x.space === space)) out(`  ${r.score.toFixed(3)}  ${join(coll.manifest.root, r.path)}`);
  }
  out(`(${ms.toFixed(0)} ms)`);
  return 0;
}

export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    process.stderr.write(`polymodal: ${err.message}\n`);
    if (err instanceof UsageError) process.stderr.write("run `polymodal --help` for usage\n");
    process.exitCode = err.exitCode ?? 1;
  }
}
