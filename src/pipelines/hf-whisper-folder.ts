// A Hugging Face Whisper folder -> a WhisperRecognizer.  Its own module, imported when the first such folder loads
// (hf-folder.ts), so Whisper's code is not part of every page's download.
import type { Tensor } from "../tensor.js";
import { Tokenizer } from "../text/tokenizer.js";
import { WhisperFeatureExtractor } from "../audio/whisper-features.js";
import { WhisperForConditionalGeneration, whisperConfigFromJSON, whisperParameterCount } from "../models/hf-whisper.js";
import { WhisperRecognizer } from "./whisper-recognizer.js";
import { whisperGenerationFromJSON } from "./whisper-generate.js";
import { checkParameterCount, json, loadStrictly, needFile, readWeights, type FolderReader } from "./hf-folder.js";

/**
 * The checkpoint's output projection is the token embedding (tied): a proj_out.weight saved beside it must be the
 * same values, and is then dropped; the model keeps one copy.
 */
function untie(weights: Record<string, Tensor>, where: string): Record<string, Tensor> {
  const out = { ...weights },
    p = out["proj_out.weight"],
    e = out["model.decoder.embed_tokens.weight"];
  if (!p) return out;
  if (e && p.size === e.size && p.data.every((v, i) => v === e.data[i])) {
    delete out["proj_out.weight"];
    return out;
  }
  throw new Error(
    `loadPretrained: ${where}: proj_out.weight differs from model.decoder.embed_tokens.weight; an output projection ` +
      "not tied to the token embedding is not supported",
  );
}

export async function loadWhisperFolder(
  read: FolderReader,
  where: string,
  config: unknown,
): Promise<WhisperRecognizer> {
  const need = needFile(
    read,
    where,
    "config.json, model.safetensors, tokenizer.json, generation_config.json and preprocessor_config.json",
  );
  const cfg = whisperConfigFromJSON(config);
  const features = WhisperFeatureExtractor.fromJSON(
    json(`${where}/preprocessor_config.json`, await need("preprocessor_config.json")),
    `${where}/preprocessor_config.json`,
  );
  const tokenizer = Tokenizer.fromJSON(new TextDecoder().decode(await need("tokenizer.json")));
  const genBytes = await read("generation_config.json");
  const generation = whisperGenerationFromJSON(
    genBytes ? json(`${where}/generation_config.json`, genBytes) : null,
    config,
    cfg.vocabSize,
    where,
  );
  const weights = untie(await readWeights(read, where), where);
  checkParameterCount(where, whisperParameterCount(cfg), weights);
  const model = loadStrictly(() => new WhisperForConditionalGeneration(cfg), weights);
  if (tokenizer.vocabSize > cfg.vocabSize)
    throw new Error(
      `loadPretrained: ${where}/tokenizer.json has ids up to ${tokenizer.vocabSize - 1} but config.json's ` +
        `vocab_size is ${cfg.vocabSize}`,
    );
  return new WhisperRecognizer(model, features, tokenizer, generation);
}
