// The index folder's writer lock: one process writes an index folder for as long as it has it open for writing (a
// CLI run, or a service), so no process ever writes from a stale view of the folder.
//
//   <dir>/index.lock   {pid, host, boot, start, token, since}: who holds it.  `start` is the process's start time
//                      as the kernel counts it (Linux /proc/<pid>/stat) and `boot` the boot id, so a PID reused by
//                      another process, or the same PID after a restart (a container's PID 1), is seen as stale.
//
// Taking it: the owner's record is written to a temporary file and hard-linked to index.lock (atomic: a lock file is
// never seen half-written, and link fails if one exists).  A lock whose owner is provably gone is taken over without
// an unlink race: the taker first claims that one lock instance (`index.lock.<its token>.claim`, created
// exclusively, so exactly one process takes over a given stale lock), checks it is still the same instance, and
// renames its own record over it.  A lock held on another host, or by a live process, is never taken.
import { PolymodalError } from "../util/errors.js";
import { hostname } from "node:os";
import {
  type Stats,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export interface LockOwner {
  pid: number;
  host: string;
  boot: string | null;
  start: string | null;
  token: string;
  since: string;
}

/** The index is being written by someone else, or its lock file is not one we can judge. */
export class IndexLockedError extends PolymodalError {
  constructor(
    message: string,
    readonly owner: LockOwner | null = null,
  ) {
    super("locked", message);
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}
/** The kernel's start time of a process (clock ticks since boot), or null where there is no /proc. */
function startOf(pid: number): string | null {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return null;
  const fields = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null; // field 22 of stat(5); fields[0] is field 3
}
const BOOT = readText("/proc/sys/kernel/random/boot_id");
const HOST = hostname();

/** lock tokens this process holds, by path */
const held = new Map<string, string>();
process.once("exit", () => {
  for (const [path, token] of held) releaseFile(path, token);
});

function me(): LockOwner {
  return {
    pid: process.pid,
    host: HOST,
    boot: BOOT,
    start: startOf(process.pid),
    token: randomBytes(12).toString("hex"),
    since: new Date().toISOString(),
  };
}

/** Who holds the lock at path: null when it vanished; an Error for a lock file that is not ours to judge. */
function readOwner(path: string): LockOwner | null {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  if (st.isSymbolicLink())
    throw new IndexLockedError(
      `${path} is a symbolic link, not a polymodal lock; remove it if no polymodal process is writing this index`,
    );
  if (st.isDirectory())
    throw new IndexLockedError(
      `${path} is a directory, not a polymodal lock; remove it if no polymodal process is writing this index`,
    );
  if (!st.isFile()) throw new IndexLockedError(`${path} is not a regular file, so not a polymodal lock; remove it`);
  const text = readText(path);
  if (text === null) return null;
  if (/^\d{1,10}$/.test(text)) {
    // an earlier version's lock: the pid alone (its token stands for this very file)
    return {
      pid: Number(text),
      host: HOST,
      boot: null,
      start: null,
      token: `pid${text}-${st.ino}-${Math.floor(st.mtimeMs)}`,
      since: st.mtime.toISOString(),
    };
  }
  let o: Partial<LockOwner> | null = null;
  try {
    o = JSON.parse(text);
  } catch {
    /* below */
  }
  if (
    !o ||
    !Number.isSafeInteger(o.pid) ||
    typeof o.host !== "string" ||
    typeof o.token !== "string" ||
    !/^[0-9a-z-]{1,64}$/.test(o.token)
  ) {
    throw new IndexLockedError(
      `${path} is not a polymodal lock (it holds ${JSON.stringify(text.slice(0, 80))}); remove it if no polymodal ` +
        `process is writing this index`,
    );
  }
  return {
    pid: o.pid!,
    host: o.host,
    boot: o.boot ?? null,
    start: o.start ?? null,
    token: o.token,
    since: String(o.since ?? st.mtime.toISOString()),
  };
}

/** Whether the owner may still be writing: "gone" only when that is proven. */
function ownerState(o: LockOwner, path: string): "alive" | "gone" | "elsewhere" | "self" {
  if (o.host !== HOST) return "elsewhere";
  if (o.boot && BOOT && o.boot !== BOOT) return "gone"; // the machine restarted since
  if (o.pid === process.pid) return held.get(path) === o.token ? "self" : "gone"; // this pid's earlier life
  let exists: boolean;
  try {
    exists = process.kill(o.pid, 0);
  } catch (e) {
    exists = (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (!exists) return "gone";
  const start = startOf(o.pid);
  if (o.start && start && start !== o.start) return "gone"; // the pid now belongs to another process
  return "alive";
}

function describe(o: LockOwner): string {
  return `pid ${o.pid} on ${o.host === HOST ? "this host" : `host ${JSON.stringify(o.host)}`} (since ${o.since})`;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Makes path ours, or says who has it.  `depth` bounds claims of claims (each left by a crash mid-takeover). */
function take(path: string, owner: LockOwner, what: string, depth = 0): void {
  const record = JSON.stringify(owner);
  for (let attempt = 0; attempt < 50; attempt++) {
    const tmp = `${path}.${owner.token}.tmp`;
    writeFileSync(tmp, record);
    try {
      try {
        linkSync(tmp, path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const other = readOwner(path);
      if (!other) continue; // released between the two calls
      const state = ownerState(other, path);
      if (state === "self") throw new IndexLockedError(`this process already has ${what} open for writing`, other);
      if (state === "alive")
        throw new IndexLockedError(
          `${what} is being written by ${describe(other)}; wait for it to finish or stop it`,
          other,
        );
      if (state === "elsewhere")
        throw new IndexLockedError(
          `${what} is locked by ${describe(other)}, which this host cannot check; if nothing there is writing it, ` +
            `delete ${path}`,
          other,
        );
      if (depth >= 4) throw new IndexLockedError(`${path}: too many interrupted takeovers; remove ${path}.*.claim`);
      // stale: claim this lock instance, then replace exactly it
      const claim = `${path}.${other.token}.claim`;
      try {
        take(claim, owner, `the takeover of ${path}`, depth + 1);
      } catch (e) {
        if (!(e instanceof IndexLockedError) || !e.owner || ownerState(e.owner, claim) !== "alive") throw e;
        sleep(10); // another process is taking it over this instant
        continue;
      }
      try {
        if (readOwner(path)?.token === other.token) {
          renameSync(tmp, path);
          return;
        }
      } finally {
        rmSync(claim, { force: true });
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  throw new IndexLockedError(`could not lock ${what}: its lock keeps changing hands`);
}

function releaseFile(path: string, token: string): void {
  try {
    if (readOwner(path)?.token === token) unlinkSync(path);
  } catch {
    /* gone, or not ours any more */
  }
  held.delete(path);
}

/**
 * Takes the index folder's writer lock (creating the folder), or throws IndexLockedError naming who holds it.
 * Returns the release function (also run at exit).
 */
export function lockIndex(indexDir: string): () => void {
  mkdirSync(indexDir, { recursive: true });
  const path = join(indexDir, "index.lock"),
    owner = me();
  take(path, owner, indexDir);
  held.set(path, owner.token);
  return () => releaseFile(path, owner.token);
}
