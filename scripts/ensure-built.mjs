// `npm run demo`'s first step: builds only when dist/ is missing or older than a source (npm install already ran
// the build through `prepare`, so a fresh checkout does not build twice).
import { execSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};
const built = ["dist/index.js", "dist/cli-bundle/main.js", "dist/browser/polymodal.js", "dist/polymodal.wasm"];
const stale =
  built.some((f) => !existsSync(f)) ||
  Math.max(newest("src"), newest("assembly")) > Math.min(...built.map((f) => statSync(f).mtimeMs));
if (stale) execSync("npm run build", { stdio: "inherit" });
else console.log("dist/ is up to date (npm run build to rebuild)");
