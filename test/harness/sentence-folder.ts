// A sentence-transformers folder as SentenceTransformer.save writes it (or, `modules: false`, a plain Hugging Face
// encoder folder), holding one of test/fixtures/hf-text/bert.json's tiny encoders with procedural weights and the
// WordPiece tokenizer of test/fixtures/text: what the text-model tests load, index with and serve.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSafetensors } from "./hf-clip.mjs";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
export const TEXT_SPEC = JSON.parse(readFileSync(join(FIXTURES, "hf-text", "bert.json"), "utf8"));

export interface SentenceFolderOptions {
  pooling?: Record<string, unknown>;
  normalize?: boolean;
  modules?: boolean;
  /** the fixture config it holds (default bert-gelu), its vocabulary widened to the tokenizer's */
  encoder?: string;
  maxSeqLength?: number;
  prompts?: Record<string, string>;
}

export function writeSentenceFolder(dir: string, o: SentenceFolderOptions = {}): string {
  const e = TEXT_SPEC.configs[o.encoder ?? "bert-gelu"];
  mkdirSync(join(dir, "1_Pooling"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...e.config, vocab_size: 300 }));
  writeFileSync(join(dir, "tokenizer.json"), readFileSync(join(FIXTURES, "text", "wordpiece.tokenizer.json")));
  writeSafetensors(
    join(dir, "model.safetensors"),
    e.keys.map(([k, s]: [string, number[]]) => [k, k.endsWith("word_embeddings.weight") ? [300, s[1]] : s, "F32"]),
  );
  if (o.modules === false) return dir;
  const mods = [
    { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
    { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
    ...(o.normalize === false
      ? []
      : [{ idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" }]),
  ];
  writeFileSync(join(dir, "modules.json"), JSON.stringify(mods));
  writeFileSync(
    join(dir, "sentence_bert_config.json"),
    JSON.stringify({ max_seq_length: o.maxSeqLength ?? 12, do_lower_case: false }),
  );
  writeFileSync(
    join(dir, "config_sentence_transformers.json"),
    JSON.stringify({ prompts: o.prompts ?? { query: "query: ", passage: "passage: " }, default_prompt_name: null }),
  );
  writeFileSync(
    join(dir, "1_Pooling", "config.json"),
    JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true, ...o.pooling }),
  );
  return dir;
}
