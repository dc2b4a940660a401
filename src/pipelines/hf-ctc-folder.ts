// A Hugging Face Wav2Vec2ForCTC / HubertForCTC folder -> a CTCRecognizer.  Its own module, imported when the first
// such folder loads (hf-folder.ts), so the speech models' code is not part of every page's download.
import type { Tensor } from "../tensor.js";
import { CTCRecognizer } from "./ctc-recognizer.js";
import { Wav2Vec2ForCTC, wav2vec2ConfigFromJSON, wav2vec2ParameterCount } from "../models/hf-wav2vec2.js";
import { Wav2Vec2FeatureExtractor } from "../audio/wav2vec2-features.js";
import { CTCTokenizer } from "../text/ctc-tokenizer.js";
import { checkParameterCount, json, loadStrictly, needFile, readWeights, type FolderReader } from "./hf-folder.js";

/**
 * torch's newer weight-norm keys (parametrizations.weight.original0 / original1, the parametrize API) under the
 * older names the module keeps (weight_g / weight_v): the same two tensors.
 */
function weightNormKeys(weights: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(weights))
    out[
      k
        .replace(/\.parametrizations\.weight\.original0$/, ".weight_g")
        .replace(/\.parametrizations\.weight\.original1$/, ".weight_v")
    ] = t;
  return out;
}

/**
 * A Hugging Face Wav2Vec2ForCTC / HubertForCTC folder -> a CTCRecognizer (the model, Wav2Vec2FeatureExtractor,
 * Wav2Vec2CTCTokenizer's decoding).
 */
export async function loadCTCFolder(read: FolderReader, where: string, config: unknown): Promise<CTCRecognizer> {
  const need = needFile(read, where, "config.json, model.safetensors, preprocessor_config.json and vocab.json");
  const cfg = wav2vec2ConfigFromJSON(config);
  const features = Wav2Vec2FeatureExtractor.fromJSON(
    json(`${where}/preprocessor_config.json`, await need("preprocessor_config.json")),
    `${where}/preprocessor_config.json`,
  );
  const optional = async (file: string): Promise<unknown> => {
    const b = await read(file);
    return b ? json(`${where}/${file}`, b) : null;
  };
  const tokenizer = CTCTokenizer.fromFiles(
    json(`${where}/vocab.json`, await need("vocab.json")),
    await optional("tokenizer_config.json"),
    await optional("special_tokens_map.json"),
    `${where}/vocab.json`,
  );
  const weights = weightNormKeys(await readWeights(read, where));
  checkParameterCount(where, wav2vec2ParameterCount(cfg), weights);
  const model = loadStrictly(() => new Wav2Vec2ForCTC(cfg), weights);
  return new CTCRecognizer(model, features, tokenizer);
}
