// The web demo's page: the shipped models loaded over HTTP (progress, Cache API, SHA-256 checked), the sample
// collection's indexes (built in Node by scripts/demo-web.mjs, loaded here byte for byte), search by text and by
// example.  Bundled by esbuild from the package's own entry, as a user's bundler would.
import { init, env, loadPretrained, MultimodalIndex, decodeY4M, type LoadProgress, type RetrievalResult } from "../dist/index.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const threads = Number(params.get("threads") ?? "1");
const status = (s: string): void => { $("status").textContent = s; };
const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)} ms`;

/** What the tests (and a curious user, from the console) read: the last results and when the page is ready. */
const state = { ready: false, threads, results: {} as Record<string, Array<{ id: string; score: number }>>, timing: "" };
(globalThis as unknown as { polymodalDemo: typeof state }).polymodalDemo = state;

function progressRow(name: string): (p: LoadProgress) => void {
  const li = document.createElement("li");
  const label = document.createElement("span"), bar = document.createElement("progress"), text = document.createElement("span");
  label.textContent = name;
  bar.setAttribute("aria-label", `${name} download`);
  bar.max = 1; bar.value = 0;
  li.append(label, bar, text);
  $("models").append(li);
  return (p) => {
    if (!p.file.endsWith(".safetensors")) return;
    bar.max = p.total || 1; bar.value = p.loaded;
    text.textContent = p.status === "done" ? (p.fromCache ? "from cache" : `${(p.loaded / 2 ** 20).toFixed(1)} MB, checked`) : `${((100 * p.loaded) / (p.total || 1)).toFixed(0)}%`;
  };
}

function show(list: string, hits: RetrievalResult[], space: string): void {
  const ol = $(list);
  ol.replaceChildren();
  state.results[space] = hits.map((h) => ({ id: h.itemId, score: h.score }));
  for (const h of hits) {
    const li = document.createElement("li");
    li.dataset.id = h.itemId;
    const caption = String(h.metadata?.caption ?? h.itemId);
    if (space === "image") {
      const img = document.createElement("img");
      img.src = `/data/${h.itemId}`; img.alt = caption; img.width = 96; img.height = 96;
      li.append(img);
    }
    const t = document.createElement("span");
    t.innerHTML = `<span class="score">${h.score.toFixed(3)}</span> `;
    t.append(caption);
    li.append(t);
    ol.append(li);
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await init({ threads });
  ($("threads") as HTMLInputElement).checked = threads > 1;
  $("threads").addEventListener("change", (e) => { params.set("threads", (e.target as HTMLInputElement).checked ? "2" : "1"); location.search = params.toString(); });
  env.baseUrl = new URL("/models/", location.href).href;
  status(`Loading the models (${threads} thread${threads > 1 ? "s" : ""})…`);
  const [clip, vt, sounds, indexes] = await Promise.all([
    loadPretrained("clip-scenes", { onProgress: progressRow("clip-scenes") }),
    loadPretrained("video-text", { onProgress: progressRow("video-text") }),
    loadPretrained("audio-events", { onProgress: progressRow("audio-events") }),
    Promise.all(["image", "video", "audio"].map(async (s) => {
      const r = await fetch(`/index/${s}.pmx`);
      if (!r.ok) throw new Error(`the ${s} index did not load (HTTP ${r.status})`);
      return MultimodalIndex.load(new Uint8Array(await r.arrayBuffer()));
    })),
  ]);
  const [images, videos, audio] = indexes;
  status(`Ready: ${images.size} images, ${videos.size} clips, ${audio.size} sounds; loaded in ${ms(t0)}.`);

  const searchText = (q: string): void => {
    const t1 = performance.now();
    const [ti] = clip.embedTexts([q]);
    const t2 = performance.now();
    show("images", images.search(ti, 8, "image"), "image");
    const t3 = performance.now();
    const [tv] = vt.embedTexts([q]);
    show("videos", videos.search(tv, 5, "video"), "video");
    $("sounds").replaceChildren();
    state.timing = `embed text ${(t2 - t1).toFixed(1)} ms, search images ${(t3 - t2).toFixed(1)} ms, clips (embed + search) ${ms(t3)}`;
    $("timing").textContent = state.timing;
  };

  const searchFile = async (f: File): Promise<void> => {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const name = f.name.toLowerCase(), t1 = performance.now();
    try {
      for (const l of ["images", "videos", "sounds"]) $(l).replaceChildren();
      if (/\.(png|jpe?g)$/.test(name)) show("images", images.search(clip.embedImages([bytes])[0], 8, "image"), "image");
      else if (name.endsWith(".wav")) show("sounds", audio.search(sounds.embed(bytes), 5, "audio"), "audio");
      else if (name.endsWith(".y4m")) show("videos", videos.search(vt.embedVideos([decodeY4M(bytes).frames])[0], 5, "video"), "video");
      else throw new Error("not a PNG, JPEG, WAV or Y4M file");
      state.timing = `${f.name}: decode, embed and search ${ms(t1)}`;
    } catch (e) {
      state.timing = `${f.name}: ${(e as Error).message}`;
    }
    $("timing").textContent = state.timing;
  };

  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = ($("q") as HTMLInputElement).value.trim();
    if (q) searchText(q);
  });
  $("file").addEventListener("change", (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) void searchFile(f); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); const f = e.dataTransfer?.files[0]; if (f) void searchFile(f); });
  for (const id of ["q", "go", "file"]) ($(id) as HTMLInputElement).disabled = false;
  state.ready = true;
}

main().catch((e: Error) => { status(`Failed: ${e.message}`); console.error(e); });
