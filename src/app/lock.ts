// The index folder's writer lock: one process writes an index at a time (a CLI run, or a service taking writes).
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * An exclusive lock on the index folder (a file holding the pid), so two runs cannot write one index at once; a lock
 * left by a process that no longer runs is taken over.  Returns the release function.
 */
export function lockIndex(indexDir: string): () => void {
  mkdirSync(indexDir, { recursive: true });
  const lock = join(indexDir, "index.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      const release = (): void => { try { if (readFileSync(lock, "utf8") === String(process.pid)) unlinkSync(lock); } catch { /* already gone */ } };
      process.once("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(readFileSync(lock, "utf8"));
      let alive = false;
      try { alive = Number.isInteger(pid) && pid > 0 && process.kill(pid, 0); } catch (k) { alive = (k as NodeJS.ErrnoException).code === "EPERM"; }
      if (alive) throw Object.assign(new Error(`another polymodal process (pid ${pid}) is writing ${indexDir}; wait for it to finish or stop it`), { exitCode: 1 });
      unlinkSync(lock); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${indexDir}`);
}
