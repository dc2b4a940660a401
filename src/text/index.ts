// Text: Hugging Face tokenizer.json tokenizers and a byte-level default.
export { Tokenizer, ByteTokenizer, onigToRegExp } from "./tokenizer.js";
export type { CTCTokenizer, CTCSegment, CTCWord } from "./ctc-tokenizer.js";
export type { Encoding, EncodeOptions } from "./tokenizer.js";
export { chunkText } from "./chunks.js";
export type { ChunkOptions, TextChunk } from "./chunks.js";
