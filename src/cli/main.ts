// The `polymodal` command: index a folder, search it by text / image / audio / video, transcribe, embed, export,
// info.
// Exit codes: 0 ok, 1 failure, 2 bad usage (unknown command or flag), 3 missing or unsupported input file.
import { MEDIA_KINDS, WHISPER_FALLBACK, type EmbedSpace, type Space } from "../pipelines/pipeline.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, resolve, join, relative, isAbsolute, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { init, SIMD_BUILDS, type SimdBuild } from "../bindings/module.js";
import { simdBuild } from "../core/index.js";
import { limits } from "../util/limits.js";
import { parseCommandLine, checkAllowed, intFlag, UsageError, type OptionSpec, type Values } from "./args.js";
import { inputFile, locateIndex, InputError } from "./input.js";
import { indexFolder, type IndexReport } from "./indexer.js";
import { Collection } from "../app/collection.js";
import { Models } from "../app/models.js";
import { modalityOf, SUPPORTED } from "../app/media.js";
import { info } from "./info.js";
import { SERVE_OPTIONS, SERVE_HELP } from "./serve-options.js";
import { allValues } from "../pipelines/pipeline.js";
import { exitCodeOf } from "./exit-codes.js";
// the service (fastify) and the queue (BullMQ) load only for the commands that use them
const queue = (): Promise<typeof import("../app/queue.js")> => import("../app/queue.js");
import { shown } from "../app/walk.js";
import { exportModel, EXPORTABLE } from "./export.js";
import { cuesOf, subtitles } from "./subtitles.js";
import type { IndexKind } from "../retrieval/multimodal-index.js";

interface Command {
  /** one line for the command list */
  summary: string;
  /** usage lines and option descriptions for `polymodal <command> --help` */
  help: string;
  options: OptionSpec;
  run(positional: string[], values: Values, models: Models): Promise<number>;
}

const GLOBAL: OptionSpec = {
  models: { type: "string" },
  model: { type: "string" },
  "text-model": { type: "string" },
  "chunk-tokens": { type: "string" },
  pooling: { type: "string" },
  "chunk-overlap": { type: "string" },
  ffmpeg: { type: "string" },
  exif: { type: "boolean" },
  threads: { type: "string" },
  simd: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  "max-pixels": { type: "string" },
  "max-seconds": { type: "string" },
};
const GLOBAL_HELP = `global options (before or after the command, --flag value or --flag=value):
  --models DIR    model cards and weights (default: the package's models/)
  --model DIR     a Hugging Face folder: CLIP (for images and text instead of the shipped clip-scenes), a speech
                  recogniser (transcribe), or a sentence-transformers text encoder (embed --text)
  --text-model DIR a sentence-transformers (or BERT / RoBERTa / XLM-R / MPNet) folder for text documents: index
                  puts .txt/.md/.rst/... files in a text space as chunks, and search "question" finds them
  --chunk-tokens N text documents: tokens per chunk (default: all the text model reads, max_seq_length less its
                  special tokens and document prompt)
  --chunk-overlap N tokens a chunk repeats from the one before (default chunk tokens / 8)
  --pooling MODE  a plain Hugging Face text encoder folder's pooling: mean (default), cls, max or lasttoken
  --ffmpeg PATH   ffmpeg for non-Y4M video (default: ffmpeg on PATH; Debian: apt-get install ffmpeg)
  --exif          turn JPEGs as their EXIF orientation says before embedding (default: as stored, as torchvision
                  and transformers do); part of the model's version, so an index and its queries must agree
  --threads N     worker threads for the large kernels (default 1; results are the same bits at any N)
  --simd BUILD    exact (default: the same bits on every engine and CPU) or relaxed (fused multiply-add: faster,
                  the same bits on every engine of a CPU with FMA, not the exact build's)
  --max-pixels N  largest image decoded, in pixels (default 50000000)
  --max-seconds N longest audio decoded, in seconds (default 3600)
  -h, --help      help for polymodal or for one command
  --version       print the version
a FILE argument may be - to read the file from standard input
exit codes: 0 ok, 1 failure, 2 bad usage, 3 missing or unsupported input file`;

const COMMANDS: Record<string, Command> = {
  index: {
    summary: "embed every image, sound, video and (with --text-model) text document under a folder into an index",
    help: `usage: polymodal index <folder> [--index DIR] [--kind flat|int8|hnsw] [--store file|lancedb:DIR] [--quiet]
       polymodal index <folder> --queue redis://HOST:PORT --store lancedb:DIR [--batch N]   (distributed)
       polymodal index --status --queue redis://HOST:PORT
  Embeds every image (png, jpg; webp/bmp/tiff/gif through ffmpeg), sound (wav; mp3/flac/ogg/opus/m4a through ffmpeg)
  and video (y4m; mp4/webm/... through ffmpeg) under <folder> with the shipped models, and with --text-model DIR
  every text document (txt, md, markdown, mdx, rst, org, adoc, tex; UTF-8) as chunks of its text, into
  <folder>/.polymodal (or --index DIR).  Re-running brings the index up to date with the folder: new and
  changed files are embedded, unchanged ones skipped, items whose files are gone removed, and files that became
  unreadable dropped (with a warning).  Ctrl-C (or SIGTERM) stops after the file in hand; what is done stays saved.
  --dry-run list what would be embedded and removed, changing nothing
  --kind    index kind of a new index (flat: exact float32 scores; int8: 4x smaller, scores from int8 dot products,
            close to flat's but not the same; hnsw: a graph, approximate); an existing index of another kind is
            refused (index into a new folder with --index DIR)
  --store   where a new index keeps its vectors: file (default: in the index folder, written incrementally) or
            lancedb:DIR (a LanceDB database; needs npm install -E @lancedb/lancedb@0.31.0)
  --queue   enqueue the files that are new or changed (by content) as jobs of --batch files (default 16) on a BullMQ
            queue in Redis, for \`polymodal worker\` processes to embed into the --store; prints what it enqueued
  --status  with --queue: jobs waiting, running, done and failed, and files that could not be read (dead letters)
  --quiet   no progress bar`,
    options: {
      index: { type: "string" },
      kind: { type: "string" },
      quiet: { type: "boolean" },
      store: { type: "string" },
      queue: { type: "string" },
      status: { type: "boolean" },
      batch: { type: "string" },
      "dry-run": { type: "boolean" },
    },
    async run(positional, values, models) {
      if (values.status) {
        if (!values.queue) throw new UsageError("--status needs --queue redis://HOST:PORT");
        const s = await (await queue()).queueStatus(String(values.queue));
        out(
          `queue ${values.queue}: ${s.waiting} jobs waiting, ${s.active} running, ${s.delayed} to ` +
            `retry, ${s.completed} done, ${s.failed} failed; ${Object.keys(s.dead).length} unreadable files`,
        );
        for (const [f, why] of Object.entries(s.dead)) out(`  dead letter ${shown(f)}: ${why}`);
        return 0;
      }
      if (values.queue !== undefined) {
        if (positional.length !== 1) throw new UsageError(`index takes one folder, got ${positional.length} arguments`);
        if (!values.store)
          throw new UsageError("--queue needs --store lancedb:<folder or URI> (a store every worker can write)");
        if (!existsSync(positional[0])) throw new InputError(`${positional[0]}: no such folder`);
        const r = await (await queue()).enqueueFolder(positional[0], {
          queue: String(values.queue),
          store: String(values.store),
          batch: intFlag(values, "batch", 16, 1, 10_000),
          models,
        });
        for (const u of r.skipped) process.stderr.write(`warning: skipped ${shown(u.path)}: ${u.why}\n`);
        out(
          `enqueued ${r.files} new or changed files as ${r.jobs} jobs (${r.added} new, ${r.jobs - r.added} ` +
            `already queued or done; ${r.unchanged} files unchanged in the store)`,
        );
        out(
          `run \`polymodal worker --queue ${values.queue}\` on any machine that sees these files; \`polymodal ` +
            `index --status --queue ${values.queue}\` for progress`,
        );
        return 0;
      }
      if (positional.length !== 1) throw new UsageError(`index takes one folder, got ${positional.length} arguments`);
      const kind = (values.kind ?? "flat") as IndexKind;
      if (!["flat", "int8", "hnsw"].includes(kind))
        throw new UsageError(`--kind must be flat, int8 or hnsw, got ${JSON.stringify(values.kind)}`);
      if (!existsSync(positional[0])) throw new InputError(`${positional[0]}: no such folder`);
      // Ctrl-C / SIGTERM: finish the file in hand, save, say what is left (every finished file is already durable)
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (stop.signal.aborted) process.exit(sig === "SIGINT" ? 130 : 143); // a second signal: leave now
        process.stderr.write(`\n${sig}: stopping after the file in hand (again to stop at once)\n`);
        stop.abort(sig);
      };
      process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
      let r: IndexReport;
      try {
        r = await indexFolder(positional[0], {
          indexDir: values.index as string | undefined,
          kind: values.kind === undefined ? undefined : kind,
          models,
          progress: !values.quiet,
          store: values.store as string | undefined,
          dryRun: !!values["dry-run"],
          signal: stop.signal,
        });
      } finally {
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      }
      const notMedia = Object.entries(r.notMedia)
        .sort((a, b) => b[1].length - a[1].length)
        .map(
          ([ext, fs]) => `${fs.length} ${ext} (${fs.slice(0, 3).map(shown).join(", ")}${fs.length > 3 ? ", ..." : ""})`,
        )
        .join("; ");
      if (r.plan) {
        out(
          `would embed ${r.plan.embed.length} new or changed files and remove ${r.plan.remove.length} items whose ` +
            `files are gone (${r.unchanged} unchanged, ${r.failed} unreadable, ${r.ignored} not media); nothing ` +
            `was written`,
        );
        for (const f of r.plan.embed) out(`  embed   ${shown(f)}`);
        for (const f of r.plan.remove) out(`  remove  ${shown(f)}`);
        if (notMedia) out(`not media: ${notMedia}`);
        return 0;
      }
      const also =
        r.removed || r.dropped ? `; ${r.removed} removed as gone, ${r.dropped} dropped as now unreadable` : "";
      out(
        `indexed ${r.added} new or changed files (${r.unchanged} unchanged, ${r.failed} skipped as ` +
          `unreadable, ${r.ignored} not media${also}) in ${r.seconds.toFixed(1)} s`,
      );
      if (notMedia) out(`not media: ${notMedia}`);
      const docs = r.counts.text ? `, ${r.counts.text} text documents` : "";
      if (r.empty) out(`${r.empty} text documents have no words (not indexed)`);
      out(`index ${r.indexDir}: ${r.counts.image} images, ${r.counts.audio} sounds, ${r.counts.video} videos${docs}`);
      if (r.left) {
        out(`interrupted: ${r.left} files left; what was indexed is saved, and the same command finishes the rest`);
        return stop.signal.reason === "SIGTERM" ? 143 : 130;
      }
      return 0;
    },
  },
  search: {
    summary: "search an index by text, or by an image, a sound or a video",
    help: `usage: polymodal search "<text>" | --image FILE | --audio FILE | --video FILE
                        [--index DIR | --store lancedb:DIR] [-k N] [--json]
  Text finds images and videos, and text document chunks (indexed with --text-model; give it here too); a file
  finds the most similar files of its kind.
  --index DIR   the index folder or the folder that was indexed (default: the nearest .polymodal in this folder
                or a parent, else the only one in a subfolder)
  -k N          results per kind (default 5)
  --json        one JSON object on stdout`,
    options: {
      index: { type: "string" },
      image: { type: "string" },
      audio: { type: "string" },
      video: { type: "string" },
      json: { type: "boolean" },
      k: { type: "string", short: "k" },
      store: { type: "string" },
    },
    run: search,
  },
  transcribe: {
    summary: "transcribe speech with the shipped recogniser or a Hugging Face CTC model",
    help: `usage: polymodal transcribe <audio file: WAV, or MP3/FLAC/Ogg/M4A through ffmpeg>
                            [--model DIR] [--beam N] [--language L] [--task transcribe|translate] [--timestamps]
                            [--fallback] [--temperatures T,T,...] [--seed N] [--format txt|json|srt|vtt] [--int8]
                            [--json]
  The shipped recogniser (asr-words) knows 20 words: zero to nine, yes, no, up, down, left, right, on, off, stop, go.
  Other speech comes back as the nearest of those words, sometimes with high confidence.
  --model DIR  a Hugging Face folder: Wav2Vec2ForCTC or HubertForCTC (config.json, model.safetensors,
               preprocessor_config.json, vocab.json; --json adds word times), or Whisper (with tokenizer.json and
               generation_config.json)
  --language L  Whisper: the spoken language, e.g. en or de (default: detected from the first 30 s)
  --task T      Whisper: transcribe (default) or translate (into English)
  --timestamps  Whisper: segments with times (audio over 30 s is always read in windows that seek by them)
  --fallback    Whisper: a window whose tokens repeat (compression ratio > 1.35) or are unlikely (mean log-probability
                < -1) is decoded again, sampled at temperature 0.2, 0.4, ... 1.0; a likely-silent one is skipped
  --temperatures T,T,...  Whisper: the fallback's temperatures (default 0, or 0,0.2,...,1 with --fallback)
  --seed N      Whisper: the sampler's seed (default 0: the same transcript every run)
  --format F    txt (default), json, or srt / vtt subtitles (Whisper's segments, a CTC model's words)
  --beam N   beam search of width N: CTC prefix beams, or Whisper's at temperature 0 (default 1: greedy, or
             Whisper's generation_config.json num_beams)
  --int8     the model dynamically quantised to int8 (torch's quantize_dynamic numerics)
  --json     text, per-step details and the time as JSON`,
    options: {
      beam: { type: "string" },
      json: { type: "boolean" },
      int8: { type: "boolean" },
      language: { type: "string" },
      task: { type: "string" },
      timestamps: { type: "boolean" },
      format: { type: "string" },
      fallback: { type: "boolean" },
      temperatures: { type: "string" },
      seed: { type: "string" },
    },
    async run(positional, values, models) {
      if (positional.length !== 1)
        throw new UsageError(`transcribe takes one WAV file, got ${positional.length} arguments`);
      const f = inputFile(positional[0], "transcribe", "audio");
      needModality(f, "audio");
      const beam = values.beam === undefined ? {} : { beamWidth: intFlag(values, "beam", 1, 1, 1024) };
      const temps = values.temperatures as string | undefined;
      const temperatures = temps?.split(",").map((t) => (/^\s*\d+(\.\d+)?\s*$/.test(t) ? Number(t) : Number.NaN));
      if (temperatures?.some((t) => !(t <= 5)))
        throw new UsageError(
          `--temperatures must be numbers from 0 to 5 separated by commas, got ${JSON.stringify(temps)}`,
        );
      const whisper = {
        ...(values.fallback ? WHISPER_FALLBACK : {}),
        ...(temperatures ? { temperatures } : {}),
        ...(values.seed !== undefined ? { seed: intFlag(values, "seed", 0, 0, 0xffffffff) } : {}),
      };
      const task = values.task as string | undefined;
      if (task !== undefined && task !== "transcribe" && task !== "translate")
        throw new UsageError(`--task must be transcribe or translate, got ${JSON.stringify(task)}`);
      const language = values.language as string | undefined;
      const format = (values.format as string | undefined) ?? (values.json ? "json" : "txt");
      if (!["json", "srt", "vtt", "txt"].includes(format))
        throw new UsageError(`--format must be json, srt, vtt or txt, got ${JSON.stringify(format)}`);
      const t0 = performance.now();
      const asr = await models.transcriber();
      const [r] = allValues(
        (values.int8 ? asr.quantized() : asr).transcribeBatch([await models.readAudio(f)], {
          ...beam,
          ...whisper,
          language,
          task: task as "transcribe" | "translate" | undefined,
          ...(values.timestamps ? { timestamps: true } : {}),
        }),
      );
      const ms = performance.now() - t0;
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (format === "srt" || format === "vtt") {
        const cues = cuesOf(r);
        if (!cues) throw new UsageError(`--format ${format} needs times: Whisper with --timestamps, or a CTC model`);
        process.stdout.write(subtitles(cues, format));
        return 0;
      }
      out(
        values.json || format === "json"
          ? JSON.stringify({ file: positional[0], ...r, ms: Math.round(ms) })
          : r.text || (r.speech ? "(no words recognised)" : "(no speech)"),
      );
      return 0;
    },
  },
  embed: {
    summary: "print a file's or a text's embedding as JSON",
    help: `usage: polymodal embed <file> | --text "<text>" [--space image|video|text] [--model DIR]
  --space   for --text: the image space (clip-scenes, default) or the video space (video-text), or text: a
            sentence-transformers folder's own space (the default when --model is one)`,
    options: { text: { type: "string" }, space: { type: "string" } },
    async run(positional, values, models) {
      if (values.text !== undefined) {
        const lineup = await models.lineup();
        const textSpaces: EmbedSpace[] = [
          ...(lineup.forSpace("text") ? (["text"] as const) : []),
          ...lineup.spacesFor("text").map((c) => c.space),
        ];
        const space = (values.space ?? textSpaces[0]) as EmbedSpace;
        if (!textSpaces.includes(space))
          throw new UsageError(`--space must be one of ${textSpaces.join(", ")}, got ${JSON.stringify(space)}`);
        const e = await models.embedText(String(values.text), space);
        out(
          JSON.stringify({
            text: values.text,
            space,
            model: (await models.ref(space)).name,
            dim: e.length,
            embedding: Array.from(e),
          }),
        );
        return 0;
      }
      if (positional.length !== 1)
        throw new UsageError(`embed takes one file (or --text), got ${positional.length} arguments`);
      const f = inputFile(positional[0], "embed");
      const m = needModality(f);
      if (m === "text")
        throw new InputError(
          `${f}: unsupported file type for embed (a text document's chunks are embedded by index; a text's ` +
            `embedding: embed --text "...")`,
          "unsupported_input",
        );
      const e = await models.embedFile(f, m);
      out(
        JSON.stringify({
          file: positional[0],
          modality: m,
          model: (await models.ref(m)).name,
          dim: e.length,
          embedding: Array.from(e),
        }),
      );
      return 0;
    },
  },
  export: {
    summary: "write a shipped model as ONNX",
    help: `usage: polymodal export <model> <out.onnx>
  A model (${EXPORTABLE}) as ONNX (opset 17, dynamic batch and lengths).`,
    options: {},
    async run(positional, _values, models) {
      if (positional.length !== 2)
        throw new UsageError(`export takes a model name and an output path, got ${positional.length} arguments`);
      const inputs = await exportModel(positional[0], positional[1], models);
      out(`wrote ${positional[1]}: ${positional[0]} as ONNX; inputs ${inputs} (batch and lengths dynamic)`);
      return 0;
    },
  },
  worker: {
    summary: "embed files from an index queue (Redis/BullMQ) into its store, until stopped",
    help: `usage: polymodal worker --queue redis://HOST:PORT --root DIR[${delimiter}DIR...] --store lancedb:URI
                        [--concurrency N] [--lock-ms N] [--quiet]
  Takes jobs that \`polymodal index <folder> --queue ... --store lancedb:...\` enqueued, embeds their files with the
  shipped models (or --models) and upserts them into the job's store.  Run one per core, on any number of machines
  that see the files at the same paths.  SIGTERM / Ctrl-C finishes the job in hand, then exits.
  --root DIRS      the folders whose files this worker may read (${delimiter}-separated); a job reaching outside fails
  --store URI      the store this worker may write; a job naming another fails
  --max-file-mb N  largest file read (default 1024)
  --concurrency N  jobs at once in this process (default 1)
  --lock-ms N      how long a job stays claimed by a worker that stopped answering before another takes it
                   (default 30000)
  --quiet          no line per file`,
    options: {
      queue: { type: "string" },
      concurrency: { type: "string" },
      "lock-ms": { type: "string" },
      quiet: { type: "boolean" },
      root: { type: "string" },
      store: { type: "string" },
      "max-file-mb": { type: "string" },
    },
    async run(positional, values, models) {
      if (positional.length) throw new UsageError(`worker takes no arguments, got ${positional.join(" ")}`);
      if (!values.queue) throw new UsageError("worker needs --queue redis://HOST:PORT");
      if (!values.root) throw new UsageError("worker needs --root DIR: the folder(s) whose files it may read");
      if (!values.store) throw new UsageError("worker needs --store lancedb:URI: the store it may write");
      const w = (await queue()).startWorker({
        queue: String(values.queue),
        models,
        roots: String(values.root).split(delimiter).filter(Boolean),
        stores: [String(values.store)],
        maxFileBytes: intFlag(values, "max-file-mb", 1024, 1, 1 << 20) * 1024 * 1024,
        concurrency: intFlag(values, "concurrency", 1, 1, 64),
        lockMs: intFlag(values, "lock-ms", 30_000, 100, 3_600_000),
        onFile: values.quiet
          ? undefined
          : (f, error) => out(error ? `skipped ${shown(f.rel)}: ${error}` : `indexed ${shown(f.rel)}`),
        onJob: (event, id, detail) =>
          process.stderr.write(`polymodal worker: job ${id.slice(0, 12)} ${event}: ${detail}\n`),
      });
      await w.worker.waitUntilReady();
      out(`polymodal worker: waiting for jobs on ${values.queue}`);
      await new Promise<void>((done) => {
        const stop = (sig: string): void => {
          process.stderr.write(`polymodal worker: ${sig}: finishing the job in hand\n`);
          void w.close().then(done);
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      process.exit(0); // sockets closed; nothing left to flush
    },
  },
  serve: {
    summary: "an HTTP service: embed, search, index and transcribe over JSON, with metrics",
    help: SERVE_HELP,
    options: SERVE_OPTIONS,
    async run(positional, values, models) {
      const { serve } = await import("./serve.js");
      const threads = intFlag(values, "threads", 1, 1, 64);
      const code = await serve(positional, values, models.dir, threads, models.folder, models.processing, simdBuild());
      process.exit(code); // worker threads and sockets are closed; nothing is left to flush
    },
  },
  repair: {
    summary: "keep every valid record of an index whose log is damaged (when a command says so)",
    help: `usage: polymodal repair [--index DIR]
  When a disk error or an edit damaged an index's log, commands refuse it and name the byte.  repair keeps every
  valid record around the damage, writes each space anew and keeps the damaged log beside it (<log>.damaged-<time>).
  --index DIR   the index folder or the folder that was indexed (default: as for search)`,
    options: { index: { type: "string" } },
    async run(positional, values) {
      if (positional.length) throw new UsageError(`repair takes no arguments, got ${positional.join(" ")}`);
      const dir = locateIndex(values.index as string | undefined);
      for (const r of await Collection.repair(dir)) {
        const bad = r.damaged.flatMap((d) => d.ranges.map(([a, b]) => `${shown(d.log)} bytes ${a}-${b}`));
        const damage = bad.length
          ? `; skipped damaged ${bad.join(", ")} (kept beside as .damaged-*)`
          : ", no damage found";
        out(`${r.space}: ${r.items} items${damage}`);
      }
      return 0;
    },
  },
  info: {
    summary: "the shipped models, their measured metrics, the build and the runtime",
    help: `usage: polymodal info [--json]`,
    options: { json: { type: "boolean" } },
    async run(_positional, values, models) {
      out(await info(models.modelsDir, !!values.json));
      return 0;
    },
  },
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    "polymodal — multimodal search and speech on a WebAssembly SIMD core, offline",
    "",
    "usage: polymodal <command> [options]    (polymodal <command> --help for its options)",
    "commands:",
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(w)}  ${c.summary}`),
    GLOBAL_HELP,
  ].join("\n");
}

function version(): string {
  return JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")).version;
}

/** A text chunk's place in its file, from its item's metadata (src/app/documents.ts); nothing for a media item. */
function chunkOf(md: Record<string, unknown>): {
  file?: string;
  chunk?: number;
  line?: number;
  endLine?: number;
  text?: string;
} {
  if (typeof md.chunk !== "number" || typeof md.path !== "string") return {};
  return {
    file: md.path,
    chunk: md.chunk,
    line: md.line as number,
    endLine: md.endLine as number,
    text: md.text as string,
  };
}

/** A chunk's first words on one line. */
const snippet = (text: string | undefined): string => {
  const one = (text ?? "").replace(/\s+/g, " ").trim();
  return JSON.stringify(one.length > 100 ? `${one.slice(0, 99)}…` : one);
};

function needModality(f: string, want?: Space): Space {
  const m = modalityOf(f);
  if (!m) throw new InputError(`${f}: unsupported file type (supported: ${SUPPORTED})`, "unsupported_input");
  if (want && m !== want) throw new InputError(`${f}: expected a ${want} file, got a ${m} file`, "unsupported_input");
  return m;
}

const out = (s: string): boolean => process.stdout.write(s + "\n");

export async function main(argv: string[]): Promise<number> {
  const all: OptionSpec = { ...GLOBAL };
  for (const c of Object.values(COMMANDS)) Object.assign(all, c.options);
  const cl = parseCommandLine(argv, all);
  if (cl.values.version) {
    out(version());
    return 0;
  }
  if (!cl.command || cl.command === "help") {
    const sub = cl.command === "help" ? cl.positional[0] : undefined;
    out(sub && COMMANDS[sub] ? `${COMMANDS[sub].help}\n${GLOBAL_HELP}` : usage());
    return cl.values.help || cl.command === "help" ? 0 : 2;
  }
  const cmd = COMMANDS[cl.command];
  if (!cmd)
    throw new UsageError(
      `unknown command ${JSON.stringify(cl.command)}; commands: ${Object.keys(COMMANDS).join(", ")}`,
    );
  if (cl.values.help) {
    out(`${cmd.help}\n${GLOBAL_HELP}`);
    return 0;
  }
  checkAllowed(cl, { ...GLOBAL, ...cmd.options }, cl.command);
  // input limits (src/util/limits.ts) before anything is decoded
  if (cl.values["max-pixels"] !== undefined) limits.maxPixels = intFlag(cl.values, "max-pixels", limits.maxPixels, 1);
  if (cl.values["max-seconds"] !== undefined)
    limits.maxAudioSeconds = intFlag(cl.values, "max-seconds", limits.maxAudioSeconds, 1);
  // the runtime is made once, before any command runs
  // (serve: the kernel threads are the workers'; its event loop only searches the index)
  const simd = cl.values.simd === undefined ? "exact" : String(cl.values.simd);
  if (!SIMD_BUILDS.includes(simd as SimdBuild))
    throw new UsageError(`--simd must be exact or relaxed, got ${JSON.stringify(simd)}`);
  // Node 20's V8 has relaxed SIMD behind a flag (22+ ship it): the command turns it on itself, before any module
  // compiles, rather than make users restart node with it.  (A library never sets process-wide V8 flags; init()
  // says why it fell back instead.)
  if (simd === "relaxed" && process.versions.node.startsWith("20."))
    (await import("node:v8")).setFlagsFromString("--experimental-wasm-relaxed-simd");
  const runtime = await init({
    threads: cl.command === "serve" ? 1 : intFlag(cl.values, "threads", 1, 1, 64),
    simd: simd as SimdBuild,
  });
  if (runtime.simdNote) process.stderr.write(`polymodal: ${runtime.simdNote}\n`);
  const hf = cl.values.model as string | undefined;
  if (hf !== undefined && !(existsSync(hf) && statSync(hf).isDirectory()))
    throw new UsageError(
      `--model ${hf}: no such folder (a Hugging Face CLIP folder holds config.json, model.safetensors, ` +
        `tokenizer.json and preprocessor_config.json)`,
    );
  const textFolder = cl.values["text-model"] as string | undefined;
  if (textFolder !== undefined && !(existsSync(textFolder) && statSync(textFolder).isDirectory()))
    throw new UsageError(
      `--text-model ${textFolder}: no such folder (a sentence-transformers folder holds config.json, ` +
        `model.safetensors, tokenizer.json and modules.json)`,
    );
  const modes = ["mean", "cls", "max", "lasttoken"];
  if (cl.values.pooling !== undefined && !modes.includes(String(cl.values.pooling)))
    throw new UsageError(`--pooling must be one of ${modes.join(", ")}, got ${JSON.stringify(cl.values.pooling)}`);
  const pooling = cl.values.pooling === undefined ? {} : { pooling: cl.values.pooling as "mean" };
  const chunking = {
    chunkTokens: cl.values["chunk-tokens"] === undefined ? undefined : intFlag(cl.values, "chunk-tokens", 0, 1),
    overlapTokens: cl.values["chunk-overlap"] === undefined ? undefined : intFlag(cl.values, "chunk-overlap", 0, 0),
  };
  return cmd.run(
    cl.positional,
    cl.values,
    new Models(
      cl.values.models as string | undefined,
      cl.values.ffmpeg as string | undefined,
      hf,
      { exifTranspose: !!cl.values.exif, ...pooling },
      textFolder,
      chunking,
    ),
  );
}

async function search(positional: string[], values: Values, models: Models): Promise<number> {
  const k = intFlag(values, "k", 5, 1, 100_000);
  const byFile = MEDIA_KINDS.filter((m) => values[m] !== undefined);
  if (byFile.length + (positional.length ? 1 : 0) !== 1)
    throw new UsageError('search takes one query: "<text>", --image FILE, --audio FILE or --video FILE');
  if (positional.length > 1)
    throw new UsageError(`search takes one text query (quote it), got ${positional.length} words`);
  // a shared LanceDB alone (--store lancedb:URI), or an index folder
  const shared = values.store !== undefined && values.index === undefined;
  const dir = shared ? String(values.store) : locateIndex(values.index as string | undefined);
  // searching writes nothing
  const coll = shared ? await Collection.openStore(dir) : await Collection.open(dir, null, { readOnly: true });
  const t0 = performance.now();
  const queries: Array<{ space: Space; model: string; vec: Float32Array }> = [];
  const textModel = values["text-model"] !== undefined;
  const lineup = await models.lineup();
  let exclude: string | null = null;
  if (byFile.length) {
    const m = byFile[0],
      f = inputFile(values[m] as string, `--${m}`, m);
    needModality(f, m);
    await coll.checkVersion(m, await models.version(m));
    queries.push({ space: m, model: lineup.forSpace(m)!.name, vec: await models.embedFile(f, m) });
    const rel = relative(coll.manifest.root || process.cwd(), resolve(f));
    // the query file itself, when it is in the collection
    exclude = rel.startsWith("..") || isAbsolute(rel) ? null : rel.split(sep).join("/");
  } else {
    for (const { space, ref } of lineup.spacesFor("text")) {
      if (!(await coll.stores.get(space)?.count())) continue;
      await coll.checkVersion(space, await models.version(space));
      queries.push({ space, model: ref.name, vec: await models.embedText(positional[0], space, "query") });
    }
  }
  // one ranked list per space: scores of different models are not comparable, so they are never merged
  const groups = await Promise.all(
    queries.map(async ({ space, model, vec }) => {
      const st = coll.stores.get(space);
      const [hits] = st ? await st.search([vec], k + (exclude ? 1 : 0)) : [[]];
      return {
        space,
        model,
        results: hits
          .filter((h) => h.id !== exclude)
          .slice(0, k)
          .map((h) => ({ path: h.id, score: h.score, space, model, ...chunkOf(h.metadata) })),
      };
    }),
  );
  await coll.close();
  const ms = performance.now() - t0;
  if (values.json) {
    const one = groups.length === 1 ? { results: groups[0].results } : {};
    out(JSON.stringify({ query: positional[0] ?? values[byFile[0]], index: dir, groups, ...one, ms: Math.round(ms) }));
    return 0;
  }
  if (groups.every((g) => g.results.length === 0)) {
    const docs = !textModel && (await coll.stores.get("text")?.count()) ? " (text documents: give --text-model)" : "";
    out(`no indexed items of a matching kind${docs}`);
    return 0;
  }
  for (const g of groups) {
    out(`${{ image: "images", audio: "audio", video: "videos", text: "text" }[g.space]}:`);
    for (const r of g.results) {
      const at = "chunk" in r ? `:${r.line}-${r.endLine}` : "";
      out(`  ${r.score.toFixed(3)}  ${shown(join(coll.manifest.root, r.file ?? r.path))}${at}`);
      if ("chunk" in r) out(`         ${snippet(r.text)}`);
    }
  }
  out(`(${ms.toFixed(0)} ms; index ${relative(process.cwd(), dir) || "."})`);
  return 0;
}

export async function run(argv: string[]): Promise<void> {
  // `polymodal search x | head -1`: a reader that closes the pipe ends the process quietly, as Unix tools do
  for (const s of [process.stdout, process.stderr]) {
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
      else throw e;
    });
  }
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`polymodal: ${(e as Error).message}\n`);
    if (e instanceof UsageError) process.stderr.write("run `polymodal --help` for usage\n");
    process.exitCode = exitCodeOf(e);
  }
}
