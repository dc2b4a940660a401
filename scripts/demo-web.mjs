// `npm run demo:web`: the web demo.  Writes the sample collection (as `npm run demo` does) when demo-data/ has none,
// embeds it in Node with the shipped models into one index per space (demo-data/.web/<space>.pmx: the page loads
// these bytes and searches them with the same bits), bundles web/app.ts and its worker (web/worker.ts, where the
// models run) with esbuild, and serves the page on
// 127.0.0.1 with the headers threads need (COOP/COEP).  Prints the URL; Ctrl-C stops it.
//   node scripts/demo-web.mjs [--port 8080] [--host 127.0.0.1]
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { init, MultimodalIndex, loadPretrained } from "../dist/index.js";
import { writeSampleCollection } from "./sample-collection.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    data: { type: "string" },
  },
});
const data = resolve(values.data ?? join(root, "demo-data"));

/** One index per space from the collection's files, with each file's caption (its name says it) as metadata. */
async function buildIndexes() {
  if (!existsSync(join(data, "images"))) writeSampleCollection(data);
  await init();
  const [clip, vt, sounds] = await Promise.all([
    loadPretrained("clip-scenes"),
    loadPretrained("video-text"),
    loadPretrained("audio-events"),
  ]);
  const spaces = {
    image: ["images", clip.dim, (b) => clip.embedImages([b])[0]],
    video: ["videos", vt.dim, (b) => vt.embedVideos([b])[0]],
    audio: ["sounds", sounds.dim, (b) => sounds.embed(b)],
  };
  mkdirSync(join(data, ".web"), { recursive: true });
  const counts = {};
  for (const [space, [folder, dim, embed]] of Object.entries(spaces)) {
    const ix = new MultimodalIndex(dim, { kind: "flat" });
    const files = existsSync(join(data, folder)) ? readdirSync(join(data, folder)).sort() : [];
    for (const f of files) {
      const id = `${folder}/${f}`;
      try {
        // the page embeds a dropped file the same way: decoded from its bytes
        ix.add(id, embed(readFileSync(join(data, id))), space, {
          caption: f
            .replace(/^\d+-/, "")
            .replace(/\.\w+$/, "")
            .replace(/-/g, " "),
        });
      } catch (e) {
        console.warn(`skipped ${id}: ${e.message}`);
      }
    }
    writeFileSync(join(data, ".web", `${space}.pmx`), ix.save());
    counts[space] = ix.size;
    ix.dispose?.();
  }
  return counts;
}

/** The page's script and its worker's, bundled from the package's entry as a user's bundler would. */
async function bundle() {
  const r = await build({
    entryPoints: { app: join(root, "web/app.ts"), worker: join(root, "web/worker.ts") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: true,
    sourcemap: "inline",
    outdir: "/out",
    logLevel: "error",
  });
  return Object.fromEntries(r.outputFiles.map((f) => [`/${f.path.split("/").pop()}`, f.text]));
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".json": "application/json",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".wav": "audio/wav",
  ".y4m": "video/x-yuv4mpeg2",
  ".pmx": "application/octet-stream",
  ".safetensors": "application/octet-stream",
};

/**
 * A regular file under `base` (its real path: a symlink out of the folder is not followed), or null; a URL that
 * does not decode (`/models/%`) is null too.
 */
function under(base, rel) {
  let name;
  try {
    name = decodeURIComponent(rel);
  } catch {
    return null;
  }
  if (name.includes("\0")) return null;
  const realBase = realpathSync(base),
    p = resolve(realBase, "." + sep + name);
  if (!p.startsWith(realBase + sep) || !existsSync(p)) return null;
  const real = realpathSync(p);
  return real.startsWith(realBase + sep) && statSync(real).isFile() ? real : null;
}

const t0 = performance.now();
const counts = await buildIndexes();
const scripts = await bundle(); // /app.js, /worker.js
const server = createServer((req, res) => {
  let url;
  try {
    url = new URL(req.url, "http://x");
  } catch {
    res.writeHead(400).end();
    return;
  }
  const headers = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-cache",
  };
  let file = null,
    body = null;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, headers).end();
    return;
  }
  if (url.pathname === "/") file = join(root, "web/index.html");
  else if (scripts[url.pathname] !== undefined) body = scripts[url.pathname];
  else if (url.pathname === "/app.css") file = join(root, "web/app.css");
  else if (url.pathname.startsWith("/models/")) file = under(join(root, "models"), url.pathname.slice(8));
  else if (url.pathname.startsWith("/polymodal/"))
    file = under(join(root, "dist/browser"), url.pathname.slice(11)); // the prebuilt bundle and worker
  else if (url.pathname.startsWith("/index/")) file = under(join(data, ".web"), url.pathname.slice(7));
  else if (url.pathname.startsWith("/data/")) file = under(data, url.pathname.slice(6));
  if (!file && body === null) {
    res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found");
    return;
  }
  let bytes;
  try {
    bytes = body !== null ? Buffer.from(body) : readFileSync(file);
  } catch {
    res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found");
    return;
  }
  res.writeHead(200, {
    ...headers,
    "content-type": TYPES[extname(file ?? "x.js")] ?? "application/octet-stream",
    "content-length": bytes.length,
  });
  res.end(req.method === "HEAD" ? undefined : bytes);
});
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  console.log(
    `indexed ${counts.image} images, ${counts.video} clips, ${counts.audio} sounds from ${data} ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`polymodal web demo: http://${values.host}:${a.port}/`);
});
server.on("error", (e) => {
  console.error(`cannot serve on ${values.host}:${values.port}: ${e.message}`);
  process.exit(1);
});
for (const sig of ["SIGINT", "SIGTERM"])
  process.once(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
