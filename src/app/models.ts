// The models a command uses (the registry's lineup: the shipped models, or --model in place of one), each loaded
// once, lazily (a search by text needs no audio model), and files read into their inputs.
import { fileURLToPath } from "node:url";
import { mediaInput, type MediaKind } from "../pipelines/media-input.js";
import { modelsUrl } from "../pipelines/shipped.js";
import { ModelSet, loadModel, type ModelRef } from "../pipelines/registry.js";
import {
  SPACES,
  allValues,
  type AudioInput,
  type EmbedSpace,
  type Pipeline,
  type ProcessingOptions,
  type Space,
  type DocumentReader,
  type TextRole,
  withPrompt,
} from "../pipelines/pipeline.js";
import type { StoredItem } from "../retrieval/embedding-store.js";
import { chunkId, documentChunks, readTextFile, type ChunkMetadata, type ChunkSettings } from "./documents.js";
import { versionOf } from "./version.js";

export class Models {
  private readonly loaded = new Map<ModelRef, Promise<Pipeline>>();
  private set: Promise<ModelSet> | null = null;
  /** the folder the shipped models load from */
  readonly dir: string;
  /**
   * folder: a Hugging Face model folder used in place of the shipped model that embeds into its space (a CLIP
   * folder for clip-scenes: images and image-space text queries).
   */
  constructor(
    readonly modelsDir?: string,
    readonly ffmpegPath?: string,
    readonly folder?: string,
    /** how the models process their inputs (exifTranspose), for every file and query alike */
    readonly processing: ProcessingOptions = {},
    /** a text model folder (sentence-transformers) for the text space, beside `folder` */
    readonly textFolder?: string,
    /** how text documents are cut into chunks */
    readonly chunking: ChunkSettings = {},
  ) {
    this.dir = modelsDir ?? fileURLToPath(modelsUrl());
  }

  /** The lineup (resolving --model reads its config.json). */
  lineup(): Promise<ModelSet> {
    this.set ??= ModelSet.lineup({ folders: [this.folder, this.textFolder].filter((f) => f !== undefined) });
    return this.set;
  }
  /** The spaces some model here fills. */
  async spaces(): Promise<Set<Space>> {
    const set = await this.lineup();
    return new Set(SPACES.filter((s) => set.forSpace(s)));
  }
  /** The model that fills a space. */
  async ref(space: EmbedSpace): Promise<ModelRef> {
    const r = (await this.lineup()).forSpace(space);
    if (!r) throw new Error(`no model here embeds ${space} items`);
    return r;
  }
  load(ref: ModelRef): Promise<Pipeline> {
    let p = this.loaded.get(ref);
    if (!p) {
      p = loadModel(ref, { modelsDir: this.modelsDir, ...this.processing });
      this.loaded.set(ref, p);
    }
    return p;
  }
  /** The pipeline that fills a space. */
  async pipeline(space: EmbedSpace): Promise<Pipeline> {
    return this.load(await this.ref(space));
  }
  /** The speech recogniser. */
  async transcriber(): Promise<Pipeline> {
    const r = (await this.lineup()).transcriber();
    if (!r) throw new Error("no model here transcribes speech");
    return this.load(r);
  }

  /** The embedding version stamp of a space's model (src/app/version.ts). */
  async version(space: Space): Promise<string> {
    return versionOf(await this.ref(space), this.dir, this.processing);
  }
  /** The width of a space. */
  async dim(space: Space): Promise<number> {
    return (await this.pipeline(space)).dim!;
  }

  /** One file -> its embedding in its space. */
  async embedFile(file: string, space: MediaKind): Promise<Float32Array> {
    const p = await this.pipeline(space);
    // the one input path (pipelines/media-input.ts): a PNG/JPEG/WAV/Y4M goes in as its bytes, as the library's and
    // the service's inputs do (the same bits from every entry point; a 12 MP JPEG decoded at reduced scale), any
    // other format through ffmpeg; a video decodes only the frames the pipeline samples
    const input = await mediaInput(space, file, { ffmpegPath: this.ffmpegPath, numFrames: p.tasks.embed?.frames });
    return allValues(p.embedBatch(space, [input]))[0];
  }

  /**
   * One file -> its items in its space: a media file is one item (id: its path); a text document is its chunks
   * (ids `<path>#<k>`), embedded with the model's document prompt, each carrying its text and lines.  `file` is
   * read; `meta` ({path, bytes, mtimeMs}) goes into every item's metadata.
   */
  async itemsOfFile(
    file: string,
    space: Space,
    meta: { path: string; bytes: number; mtimeMs: number } & Record<string, unknown>,
  ): Promise<StoredItem[]> {
    if (space !== "text")
      return [{ id: meta.path, modality: space, embedding: await this.embedFile(file, space), metadata: meta }];
    const p = await this.pipeline("text"),
      reader = await this.documents();
    const { text, bom } = readTextFile(file);
    const chunks = documentChunks(text, reader, this.chunking);
    const items: StoredItem[] = [];
    // a few chunks a batch: padded to the longest, their attention scores stay small
    for (let i = 0; i < chunks.length; i += 8) {
      const batch = chunks.slice(i, i + 8);
      const embs = allValues(
        p.embedBatch(
          "text",
          batch.map((c) => withPrompt(p.tasks, "document", c.text)),
        ),
      );
      batch.forEach((c, j) => {
        const metadata: ChunkMetadata = {
          ...meta,
          chunk: i + j,
          chunks: chunks.length,
          line: c.line,
          endLine: c.endLine,
          byteStart: c.byteStart + bom,
          byteEnd: c.byteEnd + bom,
          text: c.text,
        };
        items.push({ id: chunkId(meta.path, i + j), modality: "text", embedding: embs[j], metadata });
      });
    }
    return items;
  }

  /** How the text model reads documents, with this command's chunk settings checked against it. */
  async documents(): Promise<DocumentReader> {
    const p = await this.pipeline("text");
    if (!p.documents) throw new Error(`${(await this.ref("text")).name} does not read documents`);
    documentChunks("", p.documents, this.chunking);
    return p.documents;
  }

  /** An audio file (WAV, or MP3/FLAC/Ogg/M4A/... through ffmpeg) as a recogniser's input. */
  async readAudio(file: string): Promise<AudioInput> {
    return mediaInput("audio", file, { ffmpegPath: this.ffmpegPath });
  }

  /** Text -> its embedding in a space whose model embeds text; in a role: with the text encoder's prompt for it. */
  async embedText(text: string, space: EmbedSpace, role?: TextRole): Promise<Float32Array> {
    const p = await this.pipeline(space);
    return allValues(p.embedBatch("text", [role ? withPrompt(p.tasks, role, text) : text]))[0];
  }
}
