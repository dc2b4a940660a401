// A text document as index items: the file read as UTF-8 (refused by name when it is not text), cut into chunks
// of the text encoder's tokens (src/text/chunks.ts), each chunk one item `<path>#<k>` carrying its text and where it
// lies in the file.
import { openSync, closeSync, fstatSync, readSync } from "node:fs";
import { PolymodalError } from "../util/errors.js";
import { limits } from "../util/limits.js";
import { chunkText, type TextChunk } from "../text/chunks.js";
import type { DocumentReader } from "../pipelines/pipeline.js";
import type { EmbeddingStore } from "../retrieval/embedding-store.js";

/** How a document is chunked: tokens per chunk (default: all the model reads) and tokens repeated between chunks. */
export interface ChunkSettings {
  chunkTokens?: number;
  overlapTokens?: number;
}

/** The metadata of a chunk's item: its file (path, size, mtime, as every indexed file's), place and text. */
export type ChunkMetadata = {
  path: string;
  bytes: number;
  mtimeMs: number;
  /** this chunk's number and how many the file has */
  chunk: number;
  chunks: number;
  /** 1-based lines of its first and last character */
  line: number;
  endLine: number;
  /** its bytes in the file (end exclusive) */
  byteStart: number;
  byteEnd: number;
  text: string;
};

/** The item id of a document's chunk k. */
export const chunkId = (path: string, k: number): string => `${path}#${k}`;

/** A file's text: UTF-8 (a BOM skipped: byte offsets count from after it), refused when binary or too large. */
export function readTextFile(file: string): { text: string; bom: number } {
  const fd = openSync(file, "r");
  let bytes: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size > limits.maxTextBytes)
      throw new PolymodalError(
        "bad_input",
        `${size} bytes of text, more than limits.maxTextBytes (${limits.maxTextBytes}) reads`,
      );
    bytes = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    bytes = bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new PolymodalError("bad_input", `not a text file: a NUL byte at ${nul} (binary data)`);
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(bom)), bom };
  } catch {
    throw new PolymodalError("bad_input", "not UTF-8 text (text documents are read as UTF-8)");
  }
}

/** A document's chunks for a model that reads documents, within its budget. */
export function documentChunks(text: string, reader: DocumentReader, s: ChunkSettings = {}): TextChunk[] {
  const max = s.chunkTokens ?? reader.maxTokens;
  if (!Number.isInteger(max) || max < 1 || max > reader.maxTokens)
    throw new PolymodalError(
      "usage",
      `chunk tokens must be an integer from 1 to ${reader.maxTokens} (what the text model reads), got ${max}`,
    );
  const overlap = s.overlapTokens ?? Math.floor(max / 8);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > max / 2)
    throw new PolymodalError(
      "usage",
      `chunk overlap must be an integer from 0 to half the chunk's tokens (${Math.floor(max / 2)}), got ${overlap}`,
    );
  return chunkText(text, {
    maxTokens: max,
    overlapTokens: overlap,
    countTokens: (t) => reader.countTokens(t),
  });
}

/**
 * Removes a document's chunks from chunk n on (its chunks are numbered from 0 without gaps, so the first batch that
 * removes fewer than it names is the last): for a store whose old chunk count is not known here.
 */
export async function removeChunksFrom(store: EmbeddingStore, path: string, n: number): Promise<void> {
  for (let k = n; ; k += 64) {
    const removed = await store.remove(Array.from({ length: 64 }, (_, j) => chunkId(path, k + j)));
    if (removed < 64) return;
  }
}
