// Writes the latest `npm run bench` results into docs/benchmarks.md, one marked block per group (a run of one
// group replaces only that group's block), with the machine and the date, so the published numbers always say
// where and when they were measured.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { cpus, platform, arch } from "node:os";
import { fileURLToPath } from "node:url";

const DOC = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
const GROUPS = [
  "gemm",
  "conv",
  "audio",
  "models",
  "hfclip",
  "media",
  "limits",
  "quantized",
  "threads",
  "retrieval",
  "serve",
  "scale",
  "browser",
  "speech",
  "text",
  "relaxed",
  "coldstart",
];

export function machine() {
  const c = cpus();
  return (
    `${c[0]?.model.trim() ?? "unknown CPU"}, ${c.length} cores, Node ${process.versions.node} ` +
    `(V8 ${process.versions.v8}), ${platform()}-${arch()}`
  );
}

/** byGroup: group -> summary lines of this run. */
export function writeBenchmarksDoc(byGroup, path = DOC) {
  if (!existsSync(path) || byGroup.size === 0) return;
  let doc = readFileSync(path, "utf8");
  const when = new Date().toISOString().replace("T", " ").slice(0, 16) + " UTC";
  for (const g of GROUPS) {
    const ls = byGroup.get(g);
    if (!ls) continue;
    const start = `<!-- bench:${g} -->`,
      end = `<!-- /bench:${g} -->`;
    const block = `${start}\n**${g}** — ${when}, ${machine()}:\n\n${ls.map((l) => `- ${l}`).join("\n")}\n${end}`;
    const i = doc.indexOf(start),
      j = doc.indexOf(end);
    doc =
      i >= 0 && j > i
        ? doc.slice(0, i) + block + doc.slice(j + end.length)
        : doc.replace("<!-- bench:end -->", `${block}\n\n<!-- bench:end -->`);
  }
  writeFileSync(path, doc);
  console.log(`\nwrote ${path}`);
}
