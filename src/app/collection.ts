// A saved collection: one MultimodalIndex per embedding space (images, audio, video) plus a manifest of the
// files indexed (size, mtime) so `index` can resume and skip unchanged files.  Indexes are written before the
// manifest, each atomically, so an interrupted run at worst re-embeds a few files.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MultimodalIndex, type IndexKind } from "../retrieval/multimodal-index.js";
import type { Modality } from "./media.js";
import { VersionMismatchError } from "./version.js";

export interface FileEntry { size: number; mtimeMs: number; modality: Modality }
export interface Manifest {
  format: "polymodal-collection";
  version: 1;
  root: string;
  kind: IndexKind;
  files: Record<string, FileEntry>;
  failed: Record<string, string>;
  /** the embedding version stamp of each space (src/app/version.ts); absent in collections made before stamps */
  versions?: Partial<Record<Modality, string>>;
}

const DIMS: Record<Modality, number> = { image: 0, audio: 0, video: 0 };

export class Collection {
  readonly indexes = new Map<Modality, MultimodalIndex>();
  private constructor(readonly dir: string, readonly manifest: Manifest) {}

  static async open(dir: string, create: { root: string; kind: IndexKind } | null): Promise<Collection> {
    const mf = join(dir, "manifest.json");
    if (!existsSync(mf)) {
      if (!create) throw new Error(`no index at ${dir} (run \`polymodal index <folder>\` first, or pass --index <dir>)`);
      mkdirSync(dir, { recursive: true });
      return new Collection(dir, { format: "polymodal-collection", version: 1, root: create.root, kind: create.kind, files: {}, failed: {} });
    }
    let m: Manifest;
    try {
      m = JSON.parse(readFileSync(mf, "utf8"));
    } catch (e) {
      throw new Error(`the index manifest ${mf} is unreadable: ${(e as Error).message}`);
    }
    if (m.format !== "polymodal-collection" || m.version !== 1) throw new Error(`${mf} is not a polymodal collection manifest (version 1)`);
    const c = new Collection(dir, m);
    for (const mod of ["image", "audio", "video"] as Modality[]) {
      const f = join(dir, `${mod}.pmx`);
      if (existsSync(f)) c.indexes.set(mod, await MultimodalIndex.loadFromFile(f));
    }
    return c;
  }

  /**
   * Refuses a space whose embeddings another model version made: a query or a new item from `version` would be
   * compared with vectors of a different space.  A space without a stamp takes `version` when `adopt` is set.
   */
  checkVersion(mod: Modality, version: string, adopt = false): void {
    const have = this.manifest.versions?.[mod];
    if (have === undefined) {
      if (adopt) (this.manifest.versions ??= {})[mod] = version;
      return;
    }
    if (have !== version) {
      throw new VersionMismatchError(`the ${mod} index in ${this.dir} was built by ${have}, and the models here are ${version}: ` +
        "embeddings of different versions are not comparable; re-index into a new folder (or delete this one) with these models");
    }
  }

  index(mod: Modality, dim: number): MultimodalIndex {
    let ix = this.indexes.get(mod);
    if (!ix) { ix = new MultimodalIndex(dim, { kind: this.manifest.kind }); this.indexes.set(mod, ix); }
    return ix;
  }

  async save(): Promise<void> {
    for (const [mod, ix] of this.indexes) await ix.saveToFile(join(this.dir, `${mod}.pmx`));
    const mf = join(this.dir, "manifest.json"), tmp = `${mf}.${process.pid}.${Date.now().toString(36)}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.manifest, null, 1));
      renameSync(tmp, mf);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  counts(): Record<Modality, number> {
    const c = { ...DIMS };
    for (const e of Object.values(this.manifest.files)) c[e.modality]++;
    return c;
  }
}
