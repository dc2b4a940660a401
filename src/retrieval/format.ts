// The index file: one format for Node and browsers.
//   "PMIDX\r\n\x1a" (8) | u32 version | u32 header bytes | header JSON (UTF-8) | sections | u32 CRC-32 of all before
// Sections, in order, sizes from the header: float32 rows (used x dim), int8 rows (used x dim8) + scales (used),
// HNSW levels (used i32) + level-0 links (used x (2M+1) i32) + upper links (sum of levels x (M+1) i32).
import * as core from "../core/index.js";
import { crc32 } from "../util/crc32.js";
import { type IndexOptions, type IndexState, indexOptions, emptyState, growMeta } from "./state.js";

const MAGIC = [0x50, 0x4d, 0x49, 0x44, 0x58, 0x0d, 0x0a, 0x1a];
const VERSION = 1;

interface Header {
  dim: number;
  options: Required<IndexOptions>;
  used: number;
  ids: Array<string | null>;
  modalities: string[];
  metadata: Array<Record<string, unknown> | null>;
  graph: { entry: number; maxLevel: number } | null;
  sections: { f32: number; i8: number; scales: number; levels: number; links0: number; upper: number };
}

export function encodeIndex(ix: IndexState): Uint8Array {
  const heap = core.heap();
  const s = ix.store,
    n = ix.used,
    g = ix.graph;
  const f32 = s.hasFloat ? n * s.dim * 4 : 0;
  const i8 = s.hasInt8 ? n * s.dim8 : 0,
    scales = s.hasInt8 ? n * 4 : 0;
  let upperInts = 0;
  if (g) for (let i = 0; i < n; i++) upperInts += g.levels[i] * (g.M + 1);
  const levels = g ? n * 4 : 0,
    links0 = g ? n * (g.maxM0 + 1) * 4 : 0,
    upper = upperInts * 4;
  let metaJson: string;
  const header: Header = {
    dim: ix.dim,
    options: ix.options,
    used: n,
    ids: ix.ids.slice(0, n),
    modalities: ix.modalities,
    metadata: ix.metadata.slice(0, n),
    graph: g ? { entry: g.entry, maxLevel: g.maxLevel } : null,
    sections: { f32, i8, scales, levels, links0, upper },
  };
  try {
    metaJson = JSON.stringify({ ...header, modalityCode: Array.from(ix.modalityCode.subarray(0, n)) });
  } catch (e) {
    throw new Error(`MultimodalIndex.save: metadata must be JSON-serialisable (${(e as Error).message})`);
  }
  const hb = new TextEncoder().encode(metaJson);
  const total = 8 + 4 + 4 + hb.length + f32 + i8 + scales + levels + links0 + upper + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, hb.length, true);
  out.set(hb, 16);
  let o = 16 + hb.length;
  if (f32) {
    out.set(heap.u8(s.f32, f32), o);
    o += f32;
  }
  if (i8) {
    out.set(new Uint8Array(s.rowsI8(0, n).buffer), o);
    o += i8;
    out.set(heap.u8(s.scales, scales), o);
    o += scales;
  }
  if (g) {
    out.set(new Uint8Array(g.levels.buffer, 0, levels), o);
    o += levels;
    out.set(new Uint8Array(g.links0.buffer, 0, links0), o);
    o += links0;
    for (let i = 0; i < n; i++) {
      const u = g.upper.get(i);
      if (g.levels[i] > 0 && u) {
        out.set(new Uint8Array(u.buffer, u.byteOffset, u.byteLength), o);
        o += u.byteLength;
      }
    }
  }
  dv.setUint32(o, crc32(out.subarray(0, o)), true);
  return out;
}

function bad(msg: string): never {
  throw new Error(`MultimodalIndex.load: ${msg}`);
}

export function decodeIndex(bytes: Uint8Array): IndexState {
  if (!(bytes instanceof Uint8Array)) bad("expected a Uint8Array");
  if (bytes.length < 20) bad(`${bytes.length} bytes is too short for an index file`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC[i]) bad("not a polymodal index file (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION) bad(`format version ${version} is not supported (this build reads version ${VERSION})`);
  const stored = dv.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) bad("checksum mismatch: the file is corrupt or truncated");
  const hlen = dv.getUint32(12, true);
  if (16 + hlen + 4 > bytes.length) bad("header length exceeds the file");
  let h: Header & { modalityCode: number[] };
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch (e) {
    bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(h.dim) || h.dim < 1) bad(`dimension ${JSON.stringify(h.dim)} is not a positive integer`);
  const ix = emptyState(h.dim, indexOptions(h.options ?? {}, "MultimodalIndex.load: header"));
  try {
    fill(ix, h, bytes, 16 + hlen);
  } catch (e) {
    ix.store.free(); // nothing of a file that fails to load stays in WASM memory
    throw e;
  }
  return ix;
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/**
 * The header's item tables, checked before anything is trusted (a file with a valid CRC may still be crafted): ids
 * unique non-empty strings (null only for a graph's removed nodes), metadata objects, modality codes in range.
 */
function checkTables(h: Header & { modalityCode: number[] }, graph: boolean): void {
  if (!isCount(h.used)) bad(`header: used must be a non-negative integer, got ${JSON.stringify(h.used)}`);
  const sec = h.sections as Record<string, unknown> | undefined;
  if (!sec || typeof sec !== "object") bad("header: sections missing");
  for (const k of ["f32", "i8", "scales", "levels", "links0", "upper"])
    if (!isCount(sec[k])) bad(`header: sections.${k} must be a non-negative integer, got ${JSON.stringify(sec[k])}`);
  for (const k of ["ids", "metadata", "modalityCode", "modalities"] as const)
    if (!Array.isArray(h[k])) bad(`header: ${k} must be an array`);
  const n = h.used;
  if (h.ids.length !== n || h.metadata.length !== n || h.modalityCode.length !== n)
    bad("item tables do not match the item count");
  h.modalities.forEach((m, i) => {
    if (typeof m !== "string" || m === "") bad(`modalities[${i}] must be a non-empty string, got ${JSON.stringify(m)}`);
  });
  if (new Set(h.modalities).size !== h.modalities.length) bad("modalities holds duplicates");
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = h.ids[i],
      meta = h.metadata[i],
      code = h.modalityCode[i];
    if (id === null) {
      if (!graph) bad(`ids[${i}] is null, but only a graph index keeps removed slots`);
      if (meta !== null) bad(`metadata[${i}] must be null for a removed slot`);
    } else {
      if (typeof id !== "string" || id === "")
        bad(`ids[${i}] must be a non-empty string or null, got ${JSON.stringify(id)}`);
      if (seen.has(id)) bad(`ids[${i}] ${JSON.stringify(id)} appears twice`);
      seen.add(id);
      if (meta === null || typeof meta !== "object" || Array.isArray(meta)) bad(`metadata[${i}] must be an object`);
    }
    if (!Number.isInteger(code) || code < 0 || code >= h.modalities.length)
      bad(`modalityCode[${i}] is ${JSON.stringify(code)}, not a modality index (0 to ${h.modalities.length - 1})`);
  }
}

/** Stored vectors as insert leaves them: float rows finite and unit length, int8 scales finite and in (0, 1]. */
function checkVectors(ix: IndexState, n: number): void {
  const s = ix.store,
    heap = core.heap(),
    D = s.dim;
  if (s.hasFloat) {
    const v = heap.f32(s.f32, n * D);
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let d = 0; d < D; d++) q += v[i * D + d] * v[i * D + d];
      // rows are x / (|x| + 1e-8): norm 1 to within float rounding; NaN fails both comparisons
      if (!(q > 0.98 && q < 1.02))
        bad(`float vectors: row ${i} has squared norm ${q} (rows are stored normalised, so it must be 1)`);
    }
  }
  if (s.hasInt8) {
    const sc = heap.f32(s.scales, n);
    for (let i = 0; i < n; i++)
      if (!(sc[i] > 0 && sc[i] <= 1))
        bad(`int8 scales: row ${i} has scale ${sc[i]} (a unit vector's is max|x| / 127, in (0, 1])`);
  }
}

function fill(ix: IndexState, h: Header & { modalityCode: number[] }, bytes: Uint8Array, start: number): void {
  checkTables(h, ix.graph !== null);
  const s = ix.store,
    n = h.used;
  const sec = h.sections;
  const expect = { f32: s.hasFloat ? n * s.dim * 4 : 0, i8: s.hasInt8 ? n * s.dim8 : 0, scales: s.hasInt8 ? n * 4 : 0 };
  if (sec.f32 !== expect.f32 || sec.i8 !== expect.i8 || sec.scales !== expect.scales)
    bad("section sizes do not match the header");
  if (start + sec.f32 + sec.i8 + sec.scales + sec.levels + sec.links0 + sec.upper + 4 !== bytes.length)
    bad("section sizes do not add up to the file length");
  const heap = core.heap();
  s.ensure(n);
  let o = start;
  const copy = (dst: number, len: number): void => {
    heap.u8(dst, len).set(bytes.subarray(o, o + len));
    o += len;
  };
  if (sec.f32) copy(s.f32, sec.f32);
  if (sec.i8) {
    s.setRowsI8(0, bytes.subarray(o, o + sec.i8));
    o += sec.i8;
    copy(s.scales, sec.scales);
  }
  checkVectors(ix, n);
  ix.used = n;
  ix.ids = h.ids;
  ix.metadata = h.metadata;
  ix.modalities = h.modalities;
  growMeta(ix, n);
  ix.modalityCode.set(h.modalityCode);
  h.ids.forEach((id, slot) => {
    if (id !== null) ix.slotOf.set(id, slot);
  });
  const g = ix.graph;
  if (g) {
    if (!h.graph || sec.levels !== n * 4 || sec.links0 !== n * (g.maxM0 + 1) * 4)
      bad("graph sections do not match the header");
    g.ensure(n);
    const lv = new Int32Array(bytes.slice(o, o + sec.levels).buffer);
    o += sec.levels;
    g.levels.set(lv);
    const l0 = new Int32Array(bytes.slice(o, o + sec.links0).buffer);
    o += sec.links0;
    g.links0.set(l0);
    let upperLeft = sec.upper;
    for (let i = 0; i < n; i++) {
      const L = lv[i];
      if (L < 0 || L > 64) bad(`node ${i} has level ${L}`);
      if (L === 0) continue;
      const len = L * (g.M + 1) * 4;
      if (len > upperLeft) bad("upper-level links are truncated");
      g.upper.set(i, new Int32Array(bytes.slice(o, o + len).buffer));
      o += len;
      upperLeft -= len;
    }
    for (let i = 0; i < n * (g.maxM0 + 1); i += g.maxM0 + 1) {
      const c = l0[i];
      if (c < 0 || c > g.maxM0) bad(`graph level 0: node ${i / (g.maxM0 + 1)} has ${c} links (at most ${g.maxM0})`);
      for (let j = 1; j <= c; j++)
        if (l0[i + j] < 0 || l0[i + j] >= n)
          bad(`graph level 0: node ${i / (g.maxM0 + 1)} links to ${l0[i + j]}, not a node (0 to ${n - 1})`);
    }
    for (const [i, u] of g.upper) {
      for (let l = 1; l <= lv[i]; l++) {
        const off = (l - 1) * (g.M + 1),
          c = u[off];
        if (c < 0 || c > g.M) bad(`graph level ${l}: node ${i} has ${c} links (at most ${g.M})`);
        for (let j = 1; j <= c; j++) {
          const t = u[off + j];
          if (t < 0 || t >= n || lv[t] < l) bad(`graph level ${l}: node ${i} links to ${t}, not a node of that level`);
        }
      }
    }
    const { entry, maxLevel } = h.graph;
    if (n === 0 ? entry !== -1 : !(Number.isInteger(entry) && entry >= 0 && entry < n && lv[entry] === maxLevel)) {
      bad(
        `graph: entry point ${JSON.stringify(entry)} at level ${JSON.stringify(maxLevel)} is not a node of the ` +
          `top level`,
      );
    }
    for (let i = 0; i < n; i++)
      if (lv[i] > maxLevel) bad(`graph: node ${i} has level ${lv[i]}, above the top level ${maxLevel}`);
    g.entry = entry;
    g.maxLevel = maxLevel;
  }
}
