// The FileStore's append log, as bytes: encoding a record, and reading a log back record by record with every
// record checked — its CRC, then its content (op, ids, rows, modality, metadata) — before it is replayed.
//
//   record  = u32 payload bytes | u32 CRC-32 of the payload | payload
//   payload = u32 JSON bytes | JSON {op: "upsert", items: [{id, modality, metadata}]} | {op: "remove", ids}
//                                 | {op: "version", version}
//             | float32 rows of the upserted items (little-endian)
//
// A bad record is one of two things: a torn tail (the last append, cut short by a crash or a full disk: a record that
// runs past the end of the log, with no whole record after it) was never acknowledged and may be dropped; anything
// else (a whole record that fails its checks, or bad bytes with valid records after them) is damage, and may hide
// acknowledged writes, so the log is refused, naming the offset, until `salvage` (polymodal repair) keeps every valid
// record around the damage.
import { crc32 } from "../util/crc32.js";

export type LogRecord =
  | { op: "upsert"; items: Array<{ id: string; modality: string; metadata: Record<string, unknown> }> }
  | { op: "remove"; ids: string[] }
  | { op: "version"; version: string };

export interface ReadRecord {
  rec: LogRecord;
  rows: Float32Array;
}

/**
 * Every JSON record starts with these bytes (JSON.stringify puts `op` first), so a resync scan rarely computes a
 * CRC.
 */
const HEAD = new TextEncoder().encode('{"op":"');
/** a record longer than this is damage, not data (a 1 GiB write is refused before it is logged) */
export const MAX_RECORD_BYTES = 1 << 30;
/** longest id, modality and version string a record may carry */
const MAX_STRING = 1 << 16;

export function encodeRecord(json: LogRecord, rows: Float32Array[]): Uint8Array {
  const j = new TextEncoder().encode(JSON.stringify(json));
  const payloadBytes = 4 + j.length + rows.reduce((n, r) => n + r.byteLength, 0);
  if (payloadBytes > MAX_RECORD_BYTES)
    throw new Error(
      `FileStore: one write of ${payloadBytes} bytes is more than a log record holds (${MAX_RECORD_BYTES}); write ` +
        `fewer items at a time`,
    );
  const out = new Uint8Array(8 + payloadBytes);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payloadBytes, true);
  dv.setUint32(8, j.length, true);
  out.set(j, 12);
  let at = 12 + j.length;
  for (const r of rows) {
    // float32 rows little-endian whatever the host (all supported hosts are; this keeps the format explicit)
    out.set(new Uint8Array(r.buffer, r.byteOffset, r.byteLength), at);
    at += r.byteLength;
  }
  dv.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

const isString = (s: unknown): s is string => typeof s === "string" && s.length > 0 && s.length <= MAX_STRING;
const isPlainObject = (o: unknown): o is Record<string, unknown> =>
  o !== null && typeof o === "object" && !Array.isArray(o);

/** The record's JSON if it is one this store writes (right op, field types, string lengths), else null. */
function checkRecord(v: unknown): LogRecord | null {
  if (!isPlainObject(v)) return null;
  if (v.op === "version") return isString(v.version) ? (v as LogRecord) : null;
  if (v.op === "remove")
    return Array.isArray(v.ids) && v.ids.length > 0 && v.ids.every(isString) ? (v as LogRecord) : null;
  if (v.op !== "upsert" || !Array.isArray(v.items) || v.items.length === 0) return null;
  const seen = new Set<string>();
  for (const it of v.items as unknown[]) {
    if (
      !isPlainObject(it) ||
      !isString(it.id) ||
      !isString(it.modality) ||
      !isPlainObject(it.metadata) ||
      seen.has(it.id)
    )
      return null;
    seen.add(it.id);
  }
  return v as LogRecord;
}

/**
 * The record starting at `at`, whole and valid, with its byte length; or null (too short, bad length, CRC, JSON or
 * content).
 */
export function recordAt(
  bytes: Uint8Array,
  at: number,
  dim: number,
): { rec: LogRecord; rows: Float32Array; next: number } | null {
  if (at + 12 > bytes.length) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(at, true);
  if (n < 4 + HEAD.length || n > MAX_RECORD_BYTES || at + 8 + n > bytes.length) return null;
  const jl = dv.getUint32(at + 8, true);
  if (jl < HEAD.length || 4 + jl > n) return null;
  for (let i = 0; i < HEAD.length; i++) if (bytes[at + 12 + i] !== HEAD[i]) return null;
  if (crc32(bytes, at + 8, at + 8 + n) !== dv.getUint32(at + 4, true)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at + 12, at + 12 + jl)));
  } catch {
    return null;
  }
  const rec = checkRecord(parsed);
  if (!rec) return null;
  const rowBytes = n - 4 - jl,
    count = rec.op === "upsert" ? rec.items.length : 0;
  if (rowBytes !== count * dim * 4) return null;
  // a copy (a Buffer's slice and subarray share Node's pool, and the rows are kept)
  const rows = new Float32Array(new Uint8Array(bytes.subarray(at + 12 + jl, at + 8 + n)).buffer);
  for (let i = 0; i < rows.length; i++) if (!Number.isFinite(rows[i])) return null;
  return { rec, rows, next: at + 8 + n };
}

/** The offset of the first whole, valid record at or after `from`, or -1. */
export function nextRecord(bytes: Uint8Array, from: number, dim: number): number {
  for (let at = from; at + 12 + HEAD.length <= bytes.length; at++) {
    if (bytes[at + 12] !== HEAD[0]) continue; // cheap filter before the full check
    if (recordAt(bytes, at, dim)) return at;
  }
  return -1;
}

export interface LogRead {
  records: ReadRecord[];
  /** bytes covered by the whole records read (where the next append goes; a torn tail after it is not counted) */
  valid: number;
  /** offset of damage (refuse: acknowledged writes may follow it), else -1 */
  corruptAt: number;
}

/**
 * Reads whole records from `from`, stopping at the first bad one and saying what it is: a torn tail is a record
 * that runs past the end of the log (an append cut short) with no valid record after it; anything else — a whole
 * record that fails its checks, or bad bytes with valid records after them — is damage.
 */
export function readLog(bytes: Uint8Array, dim: number, from = 0): LogRead {
  const records: ReadRecord[] = [];
  let at = from;
  for (;;) {
    if (at === bytes.length) return { records, valid: at, corruptAt: -1 };
    const r = recordAt(bytes, at, dim);
    if (!r) break;
    records.push({ rec: r.rec, rows: r.rows });
    at = r.next;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const unfinished = at + 8 > bytes.length || at + 8 + dv.getUint32(at, true) > bytes.length;
  return { records, valid: at, corruptAt: unfinished && nextRecord(bytes, at + 1, dim) < 0 ? -1 : at };
}

/** Every valid record of a damaged log, skipping the bad bytes between them, and the damaged ranges [start, end). */
export function salvageLog(
  bytes: Uint8Array,
  dim: number,
): { records: ReadRecord[]; damaged: Array<[number, number]> } {
  const records: ReadRecord[] = [],
    damaged: Array<[number, number]> = [];
  let at = 0;
  while (at < bytes.length) {
    const r = recordAt(bytes, at, dim);
    if (r) {
      records.push({ rec: r.rec, rows: r.rows });
      at = r.next;
      continue;
    }
    const next = nextRecord(bytes, at + 1, dim);
    damaged.push([at, next < 0 ? bytes.length : next]);
    if (next < 0) break;
    at = next;
  }
  return { records, damaged };
}
