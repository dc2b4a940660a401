// The web demo's Worker: every model, index and search runs here, off the page's main thread, behind the worker
// RPC (exposeWorker; the page calls it through wrapWorker).  Load progress is posted as { progress } messages
// beside the RPC's answers.
import {
  init,
  env,
  loadPretrained,
  exposeWorker,
  MultimodalIndex,
  VisionEncoder,
  Tensor,
  decodeY4M,
  saveIndex,
  loadIndex,
  deleteIndex,
  browserStorage,
  StreamingMelSpectrogram,
  chunkText,
  type BrowserStorage,
  type SimdBuild,
  type Pipeline,
  type RetrievalResult,
  type ImageTextEmbedder,
  type VideoTextEmbedder,
  type AudioEmbedder,
} from "../dist/index.js";

type Space = "image" | "video" | "audio";
export type Hit = { id: string; score: number; caption: string; yours: boolean };
const SPACES: Space[] = ["image", "video", "audio"];

let clip: ImageTextEmbedder, vt: VideoTextEmbedder, sounds: AudioEmbedder;
let sample: Record<Space, MultimodalIndex>, mine: Record<Space, MultimodalIndex>, dims: Record<Space, number>;
let storage: BrowserStorage;
let vit: VisionEncoder | null = null;
/** The recogniser the microphone feeds: the shipped asr-words, or a Hugging Face folder (Whisper, Wav2Vec2, HuBERT). */
type Recognizer = { transcribe(input: { waveform: Float32Array; sampleRate: number }): { text: string } };
let asr: { name: string; model: Recognizer } | null = null;
/** The spectrogram the page draws: the shipped recogniser's own features, or a Whisper-like 80-band one. */
let display = { sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80, mean: -4, std: 4 };

/**
 * A person's notes: a text encoder (a sentence-transformers folder served by URL) and an index of their chunks, in
 * this worker's memory (what it holds is the text; reload and drop the folder again).
 */
let notes: { name: string; model: Pipeline; index: MultimodalIndex; files: Set<string> } | null = null;
export type NoteHit = { file: string; line: number; endLine: number; text: string; score: number };
/** The note files a dropped folder holds: plain text and the light markup people keep notes in. */
const NOTE_FILE = /\.(txt|text|md|markdown|mdx|rst|org|adoc|asciidoc|tex)$/i;

/** The microphone: its log-mel (what the page draws) as it streams, and the last seconds of audio to transcribe. */
const MIC_SECONDS = 8,
  RATE = 16000;
let mic: {
  mel: StreamingMelSpectrogram;
  audio: Float32Array;
  filled: number;
  sinceText: number;
  /** samples between transcripts: twice the last one's time */
  every: number;
  text: string;
} | null = null;

const hit = (h: RetrievalResult): Hit => ({
  id: h.itemId,
  score: h.score,
  caption: String(h.metadata?.caption ?? h.itemId),
  yours: h.metadata?.yours === true,
});
const counts = (ix: Record<Space, MultimodalIndex>): Record<Space, number> => ({
  image: ix.image.size,
  video: ix.video.size,
  audio: ix.audio.size,
});

/** The k best of the sample collection and the person's own files together. */
function both(space: Space, q: Float32Array, k: number): Hit[] {
  const hits = [...sample[space].search(q, k, space), ...(mine[space].size ? mine[space].search(q, k, space) : [])];
  return hits
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map(hit);
}

/** A file's space and embedding, decoded from its bytes as Node does. */
function embedFile(name: string, bytes: Uint8Array): [Space, Float32Array] {
  const n = name.toLowerCase();
  if (/\.(png|jpe?g)$/.test(n)) return ["image", clip.embedImages([bytes])[0]];
  if (n.endsWith(".wav")) return ["audio", sounds.embed(bytes)];
  if (n.endsWith(".y4m")) return ["video", vt.embedVideos([decodeY4M(bytes).frames])[0]];
  throw new Error("not a PNG, JPEG, WAV or Y4M file");
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const ms = (t0: number): number => r1(performance.now() - t0);

export class DemoWorker {
  /** Loads the models (posting progress) and the indexes; the person's files from `wanted` storage. */
  async start(
    threads: number,
    simd: SimdBuild,
    wanted: BrowserStorage | null,
    origin: string,
  ): Promise<{
    sample: Record<Space, number>;
    mine: Record<Space, number>;
    storage: BrowserStorage;
    threads: number;
    simd: SimdBuild;
    warnings: string[];
  }> {
    const runtime = await init({ threads, simd });
    env.baseUrl = new URL("/models/", origin).href;
    const onProgress = (name: string) => (p: unknown) => postMessage({ progress: { name, ...(p as object) } });
    [clip, vt, sounds] = await Promise.all([
      loadPretrained("clip-scenes", { onProgress: onProgress("clip-scenes") }),
      loadPretrained("video-text", { onProgress: onProgress("video-text") }),
      loadPretrained("audio-events", { onProgress: onProgress("audio-events") }),
    ]);
    const loaded = await Promise.all(
      SPACES.map(async (s) => {
        const r = await fetch(new URL(`/index/${s}.pmx`, origin));
        if (!r.ok) throw new Error(`the ${s} index did not load (HTTP ${r.status})`);
        return MultimodalIndex.load(new Uint8Array(await r.arrayBuffer()));
      }),
    );
    sample = { image: loaded[0], video: loaded[1], audio: loaded[2] };
    dims = { image: clip.dim, video: vt.dim, audio: sounds.dim };
    storage = browserStorage({ storage: wanted ?? undefined });
    mine = {} as Record<Space, MultimodalIndex>;
    // (the relaxed build where the browser lacks relaxed SIMD: the exact one, and why)
    const warnings: string[] = runtime.simdNote ? [runtime.simdNote] : [];
    for (const s of SPACES) {
      let saved: MultimodalIndex | null = null;
      try {
        saved = await loadIndex(`mine-${s}`, { storage });
      } catch (e) {
        // a damaged copy: said, and replaced by the next save (it cannot be read anyway)
        warnings.push(`your saved ${s} files could not be read (${(e as Error).message})`);
      }
      mine[s] = saved ?? new MultimodalIndex(dims[s], { kind: "flat" });
    }
    return { sample: counts(sample), mine: counts(mine), storage, threads, simd: runtime.simd, warnings };
  }

  searchText(q: string): { image: Hit[]; video: Hit[]; timing: string } {
    const t1 = performance.now();
    const [ti] = clip.embedTexts([q]);
    const t2 = performance.now();
    const image = both("image", ti, 8);
    const t3 = performance.now();
    const video = both("video", vt.embedTexts([q])[0], 5);
    return {
      image,
      video,
      timing: `embed text ${r1(t2 - t1)} ms, search images ${r1(t3 - t2)} ms, clips (embed + search) ${ms(t3)} ms`,
    };
  }

  searchFile(name: string, bytes: Uint8Array): { space: Space; hits: Hit[]; timing: string } {
    const t1 = performance.now();
    const [space, e] = embedFile(name, bytes);
    return {
      space,
      hits: both(space, e, space === "image" ? 8 : 5),
      timing: `${name}: decode, embed and search ${ms(t1)} ms`,
    };
  }

  /** Adds files to the person's indexes and saves the indexes that changed (atomically) before answering. */
  async addFiles(
    files: Array<{ name: string; bytes: Uint8Array }>,
  ): Promise<{ added: number; skipped: string[]; mine: Record<Space, number>; timing: string }> {
    const t1 = performance.now(),
      changed = new Set<Space>(),
      skipped: string[] = [];
    for (const f of files) {
      try {
        const [space, e] = embedFile(f.name, f.bytes);
        mine[space].add(`yours/${f.name}`, e, space, { caption: f.name, yours: true });
        changed.add(space);
      } catch (err) {
        skipped.push(`${f.name} (${(err as Error).message})`);
      }
    }
    for (const s of changed) await saveIndex(mine[s], `mine-${s}`, { storage });
    return {
      added: files.length - skipped.length,
      skipped,
      mine: counts(mine),
      timing:
        `added ${files.length - skipped.length} file(s) in ${ms(t1)} ms, ` +
        `saved ${storage === "opfs" ? "to OPFS" : "to IndexedDB"}`,
    };
  }

  async forget(): Promise<Record<Space, number>> {
    for (const s of SPACES) {
      await deleteIndex(`mine-${s}`, { storage });
      mine[s].dispose();
      mine[s] = new MultimodalIndex(dims[s], { kind: "flat" });
    }
    return counts(mine);
  }

  /**
   * Starts a microphone stream at 16 kHz (the page's AudioContext resamples) into a recogniser: the shipped
   * asr-words, or the Hugging Face folder at `model` (a URL, relative to the page), loaded on first use.  Returns
   * the log-mel's number of bands and the recogniser's name.
   */
  async micStart(sampleRate: number, origin: string, model = ""): Promise<{ nMels: number; name: string }> {
    if (sampleRate !== RATE) throw new Error(`the microphone stream must be ${RATE} Hz, got ${sampleRate}`);
    const name = model.trim() ? new URL(model.trim(), origin).href : "asr-words";
    if (asr?.name !== name) {
      const onProgress = (p: object) => postMessage({ progress: { name, ...p } });
      if (name === "asr-words") {
        const shipped = await loadPretrained("asr-words", { onProgress });
        const f = shipped.card.features;
        display = { ...f, mean: f.mean, std: f.std };
        asr = { name, model: shipped };
      } else {
        const loaded = (await loadPretrained(name, { onProgress })) as { tasks?: { transcribe?: boolean } };
        if (!loaded.tasks?.transcribe) throw new Error(`${name} is not a speech recogniser`);
        display = { sampleRate: RATE, nFft: 400, hopLength: 160, nMels: 80, mean: -4, std: 4 };
        asr = { name, model: loaded as unknown as Recognizer };
      }
    }
    mic = {
      mel: new StreamingMelSpectrogram({
        sampleRate: display.sampleRate,
        nFft: display.nFft,
        hopLength: display.hopLength,
        nMels: display.nMels,
      }),
      audio: new Float32Array(MIC_SECONDS * RATE),
      filled: 0,
      sinceText: 0,
      every: 0,
      text: "",
    };
    return { nMels: display.nMels, name };
  }

  /**
   * Samples from the microphone: the log-mel frames they completed, normalised for drawing ((nMels, frames)
   * row-major), and the transcript of the last seconds, recomputed once a second (less often when the recogniser
   * takes longer: every twice its last time).
   */
  micPush(chunk: Float32Array): { mel: Float32Array; frames: number; text: string } {
    if (!mic || !asr) throw new Error("micPush before micStart");
    const m = mic.mel.push(chunk),
      frames = m.shape[1];
    const mel = new Float32Array(m.data.length);
    for (let i = 0; i < mel.length; i++)
      mel[i] = (Math.log((m.data as Float32Array)[i] + 1e-6) - display.mean) / display.std;
    // keep the last MIC_SECONDS of audio
    const a = mic.audio,
      n = Math.min(chunk.length, a.length);
    if (mic.filled + n > a.length) {
      a.copyWithin(0, mic.filled + n - a.length, mic.filled);
      mic.filled = a.length - n;
    }
    a.set(chunk.subarray(chunk.length - n), mic.filled);
    mic.filled += n;
    mic.sinceText += chunk.length;
    if (mic.sinceText >= Math.max(RATE, mic.every) && mic.filled >= RATE / 4) {
      mic.sinceText = 0;
      const t0 = performance.now();
      mic.text = asr.model.transcribe({ waveform: a.slice(0, mic.filled), sampleRate: RATE }).text;
      mic.every = Math.round(((performance.now() - t0) / 1000) * 2 * RATE);
    }
    return { mel, frames, text: mic.text };
  }

  /** Ends the stream: the transcript of the last seconds. */
  micStop(): string {
    if (!mic || !asr) return "";
    const text =
      mic.filled >= RATE / 4
        ? asr.model.transcribe({ waveform: mic.audio.slice(0, mic.filled), sampleRate: RATE }).text
        : mic.text;
    mic = null;
    return text;
  }

  /**
   * Loads the text model at `model` (a folder URL, relative to the page: a sentence-transformers folder) for notes;
   * its index starts empty.  Returns its name.
   */
  async notesModel(origin: string, model: string): Promise<string> {
    const name = new URL(model.trim(), origin).href;
    if (notes?.name === name) return name;
    const onProgress = (p: object) => postMessage({ progress: { name, ...p } });
    const loaded = (await loadPretrained(name, { onProgress })) as unknown as Pipeline;
    if (loaded.tasks.embed?.space !== "text" || !loaded.documents)
      throw new Error(`${name} is not a text encoder (a sentence-transformers folder)`);
    notes?.index.dispose();
    notes = { name, model: loaded, index: new MultimodalIndex(loaded.dim!, { kind: "flat" }), files: new Set() };
    return name;
  }

  /**
   * Adds note files (their paths in the dropped folder, and bytes): each cut into chunks of the model's tokens as
   * `polymodal index` cuts them, embedded with its document prompt.  Other files and text that is not UTF-8 are
   * skipped with the reason.
   */
  addNotes(files: Array<{ name: string; bytes: Uint8Array }>): {
    files: number;
    chunks: number;
    skipped: string[];
    timing: string;
  } {
    if (!notes) throw new Error("addNotes before notesModel: choose a text model first");
    const { model, index } = notes,
      t0 = performance.now(),
      skipped: string[] = [];
    const prompt = model.tasks.embed?.prompts?.document ?? "";
    for (const f of files) {
      if (!NOTE_FILE.test(f.name)) {
        skipped.push(`${f.name} (not a text file)`);
        continue;
      }
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(f.bytes);
      } catch {
        skipped.push(`${f.name} (not UTF-8 text)`);
        continue;
      }
      const chunks = chunkText(text, {
        maxTokens: model.documents!.maxTokens,
        countTokens: (t) => model.documents!.countTokens(t),
      });
      for (let i = 0; i < chunks.length; i += 8) {
        const batch = chunks.slice(i, i + 8);
        const out = model.embedBatch(
          "text",
          batch.map((c) => prompt + c.text),
        );
        batch.forEach((c, j) => {
          const o = out[j];
          if ("error" in o) throw o.error;
          index.add(`${f.name}#${i + j}`, o.value, "text", {
            file: f.name,
            line: c.line,
            endLine: c.endLine,
            text: c.text,
          });
        });
      }
      notes.files.add(f.name);
    }
    return {
      files: notes.files.size,
      chunks: index.size,
      skipped,
      timing: `${files.length - skipped.length} note file(s) chunked and embedded in ${ms(t0)} ms`,
    };
  }

  /** The notes' best chunks for a question (the model's query prompt prepended). */
  searchNotes(q: string, k = 5): { hits: NoteHit[]; timing: string } {
    if (!notes || notes.index.size === 0) return { hits: [], timing: "no notes yet" };
    const t0 = performance.now();
    const prompt = notes.model.tasks.embed?.prompts?.query ?? "";
    const o = notes.model.embedBatch("text", [prompt + q])[0];
    if ("error" in o) throw o.error;
    const hits = notes.index.search(o.value, k, "text").map((h) => {
      const m = h.metadata as { file: string; line: number; endLine: number; text: string };
      return { file: m.file, line: m.line, endLine: m.endLine, text: m.text, score: h.score };
    });
    return { hits, timing: `embed the question and search ${notes.index.size} chunks: ${ms(t0)} ms` };
  }

  /** One ViT-B/16 (the reference design's VisionEncoder defaults, 86 M parameters) embedding of a 224x224 image: ms. */
  vitB16(): number {
    vit ??= new VisionEncoder();
    const x = Tensor.from(
      new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.001)),
      [1, 3, 224, 224],
    );
    const t0 = performance.now();
    vit.forward(x);
    return ms(t0);
  }
}

exposeWorker(new DemoWorker());
