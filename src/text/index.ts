// Text: Hugging Face tokenizer.json tokenizers and a byte-level default.
export { Tokenizer, ByteTokenizer } from "./tokenizer.js";
export type { Encoding, EncodeOptions } from "./tokenizer.js";
