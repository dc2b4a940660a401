// Build step: the `polymodal` command as one ES module (plus lazily loaded chunks) in dist/cli-bundle/, so a CLI
// run loads ~8 files instead of ~130: module loading was a quarter of a one-photo `polymodal embed` (0.13 s of
// 0.55 s).  The library (dist/index.js) stays unbundled for users' own bundlers.  Dependencies stay external
// (resolved from node_modules at run time, as the unbundled code does).  The output sits two levels below the
// package root, as every dist/<floor>/ file does, so the paths its modules make from import.meta.url (the shipped
// models, package.json, the service's worker) resolve the same from the bundle.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist/cli-bundle");
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, "dist/cli/main.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  outdir,
  chunkNames: "chunk-[hash]",
  logLevel: "warning",
});
