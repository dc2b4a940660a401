// Nothing acknowledged is lost (src/app/file-store.ts, store-log.ts, lock.ts), each case an attack that lost
// acknowledged writes before: a full disk mid-append (injected write failures, and a real 1 MiB tmpfs where this
// machine lets us mount one), one flipped bit in the middle of a log, a crafted length field, a log of another
// width, crafted records with valid CRCs, a generation number near 2^53, readers that must write nothing (also on a
// read-only mount), a reader following a writer through compactions, and the writer lock's odd and stale files.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  writeSync,
  fsyncSync,
  ftruncateSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, type StoredItem } from "../src/index.js";
import { FileStore, StoreDamagedError, type WriteIO } from "../src/app/file-store.js";
import { encodeRecord } from "../src/app/store-log.js";
import { IndexLockedError, lockIndex } from "../src/app/lock.js";
import { Collection } from "../src/app/collection.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "pm-durable-"));
const DIM = 16;
const vec = (seed: number, dim = DIM): Float32Array =>
  Float32Array.from({ length: dim }, (_, j) => Math.sin(seed * 31 + j) + 0.01);
const item = (i: number, dim = DIM): StoredItem => ({
  id: `k${i}`,
  modality: "image",
  embedding: vec(i, dim),
  metadata: { i },
});
const sha = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
const ids = async (s: FileStore): Promise<string[]> => {
  const out: string[] = [];
  for await (const e of s.entries({ vectors: false })) out.push(e.id);
  return out.sort();
};
let n = 0;
const fresh = (): string => {
  const d = join(tmp, `case${n++}`);
  mkdirSync(d);
  return join(d, "space");
};

/** A store with `count` items in its log, one record each (compaction off), and the log's record offsets. */
async function filled(count: number, dim = DIM): Promise<{ base: string; log: string; offsets: number[] }> {
  const base = fresh();
  const s = await FileStore.open(base, dim, { compactMinBytes: 1 << 30 });
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    offsets.push(statSync(`${base}.1.log`).size);
    await s.upsert([item(i, dim)]);
  }
  await s.close();
  return { base, log: `${base}.1.log`, offsets };
}

beforeAll(async () => {
  await init();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("a full disk mid-append", () => {
  /** Node's fs, but the next `fails` appends write part of their bytes and then throw ENOSPC. */
  function diskFull(): WriteIO & { fails: number; truncFails: number } {
    const io = {
      fails: 0,
      truncFails: 0,
      writeSync(fd: number, b: Uint8Array, off: number, len: number): number {
        if (io.fails > 0) {
          io.fails--;
          writeSync(fd, b, off, Math.max(1, len >> 1)); // part of the record reaches the log
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        }
        return writeSync(fd, b, off, len);
      },
      fsyncSync: (fd: number) => fsyncSync(fd),
      ftruncateSync(fd: number, len: number): void {
        if (io.truncFails > 0) {
          io.truncFails--;
          throw Object.assign(new Error("EIO: i/o error, ftruncate"), { code: "EIO" });
        }
        ftruncateSync(fd, len);
      },
    };
    return io;
  }

  it(
    "a failed append is rolled back: every write acknowledged after the disk-full episode survives a reopen (303 " +
      "+ 20)",
    async () => {
      const base = fresh(),
        io = diskFull();
      const s = await FileStore.open(base, DIM, { io, compactMinBytes: 1 << 30 });
      for (let i = 0; i < 303; i++) await s.upsert([item(i)]);
      io.fails = 3;
      for (let i = 303; i < 306; i++)
        await expect(s.upsert([item(i)])).rejects.toThrow(/ENOSPC.*nothing of this write was kept/);
      for (let i = 306; i < 326; i++) await s.upsert([item(i)]);
      expect(await s.count()).toBe(323);
      await s.close();
      const r = await FileStore.open(base, DIM);
      expect(await r.count()).toBe(323);
      expect((await ids(r)).filter((x) => ["k303", "k304", "k305"].includes(x))).toEqual([]);
      await r.close();
    },
  );

  it("a rollback that fails too: no write is taken until the log is back at its last whole record", async () => {
    const base = fresh(),
      io = diskFull();
    const s = await FileStore.open(base, DIM, { io });
    await s.upsert([item(0)]);
    io.fails = 1;
    io.truncFails = 2; // the rollback in the failed append, then the retry before the next write
    await expect(s.upsert([item(1)])).rejects.toThrow(/ENOSPC/);
    await expect(s.upsert([item(2)])).rejects.toThrow(/could not be rolled back to its last whole record.*EIO/);
    await s.upsert([item(3)]); // the rollback works now: writes are taken again
    await s.close();
    const r = await FileStore.open(base, DIM);
    expect(await ids(r)).toEqual(["k0", "k3"]);
    await r.close();
  });

  // a real full disk: a 1 MiB tmpfs (root, where mounting is allowed); otherwise the injected failures above stand
  it(
    "on a real 1 MiB tmpfs: fill it, free space, write more: everything acknowledged is there; then a read-only " +
      "mount searches",
    async (ctx) => {
      const mnt = join(tmp, "tmpfs");
      mkdirSync(mnt);
      if (process.getuid?.() !== 0 || spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).status !== 0)
        ctx.skip();
      try {
        await onTmpfs(mnt);
      } finally {
        spawnSync("umount", ["-l", mnt]);
      }
    },
  );
  async function onTmpfs(mnt: string): Promise<void> {
    const base = join(mnt, "idx", "space");
    writeFileSync(join(mnt, "filler"), new Uint8Array(600 * 1024));
    const s = await FileStore.open(base, 64, { compactMinBytes: 1 << 30 });
    const acked: string[] = [];
    let failures = 0;
    for (let i = 0; i < 4000 && failures < 3; i++) {
      try {
        await s.upsert([item(i, 64)]);
        acked.push(`k${i}`);
      } catch (e) {
        expect((e as Error).message).toMatch(/ENOSPC/);
        failures++;
      }
    }
    expect(failures).toBe(3);
    rmSync(join(mnt, "filler"));
    for (let i = 5000; i < 5020; i++) {
      await s.upsert([item(i, 64)]);
      acked.push(`k${i}`);
    }
    await s.close();
    const r = await FileStore.open(base, 64);
    expect(await ids(r)).toEqual(acked.sort());
    await r.close();
    expect(spawnSync("mount", ["-o", "remount,ro", mnt]).status).toBe(0);
    const ro = await FileStore.open(base, 64, { readOnly: true });
    expect(await ro.count()).toBe(acked.length);
    const [hits] = await ro.search([vec(5005, 64)], 1);
    expect(hits[0].id).toBe("k5005");
    await ro.close();
    await expect(FileStore.open(base, 64)).rejects.toThrow(/EROFS/); // a writer, told why
  }
});

describe("damage in a log", () => {
  it(
    "one flipped bit in record 20 of 400: opening refuses, naming the offset, and changes nothing; repair keeps " +
      "the other 399",
    async () => {
      const { base, log, offsets } = await filled(400);
      const bytes = readFileSync(log);
      bytes[offsets[20] + 30] ^= 0x04;
      writeFileSync(log, bytes);
      const before = sha(log);
      for (const readOnly of [false, true]) {
        const e = await FileStore.open(base, DIM, { readOnly }).catch((x) => x);
        expect(e).toBeInstanceOf(StoreDamagedError);
        expect(e.message).toContain(`damaged at byte ${offsets[20]} of ${bytes.length}, and valid records follow it`);
        expect(sha(log)).toBe(before); // never truncated, by a reader or a writer
      }
      const r = await FileStore.open(base, DIM, { salvage: true });
      expect(await r.count()).toBe(399);
      expect((await ids(r)).includes("k20")).toBe(false);
      expect(r.salvaged).toEqual([{ log, ranges: [[offsets[20], offsets[21]]] }]);
      await r.upsert([item(1000)]);
      await r.close();
      const files = readdirSync(dirname(base));
      expect(files.filter((f) => f.includes(".damaged-"))).toHaveLength(1); // the damaged log, kept beside
      const again = await FileStore.open(base, DIM);
      expect(await again.count()).toBe(400);
      await again.close();
    },
  );

  it("a huge length field in record 0 is damage, not a torn tail: the log and its version stamp are kept", async () => {
    const base = fresh();
    const s = await FileStore.open(base, DIM);
    await s.setVersion("model@1");
    for (let i = 0; i < 10; i++) await s.upsert([item(i)]);
    await s.close();
    const log = `${base}.1.log`,
      bytes = readFileSync(log);
    bytes.writeUInt32LE(0x7fffffff, 0);
    writeFileSync(log, bytes);
    await expect(FileStore.open(base, DIM)).rejects.toThrow(/damaged at byte 0 of \d+, and valid records follow/);
    expect(statSync(log).size).toBe(bytes.length);
    const r = await FileStore.open(base, DIM, { salvage: true });
    expect(await r.count()).toBe(10);
    expect(r.version()).toBeNull(); // the stamp was record 0, the damaged one; every item after it is kept
    await r.close();
  });

  it("a log of another width (16-d records in a 64-d store) is refused, not emptied", async () => {
    const { log } = await filled(5, 16);
    const base64 = fresh();
    const s = await FileStore.open(base64, 64);
    await s.close();
    copyFileSync(log, `${base64}.1.log`);
    await expect(FileStore.open(base64, 64)).rejects.toThrow(StoreDamagedError);
    expect(statSync(`${base64}.1.log`).size).toBe(statSync(log).size);
  });

  it("a torn tail (the last append cut short) is dropped by the writer, left alone by a reader", async () => {
    const { base, log, offsets } = await filled(10);
    const whole = statSync(log).size;
    writeFileSync(log, readFileSync(log).subarray(0, whole - 7));
    const ro = await FileStore.open(base, DIM, { readOnly: true });
    expect(await ro.count()).toBe(9);
    await ro.close();
    expect(statSync(log).size).toBe(whole - 7);
    const w = await FileStore.open(base, DIM);
    expect(await w.count()).toBe(9);
    expect(statSync(log).size).toBe(offsets[9]);
    await w.close();
  });

  it(
    'records with valid CRCs but content this store never writes are damage ({op:remove, ids:"a1"}, unknown ops, ' +
      "non-finite rows)",
    async () => {
      const crafted: Array<[string, Uint8Array]> = [
        ["ids as a string", encodeRecord({ op: "remove", ids: "a1" } as never, [])],
        ["an unknown op", encodeRecord({ op: "drop" } as never, [])],
        ["an empty id", encodeRecord({ op: "upsert", items: [{ id: "", modality: "image", metadata: {} }] }, [vec(1)])],
        [
          "a NaN row",
          encodeRecord({ op: "upsert", items: [{ id: "z", modality: "image", metadata: {} }] }, [
            new Float32Array(DIM).fill(NaN),
          ]),
        ],
      ];
      for (const [what, rec] of crafted) {
        const { base, log } = await filled(3);
        const good = readFileSync(log);
        writeFileSync(
          log,
          Buffer.concat([
            good.subarray(0, good.length),
            rec,
            encodeRecord({ op: "upsert", items: [{ id: "after", modality: "image", metadata: {} }] }, [vec(9)]),
          ]),
        );
        await expect(FileStore.open(base, DIM), what).rejects.toThrow(new RegExp(`damaged at byte ${good.length} `));
      }
    },
  );

  it("a generation number near 2^53 is refused by name; nothing is deleted", async () => {
    const { base } = await filled(3);
    const evil = `${base}.9007199254740992.pmx`;
    copyFileSync(`${base}.1.pmx`, evil);
    const before = readdirSync(dirname(base)).sort();
    await expect(FileStore.open(base, DIM)).rejects.toThrow(
      /9007199254740992\.pmx is not a generation this store writes/,
    );
    expect(readdirSync(dirname(base)).sort()).toEqual(before);
  });

  it(
    "the writer removes what crashes left (temporary snapshots, orphan logs, older generations); a reader " +
      "removes nothing",
    async () => {
      const { base } = await filled(3);
      const dir = dirname(base);
      for (const f of ["space.2.pmx.lx3k9.tmp", "space.7.log", "space.1.pmx.abc.tmp"]) writeFileSync(join(dir, f), "x");
      const before = readdirSync(dir).sort();
      const ro = await FileStore.open(base, DIM, { readOnly: true });
      await ro.close();
      expect(readdirSync(dir).sort()).toEqual(before);
      const w = await FileStore.open(base, DIM);
      expect(await w.count()).toBe(3);
      await w.close();
      expect(readdirSync(dir).sort()).toEqual(["space.1.log", "space.1.pmx"]);
    },
  );
});

describe("a reader follows the writer", () => {
  it(
    "sees appends before each read, reloads across compactions, never writes, and never re-creates a deleted " + "log",
    async () => {
      const base = fresh();
      const w = await FileStore.open(base, DIM, { compactMinBytes: 2048 });
      await w.upsert([item(0)]);
      const r = await FileStore.open(base, DIM, { readOnly: true });
      expect(await r.count()).toBe(1);
      for (let i = 1; i < 200; i++) {
        await w.upsert([item(i)]);
        if (i % 37 === 0) {
          expect(await r.count()).toBe(await w.count());
          await w.remove([`k${i - 1}`]);
        }
      }
      await w.close();
      const want = await (async () => {
        const o = await FileStore.open(base, DIM, { readOnly: true });
        const x = await ids(o);
        await o.close();
        return x;
      })();
      expect(await ids(r)).toEqual(want);
      const [hit] = (await r.search([vec(150)], 1))[0];
      expect(hit.id).toBe("k150");
      await expect(r.upsert([item(999)])).rejects.toThrow(/read-only/);
      await r.close();
      // one generation, no orphan
      expect(readdirSync(dirname(base)).filter((f) => /\.\d+\.(pmx|log)$/.test(f))).toHaveLength(2);
    },
  );

  it(
    "a read-only collection (polymodal search's) writes nothing, even for an index of version-1 " + "manifests",
    async () => {
      const dir = join(tmp, "coll-ro");
      const c = await Collection.open(dir, { root: dir, kind: "flat" });
      const st = await c.store("image", DIM);
      await st.upsert([item(1)]);
      await c.save();
      await c.close();
      const snapshot = (): string[] =>
        readdirSync(dir)
          .map((f) => `${f}:${sha(join(dir, f))}`)
          .sort();
      const before = snapshot();
      const ro = await Collection.open(dir, null, { readOnly: true });
      expect(await (await ro.existing("image"))!.count()).toBe(1);
      await expect(ro.save()).rejects.toThrow(/read-only/);
      await expect(ro.store("audio", DIM)).rejects.toThrow(/read-only/);
      await ro.close();
      expect(snapshot()).toEqual(before);
      expect(existsSync(join(dir, "index.lock"))).toBe(false);
    },
  );
});

describe("version stamps", () => {
  it(
    "a store that cannot take its stamp fails with that error, never as a version mismatch (it would be a " + "409)",
    async () => {
      const { VersionMismatchError } = await import("../src/app/version.js");
      const dir = join(tmp, "coll-stamp");
      const c = await Collection.open(dir, { root: dir, kind: "flat" });
      const st = await c.store("image", DIM);
      await st.close(); // every write now fails
      const e = await c.checkVersion("image", "clip@1", true).catch((x) => x);
      expect(e).not.toBeInstanceOf(VersionMismatchError);
      expect(e.message).toMatch(/is closed/);
      await c.save();
      await c.close();
      const d = await Collection.open(dir, null);
      await d.checkVersion("image", "clip@1", true);
      await expect(d.checkVersion("image", "clip@2")).rejects.toThrow(VersionMismatchError);
      await expect(d.checkVersion("image", "clip@2")).rejects.toThrow(
        /the image index in .* was built by clip@1, and the models here are clip@2/,
      );
      await d.close();
    },
  );
});

describe("the writer lock", () => {
  const lockFile = (d: string): string => join(d, "index.lock");
  const startOf = (pid: number): string => {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ")[19];
  };
  const boot = existsSync("/proc/sys/kernel/random/boot_id")
    ? readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    : null;
  const record = (o: Record<string, unknown>): string =>
    JSON.stringify({ host: hostname(), boot, token: "t0", since: "2026-01-01T00:00:00Z", ...o });
  const dirFor = (name: string): string => {
    const d = join(tmp, `lock-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  };

  it("a stale lock holding this process's own PID (a container's PID 1 after a kill) is taken over", () => {
    const d = dirFor("own-pid");
    writeFileSync(lockFile(d), record({ pid: process.pid, start: startOf(process.pid), token: "earlier-life" }));
    const release = lockIndex(d);
    expect(JSON.parse(readFileSync(lockFile(d), "utf8")).token).not.toBe("earlier-life");
    expect(() => lockIndex(d)).toThrow(/this process already has .* open for writing/);
    release();
    expect(existsSync(lockFile(d))).toBe(false);
  });

  it.skipIf(!existsSync("/proc/self/stat"))(
    "a live PID that started after the lock was written (reused) is stale; the real owner is refused by name",
    async () => {
      const d = dirFor("reused");
      const other = spawn("sleep", ["30"], { stdio: "ignore" });
      try {
        await new Promise((r) => setTimeout(r, 50));
        writeFileSync(lockFile(d), record({ pid: other.pid, start: "1" })); // recorded start: another process's
        lockIndex(d)();
        writeFileSync(lockFile(d), record({ pid: other.pid, start: startOf(other.pid!) }));
        expect(() => lockIndex(d)).toThrow(new RegExp(`is being written by pid ${other.pid} on this host`));
      } finally {
        other.kill("SIGKILL");
      }
    },
  );

  it("odd lock files get clear errors: a directory, a dangling symlink, garbage; another host is never taken", () => {
    const d1 = dirFor("dir");
    mkdirSync(lockFile(d1));
    expect(() => lockIndex(d1)).toThrow(/index\.lock is a directory, not a polymodal lock/);
    const d2 = dirFor("symlink");
    symlinkSync(join(d2, "nowhere"), lockFile(d2));
    expect(() => lockIndex(d2)).toThrow(/index\.lock is a symbolic link, not a polymodal lock/);
    const d3 = dirFor("garbage");
    writeFileSync(lockFile(d3), "hello");
    expect(() => lockIndex(d3)).toThrow(/is not a polymodal lock \(it holds "hello"\)/);
    const d4 = dirFor("host");
    writeFileSync(lockFile(d4), record({ pid: 1, host: "build-7", start: "5" }));
    const e = (() => {
      try {
        lockIndex(d4);
      } catch (x) {
        return x as IndexLockedError;
      }
    })();
    expect(e).toBeInstanceOf(IndexLockedError);
    expect(e!.message).toMatch(
      /locked by pid 1 on host "build-7".*which this host cannot check; if nothing there is writing it, delete/,
    );
  });

  it("six processes taking over one stale lock at once: exactly one gets it", async () => {
    const d = dirFor("race");
    writeFileSync(lockFile(d), "999999999"); // an earlier version's lock, its process gone
    const script = join(tmp, "taker.mjs");
    writeFileSync(
      script,
      `
      import { lockIndex } from ${JSON.stringify(pathToFileURL(join(root, "dist/app/lock.js")).href)};
      const go = Number(process.argv[3]);
      while (Date.now() < go) {}
      try { lockIndex(process.argv[2]); process.stdout.write("got"); setTimeout(() => process.exit(0), 6000); }
      catch (e) { process.stdout.write("refused: " + e.message); }
    `,
    );
    const go = Date.now() + 2500; // all start together; the winner holds on until every other has tried
    const outs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((res) => {
            const p = spawn(process.execPath, [script, d, String(go)], { stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            p.stdout.on("data", (x) => {
              out += x;
            });
            p.once("exit", () => res(out));
          }),
      ),
    );
    expect(outs.filter((o) => o === "got")).toHaveLength(1);
    for (const o of outs.filter((x) => x !== "got"))
      expect(o).toMatch(/^refused: .* is being written by pid \d+ on this host/);
    expect(readdirSync(d)).toEqual([]); // released at exit; no claim or temporary file left
  });
});

describe("the commands", () => {
  it("a damaged index: search refuses it naming the byte and changes nothing; polymodal repair keeps every valid " +
    "record; search works again", async () => {
    const { writeSampleCollection } = await import("../scripts/sample-collection.mjs");
    const folder = join(tmp, "cmd-coll");
    writeSampleCollection(folder, { scenes: 4, sounds: 0, clips: 0, speech: 0 });
    const cli = (...args: string[]): { code: number | null; out: string; err: string } => {
      const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), ...args], {
        encoding: "utf8",
        timeout: 120_000,
      });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    expect(cli("index", folder, "--quiet").code).toBe(0);
    const log = join(folder, ".polymodal", "image.1.log"),
      bytes = readFileSync(log);
    bytes[bytes.readUInt32LE(0) + 8 + 40] ^= 0x10; // inside the first image's record (record 0 is the version stamp)
    writeFileSync(log, bytes);
    const before = sha(log);
    const s = cli("search", "a red circle", "--index", folder);
    expect([s.code, s.err]).toEqual([
      1,
      expect.stringMatching(
        /image\.1\.log is damaged at byte \d+ of \d+, and valid records follow it; run `polymodal repair`/,
      ),
    ]);
    expect(sha(log)).toBe(before);
    const r = cli("repair", "--index", folder);
    expect([r.code, r.out]).toEqual([
      0,
      expect.stringMatching(
        /^image: 3 items; skipped damaged .*image\.1\.log bytes \d+-\d+ \(kept beside as \.damaged-\*\)/,
      ),
    ]);
    const again = cli("search", "a red circle", "--index", folder, "--json", "-k", "10");
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).results).toHaveLength(3);
    // the next index run embeds the file whose record was lost again
    expect(cli("index", folder, "--quiet").out).toMatch(/indexed 1 new or changed files/);
  }, 180_000);
});
