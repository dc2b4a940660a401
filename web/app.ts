// The web demo's page: the UI only.  Models, indexes and searches run in a Worker (web/worker.ts) behind the worker
// RPC, so the page keeps drawing while a model runs.  The worker loads the shipped models over HTTP (progress, Cache
// API, SHA-256 checked) and the sample collection's indexes (built in Node by scripts/demo-web.mjs, the same bytes),
// and keeps the person's own files in OPFS (IndexedDB where there is none).
import { wrapWorker, type BrowserStorage, type LoadProgress } from "../dist/index.js";
import type { DemoWorker, Hit } from "./worker.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const threads = Number(params.get("threads") ?? "1");
// ?simd=relaxed: the relaxed-SIMD build (docs/relaxed-simd.md), fetched as its own chunk only then
const simd = params.get("simd") === "relaxed" ? "relaxed" : "exact";
const status = (s: string): void => {
  $("status").textContent = s;
};

/** What the tests (and a curious user, from the console) read: the last results and when the page is ready. */
const state = {
  ready: false,
  threads,
  /** the kernel build the worker runs (exact where the browser lacks relaxed SIMD) */
  simd: "exact",
  results: {} as Record<string, Array<{ id: string; score: number }>>,
  timing: "",
  mine: 0,
  storage: "",
  /** frames the page drew per second while the worker ran one ViT-B/16 embedding, and how long that took */
  vit: null as null | { fps: number; ms: number },
  /** the notes found by the last question: file, lines, score */
  notes: [] as Array<{ file: string; line: number; endLine: number; score: number }>,
  notesStatus: "",
  /** the live transcript and the log-mel frames drawn so far */
  transcript: "",
  melFrames: 0,
};
(globalThis as unknown as { polymodalDemo: typeof state }).polymodalDemo = state;

const worker = new Worker("/worker.js", { type: "module" });
const remote = wrapWorker<DemoWorker>(worker);

const bars = new Map<string, (p: LoadProgress) => void>();
function progressRow(name: string): void {
  const li = document.createElement("li");
  const label = document.createElement("span"),
    bar = document.createElement("progress"),
    text = document.createElement("span");
  label.textContent = name;
  bar.setAttribute("aria-label", `${name} download`);
  bar.max = 1;
  bar.value = 0;
  li.append(label, bar, text);
  $("models").append(li);
  bars.set(name, (p) => {
    if (!p.file.endsWith(".safetensors")) return;
    bar.max = p.total || 1;
    bar.value = p.loaded;
    text.textContent =
      p.status === "done"
        ? p.fromCache
          ? "from cache"
          : `${(p.loaded / 2 ** 20).toFixed(1)} MB, checked`
        : `${((100 * p.loaded) / (p.total || 1)).toFixed(0)}%`;
  });
}
worker.addEventListener("message", (e: MessageEvent) => {
  const p = (e.data as { progress?: LoadProgress & { name: string } }).progress;
  if (!p) return;
  if (!bars.has(p.name)) progressRow(p.name); // the recogniser loads on the first recording
  bars.get(p.name)!(p);
});

function show(list: string, hits: Hit[], space: string): void {
  const ol = $(list);
  ol.replaceChildren();
  state.results[space] = hits.map((h) => ({ id: h.id, score: h.score }));
  for (const h of hits) {
    const li = document.createElement("li");
    li.dataset.id = h.id;
    if (space === "image" && !h.yours) {
      const img = document.createElement("img");
      img.src = `/data/${h.id}`;
      img.alt = h.caption;
      img.width = 96;
      img.height = 96;
      li.append(img);
    }
    const t = document.createElement("span");
    t.innerHTML =
      `<span class="score">${h.score.toFixed(3)}</span> ` + `${h.yours ? '<span class="yours">yours</span>' : ""}`;
    t.append(h.caption);
    li.append(t);
    ol.append(li);
  }
}

function timing(s: string): void {
  state.timing = s;
  $("timing").textContent = s;
}

function showMine(m: Record<string, number>): void {
  state.mine = m.image + m.video + m.audio;
  $("mine-status").textContent = state.mine
    ? `Your files: ${m.image} images, ${m.video} clips, ${m.audio} sounds.`
    : "Your files: none yet.";
}

/** Frames drawn per second while `work` runs (requestAnimationFrame on this thread). */
async function fpsDuring<T>(work: Promise<T>): Promise<{ fps: number; value: T }> {
  let frames = 0,
    running = true;
  const t0 = performance.now();
  const tick = (): void => {
    if (running) {
      frames++;
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
  const value = await work;
  running = false;
  return { fps: (frames * 1000) / (performance.now() - t0), value };
}

// The microphone: an AudioContext at 16 kHz (the browser resamples), an AudioWorklet handing 128-sample blocks to
// this thread, sent to the worker every 100 ms; the worker returns the log-mel frames they completed (drawn as a
// scrolling image) and the transcript of the last seconds.
const CAPTURE = `class Capture extends AudioWorkletProcessor {
  process(inputs) { const c = inputs[0] && inputs[0][0]; if (c) this.port.postMessage(c.slice(0)); return true; }
}
registerProcessor("polymodal-capture", Capture);`;
let recording: { ctx: AudioContext; stream: MediaStream; timer: number; blocks: Float32Array[]; nMels: number } | null =
  null;

function drawMel(mel: Float32Array, frames: number, nMels: number): void {
  if (!frames) return;
  const canvas = $("mel") as HTMLCanvasElement,
    g = canvas.getContext("2d")!;
  const W = canvas.width,
    H = canvas.height,
    rows = H / nMels;
  // scroll left by `frames` pixels, then draw the new columns (low frequencies at the bottom)
  g.drawImage(canvas, -frames, 0);
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < nMels; b++) {
      const v = Math.max(0, Math.min(1, (mel[b * frames + t] + 2) / 5));
      g.fillStyle = `hsl(${250 - 200 * v}, 90%, ${10 + 55 * v}%)`;
      g.fillRect(W - frames + t, H - (b + 1) * rows, 1, rows);
    }
  }
  state.melFrames += frames;
}

async function startRecording(): Promise<void> {
  const button = $("record");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const ctx = new AudioContext({ sampleRate: 16000 });
    const model = ($("asr-model") as HTMLInputElement).value;
    $("mic-status").textContent = model.trim() ? `loading ${model.trim()}…` : "";
    const { nMels, name } = await remote.micStart(ctx.sampleRate, location.href, model);
    await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([CAPTURE], { type: "text/javascript" })));
    const node = new AudioWorkletNode(ctx, "polymodal-capture");
    const silent = ctx.createGain();
    silent.gain.value = 0; // the graph must reach the destination to be pulled; nothing is heard
    ctx.createMediaStreamSource(stream).connect(node).connect(silent).connect(ctx.destination);
    const blocks: Float32Array[] = [];
    node.port.onmessage = (e: MessageEvent) => blocks.push(e.data as Float32Array);
    let busy = false;
    const timer = window.setInterval(async () => {
      if (busy || !blocks.length) return;
      busy = true;
      const n = blocks.reduce((a, b) => a + b.length, 0),
        chunk = new Float32Array(n);
      let at = 0;
      for (const b of blocks.splice(0)) {
        chunk.set(b, at);
        at += b.length;
      }
      const r = await remote.micPush(chunk);
      drawMel(r.mel, r.frames, nMels);
      if (r.text !== state.transcript) {
        state.transcript = r.text;
        $("transcript").textContent = r.text;
      }
      busy = false;
    }, 100);
    recording = { ctx, stream, timer, blocks, nMels };
    button.textContent = "Stop";
    button.setAttribute("aria-pressed", "true");
    $("mic-status").textContent = `listening (${name === "asr-words" ? "asr-words" : name})…`;
  } catch (e) {
    $("mic-status").textContent = `cannot record: ${(e as Error).message}`;
  }
}

async function stopRecording(): Promise<void> {
  if (!recording) return;
  const r = recording;
  recording = null;
  window.clearInterval(r.timer);
  for (const t of r.stream.getTracks()) t.stop();
  await r.ctx.close();
  const text = await remote.micStop();
  state.transcript = text;
  $("transcript").textContent = text;
  $("record").textContent = "Record";
  $("record").setAttribute("aria-pressed", "false");
  $("mic-status").textContent = "stopped";
}

/** An element files can be dropped on: highlighted while they hover, `onDrop` given what was dropped. */
function dropZone(id: string, onDrop: (dt: DataTransfer | null) => void): void {
  const zone = $(id);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    onDrop(e.dataTransfer);
  });
}

/** Files from a drop (folders walked) or a folder input, each with its path in the folder. */
async function dropped(items: DataTransferItemList | null): Promise<File[]> {
  const out: File[] = [];
  const walk = async (e: FileSystemEntry, path: string): Promise<void> => {
    if (e.isFile)
      out.push(
        await new Promise<File>((res, rej) =>
          (e as FileSystemFileEntry).file((f) => res(rename(f, path + f.name)), rej),
        ),
      );
    else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const c of batch) await walk(c, `${path}${e.name}/`);
      }
    }
  };
  const entries = Array.from(items ?? []).flatMap((i) => (i.webkitGetAsEntry() ? [i.webkitGetAsEntry()!] : []));
  for (const e of entries) await walk(e, "");
  return out;
}
const rename = (f: File, name: string): File => new File([f], name, { type: f.type, lastModified: f.lastModified });

function wireNotes(): void {
  const say = (s: string): void => {
    state.notesStatus = s;
    $("notes-status").textContent = s;
  };
  const add = async (files: File[]): Promise<void> => {
    if (!files.length) return;
    try {
      const model = ($("notes-model") as HTMLInputElement).value.trim();
      if (!model) throw new Error("give the text model's folder URL first");
      say(`loading ${model}…`);
      await remote.notesModel(location.href, model);
      say(`reading ${files.length} file(s)…`);
      const r = await remote.addNotes(
        await Promise.all(
          files.map(async (f) => ({
            name: f.webkitRelativePath || f.name,
            bytes: new Uint8Array(await f.arrayBuffer()),
          })),
        ),
      );
      say(
        `Your notes: ${r.files} file(s), ${r.chunks} passages (${r.timing})` +
          (r.skipped.length ? `; skipped ${r.skipped.join(", ")}` : ""),
      );
      ($("notes-q") as HTMLInputElement).disabled = false;
      ($("notes-go") as HTMLButtonElement).disabled = false;
    } catch (err) {
      say(`Notes: ${(err as Error).message}`);
    }
  };
  $("notes-add").addEventListener("change", (e) => void add(Array.from((e.target as HTMLInputElement).files ?? [])));
  dropZone("notes-drop", (dt) => void dropped(dt?.items ?? null).then(add));
  $("notes-search").addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = ($("notes-q") as HTMLInputElement).value.trim();
    if (!q) return;
    const r = await remote.searchNotes(q);
    state.notes = r.hits.map(({ file, line, endLine, score }) => ({ file, line, endLine, score }));
    $("notes-hits").replaceChildren(
      ...r.hits.map((h) => {
        const li = document.createElement("li"),
          where = document.createElement("strong"),
          text = document.createElement("span");
        where.textContent = `${h.file}:${h.line}-${h.endLine} (${h.score.toFixed(3)}) `;
        text.textContent = h.text.length > 200 ? `${h.text.slice(0, 199)}…` : h.text;
        li.append(where, text);
        return li;
      }),
    );
    timing(r.timing);
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  ($("threads") as HTMLInputElement).checked = threads > 1;
  $("threads").addEventListener("change", (e) => {
    params.set("threads", (e.target as HTMLInputElement).checked ? "2" : "1");
    location.search = params.toString();
  });
  for (const name of ["clip-scenes", "video-text", "audio-events"]) progressRow(name);
  status(`Loading the models in a worker (${threads} thread${threads > 1 ? "s" : ""})…`);
  const started = await remote.start(threads, simd, params.get("storage") as BrowserStorage | null, location.origin);
  state.simd = started.simd;
  state.storage = started.storage;
  $("storage").textContent = started.storage === "opfs" ? "in the origin private file system" : "in IndexedDB";
  showMine(started.mine);
  status(
    `Ready: ${started.sample.image} images, ${started.sample.video} clips, ${started.sample.audio} sounds; loaded ` +
      `in ${(performance.now() - t0).toFixed(0)} ms.${started.warnings.map((w) => ` Note: ${w}.`).join("")}`,
  );

  $("search").addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = ($("q") as HTMLInputElement).value.trim();
    if (!q) return;
    const r = await remote.searchText(q);
    show("images", r.image, "image");
    show("videos", r.video, "video");
    $("sounds").replaceChildren();
    timing(r.timing);
  });
  const searchFile = async (f: File): Promise<void> => {
    for (const l of ["images", "videos", "sounds"]) $(l).replaceChildren();
    try {
      const r = await remote.searchFile(f.name, new Uint8Array(await f.arrayBuffer()));
      show({ image: "images", video: "videos", audio: "sounds" }[r.space], r.hits, r.space);
      timing(r.timing);
    } catch (err) {
      timing(`${f.name}: ${(err as Error).message}`);
    }
  };
  $("file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void searchFile(f);
  });
  dropZone("drop", (dt) => {
    const f = dt?.files[0];
    if (f) void searchFile(f);
  });
  const addFiles = async (files: File[]): Promise<void> => {
    if (!files.length) return;
    const r = await remote.addFiles(
      await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) }))),
    );
    showMine(r.mine);
    timing(`${r.timing}${r.skipped.length ? `; skipped ${r.skipped.join(", ")}` : ""}`);
  };
  $("add").addEventListener("change", (e) => void addFiles(Array.from((e.target as HTMLInputElement).files ?? [])));
  dropZone("mine", (dt) => void addFiles(Array.from(dt?.files ?? [])));
  $("forget").addEventListener("click", async () => showMine(await remote.forget()));
  $("vit").addEventListener("click", async () => {
    ($("vit") as HTMLButtonElement).disabled = true;
    timing("running a ViT-B/16 embedding in the worker…");
    const { fps, value } = await fpsDuring(remote.vitB16());
    state.vit = { fps, ms: value };
    timing(
      `ViT-B/16 (86 M parameters) embedded a 224x224 image in ${value.toFixed(0)} ms in the worker; meanwhile ` +
        `this page drew ${fps.toFixed(0)} frames per second`,
    );
    ($("vit") as HTMLButtonElement).disabled = false;
  });
  $("record").addEventListener("click", () => void (recording ? stopRecording() : startRecording()));
  wireNotes();
  for (const id of ["q", "go", "file", "add", "forget", "vit", "record", "asr-model", "notes-model", "notes-add"])
    ($(id) as HTMLInputElement).disabled = false;
  state.ready = true;
}

main().catch((e: Error) => {
  status(`Failed: ${e.message}`);
  console.error(e);
});
