// Walking a folder to index: every file under it, sorted, with what could not be read and why.
import { type Stats, readdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Files under dir, sorted.  A folder that cannot be read (EACCES), a broken link, a symlink loop or a name that is
 * not valid UTF-8 is skipped with a reason instead of ending the run; each real folder is walked once, so links
 * back up the tree cannot loop.
 */
export function walk(
  dir: string,
  skip: string,
  out: string[],
  skipped: Array<{ path: string; why: string }>,
  seen = new Set<string>(),
): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    skipped.push({ path: dir, why: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    return;
  }
  if (seen.has(real)) return;
  seen.add(real);
  let entries: Buffer[];
  try {
    entries = readdirSync(dir, { encoding: "buffer" });
  } catch (e) {
    skipped.push({
      path: dir,
      why: `cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    });
    return;
  }
  const names: string[] = [];
  for (const raw of entries) {
    const name = raw.toString("utf8");
    if (!Buffer.from(name, "utf8").equals(raw)) {
      skipped.push({
        path: join(dir, JSON.stringify(raw.toString("latin1")).slice(1, -1)),
        why: "the name is not valid UTF-8",
      });
      continue;
    }
    names.push(name);
  }
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (resolve(p) === skip) continue;
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      skipped.push({
        path: p,
        why:
          (e as NodeJS.ErrnoException).code === "ELOOP"
            ? "symbolic link loop"
            : `cannot stat (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      });
      continue;
    }
    if (st.isDirectory()) walk(p, skip, out, skipped, seen);
    else if (st.isFile()) out.push(p);
  }
}

/** A path as printed: JSON-quoted when it holds control characters (a newline in a name cannot fake a line). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this looks for
export const shown = (p: string): string => (/[\u0000-\u001f\u007f]/.test(p) ? JSON.stringify(p) : p);
