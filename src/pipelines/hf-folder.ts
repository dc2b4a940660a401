// A Hugging Face model folder, read as Hugging Face writes it: config.json says the architecture, the weights are
// model.safetensors or shards named by model.safetensors.index.json (F32, F16 or BF16), tokenizer.json and
// preprocessor_config.json configure the text and image processing.  From a local folder (Node) or a URL
// (fetched with progress, cancellation and the model cache, as loadPretrained's shipped models are).
import type { Tensor } from "../tensor.js";
import { loadSafetensors } from "../io/safetensors.js";
import { withoutInit } from "../nn/parameter.js";
import type { Module } from "../nn/module.js";
import { HFCLIPModel, clipConfigFromJSON, clipParameterCount } from "../models/hf-clip.js";
import { CLIPImageProcessor, type CLIPImageProcessorConfig } from "../vision/clip-image-processor.js";
import { limits } from "../util/limits.js";
import { Tokenizer } from "../text/tokenizer.js";
import { ImageTextEmbedder } from "./embedders.js";
import type { Pipeline, ProcessingOptions, Tasks } from "./pipeline.js";
import { fetchModelFile, type FetchOptions } from "./model-files.js";
import { FileRefusedError, readRegularFile } from "../io/node-fs.js";
import { nodeImport } from "../util/runtime.js";

/** The files of a folder by name: bytes, or null when the folder has no such file. */
export type FolderReader = (file: string) => Promise<Uint8Array | null>;

const node = nodeImport;

/** Largest file read from a model folder: JSON files (tokenizer.json of 250k-token vocabularies is ~35 MB), weights. */
export const MAX_JSON_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_WEIGHTS_FILE_BYTES = 2 ** 32;

/**
 * Reads files from a local folder (Node): regular files only (a symlink is followed, as the Hugging Face cache's
 * snapshots are symlinks, but a FIFO, a device such as /dev/zero or a folder is refused), their size checked by
 * fstat on the opened file before a byte is read.
 */
export function localFolder(dir: string): FolderReader {
  return async (file) => {
    const path = await node("path");
    const where = path.join(dir, file),
      json = file.endsWith(".json");
    try {
      return await readRegularFile(where, { maxBytes: json ? MAX_JSON_FILE_BYTES : MAX_WEIGHTS_FILE_BYTES });
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      if (e instanceof FileRefusedError && e.max !== undefined)
        throw new Error(
          `loadPretrained: ${where} is ${e.size} bytes, more than a model ` +
            `folder's ${json ? "JSON file" : "weights file"} may hold (${e.max})`,
        );
      if (e instanceof FileRefusedError) throw new Error(`loadPretrained: ${e.message}`);
      throw new Error(`loadPretrained: cannot read ${where}: ${(e as Error).message}`);
    }
  };
}

/** Fetches files below a base URL (a 404 means the folder has no such file). */
export function remoteFolder(base: string | URL, options: FetchOptions = {}): FolderReader {
  const root = new URL(String(base).endsWith("/") ? String(base) : `${base}/`, (globalThis as any).location?.href);
  return async (file) => {
    const url = String(new URL(file, root));
    try {
      return await fetchModelFile(url, file, options);
    } catch (e) {
      if (/gave HTTP 404/.test((e as Error).message)) return null;
      throw e;
    }
  };
}

export function json(where: string, bytes: Uint8Array): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`loadPretrained: ${where} is not JSON (${(e as Error).message})`);
  }
}

/**
 * The checkpoint's tensors by their own key names: model.safetensors, or every shard model.safetensors.index.json
 * names (each key must be in the shard its weight_map says, and no shard may repeat a key).
 */
export async function readWeights(read: FolderReader, where: string): Promise<Record<string, Tensor>> {
  const single = await read("model.safetensors");
  if (single) return loadSafetensors(single);
  const indexBytes = await read("model.safetensors.index.json");
  if (!indexBytes) {
    const pickle = (await read("pytorch_model.bin")) !== null;
    throw new Error(
      `loadPretrained: ${where} has no model.safetensors or ` +
        `model.safetensors.index.json` +
        (pickle
          ? " (only pytorch_model.bin: pickle files are not read; save the weights with safetensors, e.g. " +
            "model.save_pretrained(dir, safe_serialization=True))"
          : ""),
    );
  }
  const index = json(`${where}/model.safetensors.index.json`, indexBytes);
  const map = index?.weight_map;
  if (!map || typeof map !== "object" || Array.isArray(map))
    throw new Error(`loadPretrained: ${where}/model.safetensors.index.json has no "weight_map" object`);
  const entries = Object.keys(map).length;
  if (entries > MAX_WEIGHT_MAP)
    throw new Error(
      `loadPretrained: ${where}/model.safetensors.index.json names ${entries} tensors; at most ${MAX_WEIGHT_MAP} ` +
        `are read`,
    );
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  const bad = shards.filter((s) => typeof s !== "string" || !/^[\w.-]+\.safetensors$/.test(s) || s.startsWith("."));
  if (bad.length)
    throw new Error(
      `loadPretrained: ${where}/model.safetensors.index.json names shard(s) that are not safetensors files in the ` +
        `folder: ${bad.map((s) => JSON.stringify(s)).join(", ")}`,
    );
  const out: Record<string, Tensor> = {};
  const problems: string[] = [],
    missingShards = new Set<string>();
  for (const shard of shards as string[]) {
    const bytes = await read(shard);
    if (!bytes) {
      problems.push(`shard ${shard} is missing`);
      missingShards.add(shard);
      continue;
    }
    for (const [k, t] of Object.entries(loadSafetensors(bytes))) {
      if (Object.hasOwn(out, k)) problems.push(`${k} is in more than one shard`);
      else if (!Object.hasOwn(map, k) || map[k] !== shard)
        problems.push(`${k} is in ${shard} but the index says ${map[k] === undefined ? "nothing of it" : map[k]}`);
      out[k] = t;
    }
  }
  for (const k of Object.keys(map))
    if (!Object.hasOwn(out, k) && !missingShards.has(map[k]))
      problems.push(`${k} is in no shard (the index says ${map[k]})`);
  if (problems.length)
    throw new Error(
      `loadPretrained: ${where}: the sharded checkpoint is inconsistent:\n ` +
        ` ${problems.slice(0, 20).join("\n  ")}${problems.length > 20 ? `\n  ... ${problems.length - 20} more` : ""}`,
    );
  return out;
}

/**
 * The processor must make images of the size the model takes (its position embeddings are for image_size), and may
 * not resize them to more than 4 times that first (`shortest_edge 20000` would cost seconds and a gigabyte per image).
 */
function checkProcessorFits(c: CLIPImageProcessorConfig, imageSize: number, where: string): void {
  const out = c.doCenterCrop ? c.cropSize : "height" in c.size ? c.size : null;
  if (!out)
    throw new Error(
      `loadPretrained: ${where}: without do_center_crop, size must be {"height", "width"} equal to the model's ` +
        `image_size ${imageSize}`,
    );
  if (out.height !== imageSize || out.width !== imageSize)
    throw new Error(
      `loadPretrained: ${where} makes ${out.height}x${out.width} images, and config.json's ` +
        `vision_config.image_size is ${imageSize}`,
    );
  const resized = !c.doResize
    ? 0
    : "shortestEdge" in c.size
      ? c.size.shortestEdge
      : Math.max(c.size.height, c.size.width);
  if (resized > 4 * imageSize)
    throw new Error(
      `loadPretrained: ${where} resizes images to ${resized} pixels, more than 4 times the model's ` +
        `image_size ${imageSize}`,
    );
}

/** most tensors a sharded checkpoint's index may name (real checkpoints have a few thousand) */
const MAX_WEIGHT_MAP = 200_000;

/** What a Hugging Face architecture does, and how a folder of it loads (its config.json already parsed). */
export interface Architecture {
  readonly tasks: Tasks;
  /** the tasks of one folder, where its files refine them (a sentence encoder's prompts) */
  tasksOf?(read: FolderReader, where: string): Promise<Tasks>;
  load(read: FolderReader, where: string, config: unknown, options: ProcessingOptions): Promise<Pipeline>;
}

const TRANSCRIBES: Tasks = { embed: null, transcribe: true };
/** The speech architectures' code loads with the first such folder (a page that never loads one never fetches it). */
const lazyCTC: Architecture["load"] = async (read, where, config) =>
  (await import("./hf-ctc-folder.js")).loadCTCFolder(read, where, config);

const EMBEDS_TEXT: Tasks = { embed: { space: "text", kinds: ["text"] }, transcribe: false };
const lazySentence: Architecture["load"] = async (read, where, config, options) =>
  (await import("./hf-sentence-folder.js")).loadSentenceFolder(read, where, config, options);
const sentenceTasksOf: Architecture["tasksOf"] = async (read, where) =>
  (await import("./hf-sentence-folder.js")).sentenceFolderTasks(read, where);

/** The architectures a Hugging Face folder may hold, by config.json's model_type. */
export const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  bert: { tasks: EMBEDS_TEXT, tasksOf: sentenceTasksOf, load: lazySentence },
  roberta: { tasks: EMBEDS_TEXT, tasksOf: sentenceTasksOf, load: lazySentence },
  "xlm-roberta": { tasks: EMBEDS_TEXT, tasksOf: sentenceTasksOf, load: lazySentence },
  mpnet: { tasks: EMBEDS_TEXT, tasksOf: sentenceTasksOf, load: lazySentence },
  clip: { tasks: ImageTextEmbedder.tasks, load: loadCLIPFolder },
  wav2vec2: { tasks: TRANSCRIBES, load: lazyCTC },
  hubert: { tasks: TRANSCRIBES, load: lazyCTC },
  whisper: {
    tasks: TRANSCRIBES,
    load: async (read, where, config) =>
      (await import("./hf-whisper-folder.js")).loadWhisperFolder(read, where, config),
  },
};
export const HF_ARCHITECTURES = Object.keys(ARCHITECTURES);

/** A folder's config.json and the architecture its model_type names (refused when there is none). */
export async function folderArchitecture(
  read: FolderReader,
  where: string,
): Promise<{ config: unknown; arch: Architecture }> {
  const bytes = await read("config.json");
  if (!bytes)
    throw new Error(
      `loadPretrained: ${where} has no config.json (a Hugging Face model folder holds config.json, ` +
        `model.safetensors and the processor's files)`,
    );
  const config = json(`${where}/config.json`, bytes);
  const type = config?.model_type;
  if (typeof type !== "string" || !Object.hasOwn(ARCHITECTURES, type)) {
    throw new Error(
      `loadPretrained: ${where}/config.json has model_type ${JSON.stringify(type)}; ` +
        `supported: ${HF_ARCHITECTURES.join(", ")}`,
    );
  }
  return { config, arch: ARCHITECTURES[type] };
}

/** A Hugging Face model folder -> the pipeline of its architecture. */
export async function loadHuggingFaceFolder(
  read: FolderReader,
  where: string,
  options: ProcessingOptions = {},
): Promise<Pipeline> {
  const { config, arch } = await folderArchitecture(read, where);
  return arch.load(read, where, config, options);
}

/**
 * A Hugging Face CLIP folder -> an ImageTextEmbedder (HFCLIPModel + CLIPImageProcessor + Tokenizer): texts padded to
 * the batch's longest, truncated to max_position_embeddings with the end-of-text token kept.
 */
async function loadCLIPFolder(
  read: FolderReader,
  where: string,
  config: unknown,
  options: ProcessingOptions,
): Promise<ImageTextEmbedder<HFCLIPModel>> {
  const need = needFile(read, where, "config.json, model.safetensors, tokenizer.json and preprocessor_config.json");
  // every size checked against the limits and against each other before anything is allocated
  const cfg = clipConfigFromJSON(config);
  const processor = CLIPImageProcessor.fromJSON(
    json(`${where}/preprocessor_config.json`, await need("preprocessor_config.json")),
    { exifTranspose: options.exifTranspose },
  );
  checkProcessorFits(processor.config, cfg.visionConfig.imageSize, `${where}/preprocessor_config.json`);
  const tokenizer = Tokenizer.fromJSON(new TextDecoder().decode(await need("tokenizer.json")));
  const weights = await readWeights(read, where);
  checkParameterCount(where, clipParameterCount(cfg), weights);
  const model = loadStrictly(() => new HFCLIPModel(cfg), weights);
  const tv = model.config.textConfig.vocabSize;
  if (tokenizer.vocabSize > tv)
    throw new Error(
      `loadPretrained: ${where}/tokenizer.json has ids up to ${tokenizer.vocabSize - 1} but config.json's ` +
        `text_config.vocab_size is ${tv}`,
    );
  return new ImageTextEmbedder(model, processor, model.config.textConfig.maxPositionEmbeddings, tokenizer, "longest");
}

/**
 * A model built without computing initial values (every weight is loaded next), then loaded strictly from the
 * checkpoint's tensors; its memory is freed if they do not fit it.
 */
export function loadStrictly<M extends Module>(make: () => M, weights: Record<string, Tensor>): M {
  const model = withoutInit(make);
  try {
    model.loadStateDict(weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** A file of the folder, or an Error naming what a folder of this kind holds. */
export function needFile(read: FolderReader, where: string, holds: string): (file: string) => Promise<Uint8Array> {
  return async (file) => {
    const b = await read(file);
    if (!b) throw new Error(`loadPretrained: ${where} has no ${file} (a Hugging Face model folder holds ${holds})`);
    return b;
  };
}

/**
 * The parameter count a config describes, checked against the limits and the weights before anything is allocated:
 * a model much larger than its weights is refused here (near misses reach the strict loader, which names every bad
 * key).
 */
export function checkParameterCount(where: string, params: number, weights: Record<string, Tensor>): void {
  const held = Object.values(weights).reduce((n, t) => n + t.size, 0);
  if (params > limits.maxParameters)
    throw new Error(
      `loadPretrained: ${where}/config.json describes ${params} parameters, more than limits.maxParameters ` +
        `(${limits.maxParameters})`,
    );
  if (params > 2 * held + (1 << 20))
    throw new Error(
      `loadPretrained: ${where}/config.json describes ${params} parameters, and the weights hold ${held} values: ` +
        `they are not this model's`,
    );
}
