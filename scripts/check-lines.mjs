// `npm run lint`'s second half: no line of source over 120 characters (Biome's formatter wraps code at 120 but
// leaves long strings and comments alone, and does not read assembly/, whose AssemblyScript decorators it cannot
// parse).  Prints each offending line as file:line (length); exits 1 when there is one.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const MAX = 120;
const files = execFileSync(
  "git",
  [
    "ls-files",
    "--cached",
    "--others",
    "--exclude-standard",
    "src",
    "test",
    "bench",
    "scripts",
    "web",
    "assembly",
    "bin",
    "*.ts",
  ],
  { encoding: "utf8" },
)
  .split("\n")
  .filter((f) => /\.(ts|mjs|js)$/.test(f) && !f.includes("/fixtures/"));
const bad = [];
for (const f of files) {
  let text;
  try {
    text = readFileSync(f, "utf8");
  } catch {
    continue;
  } // listed but deleted in the working tree
  text.split("\n").forEach((line, i) => {
    if (line.length > MAX) bad.push(`${f}:${i + 1} (${line.length})`);
  });
}
if (bad.length) {
  console.error(
    `${bad.length} line(s) over ${MAX} ` +
      `characters:\n${bad.slice(0, 50).join("\n")}${bad.length > 50 ? `\n... and ${bad.length - 50} more` : ""}`,
  );
  process.exit(1);
}
console.log(`${files.length} files, every line at most ${MAX} characters`);
