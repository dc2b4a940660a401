// A sentence-transformers folder (as SentenceTransformer.save writes it: modules.json, sentence_bert_config.json,
// config.json, model.safetensors, tokenizer.json, 1_Pooling/config.json, optionally 2_Normalize and
// config_sentence_transformers.json) or a plain Hugging Face BERT / RoBERTa / XLM-RoBERTa / MPNet encoder folder
// (mean pooling, normalised) -> a SentenceEmbedder.  Its own module, imported when the first such folder loads.
import type { Tensor } from "../tensor.js";
import { Tokenizer } from "../text/tokenizer.js";
import { BertModel, bertConfigFromJSON, bertParameterCount } from "../models/hf-bert.js";
import { MPNetModel, mpnetConfigFromJSON, mpnetParameterCount } from "../models/hf-mpnet.js";
import { POOLING_MODES, type PoolingMode } from "../models/sentence-pooling.js";
import { SentenceEmbedder, sentenceTasks, type SentenceEncoder, type SentenceSettings } from "./sentence-embedder.js";
import type { ProcessingOptions, Tasks } from "./pipeline.js";
import { checkParameterCount, json, loadStrictly, needFile, readWeights, type FolderReader } from "./hf-folder.js";

const TRANSFORMER = "sentence_transformers.models.Transformer",
  POOLING = "sentence_transformers.models.Pooling",
  NORMALIZE = "sentence_transformers.models.Normalize";

/** 1_Pooling/config.json -> the one pooling mode it turns on (the ones we compute; others refused by name). */
function poolingMode(cfg: Record<string, unknown>, where: string): PoolingMode {
  const modes: Record<string, PoolingMode | null> = {
    pooling_mode_mean_tokens: "mean",
    pooling_mode_cls_token: "cls",
    pooling_mode_max_tokens: "max",
    pooling_mode_lasttoken: "lasttoken",
    pooling_mode_mean_sqrt_len_tokens: null,
    pooling_mode_weightedmean_tokens: null,
  };
  const on = Object.keys(modes).filter((k) => cfg[k] === true);
  if (on.length !== 1 || modes[on[0]] === null)
    throw new Error(
      `${where}: exactly one of pooling_mode_mean_tokens, _cls_token, _max_tokens or _lasttoken must be true, ` +
        `got ${on.join(", ") || "none"}`,
    );
  if (cfg.include_prompt === false)
    throw new Error(`${where}: include_prompt false (pooling without the prompt's tokens) is not supported`);
  return modes[on[0]]!;
}

/** The encoder config.json names, its parameter count, its longest sequence and how to build it. */
function encoder(config: unknown): { vocab: number; params: number; longest: number; make: () => SentenceEncoder } {
  if ((config as { model_type?: unknown }).model_type === "mpnet") {
    const c = mpnetConfigFromJSON(config);
    return {
      vocab: c.vocabSize,
      params: mpnetParameterCount(c),
      longest: c.maxPositionEmbeddings - c.padTokenId - 1,
      make: () => new MPNetModel(c),
    };
  }
  const c = bertConfigFromJSON(config);
  return {
    vocab: c.vocabSize,
    params: bertParameterCount(c),
    // RoBERTa's positions start after the padding index
    longest: c.modelType === "bert" ? c.maxPositionEmbeddings : c.maxPositionEmbeddings - c.padTokenId - 1,
    make: () => new BertModel(c),
  };
}

/** config_sentence_transformers.json's prompts and default prompt (none when the folder has no modules.json). */
async function promptsOf(
  read: FolderReader,
  where: string,
): Promise<Pick<SentenceSettings, "prompts" | "defaultPrompt">> {
  const out: Pick<SentenceSettings, "prompts" | "defaultPrompt"> = { prompts: {}, defaultPrompt: null };
  const b = await read("config_sentence_transformers.json");
  const st = b ? json(`${where}/config_sentence_transformers.json`, b) : null;
  if (st?.prompts) {
    if (typeof st.prompts !== "object" || Object.values(st.prompts).some((p) => typeof p !== "string"))
      throw new Error(`${where}/config_sentence_transformers.json: prompts must map names to strings`);
    out.prompts = st.prompts;
  }
  if (typeof st?.default_prompt_name === "string") {
    if (!Object.hasOwn(out.prompts, st.default_prompt_name))
      throw new Error(
        `${where}/config_sentence_transformers.json: default_prompt_name ${JSON.stringify(st.default_prompt_name)} ` +
          "is not one of its prompts",
      );
    out.defaultPrompt = st.default_prompt_name;
  }
  return out;
}

/** A text encoder folder's tasks, known before it loads: the "text" space, with its query and document prompts. */
export async function sentenceFolderTasks(read: FolderReader, where: string): Promise<Tasks> {
  const modules = await read("modules.json");
  return sentenceTasks(modules ? await promptsOf(read, where) : { prompts: {}, defaultPrompt: null });
}

export async function loadSentenceFolder(
  read: FolderReader,
  where: string,
  config: unknown,
  options: ProcessingOptions = {},
): Promise<SentenceEmbedder> {
  const need = needFile(read, where, "config.json, model.safetensors and tokenizer.json");
  const optional = async (file: string): Promise<any> => {
    const b = await read(file);
    return b ? json(`${where}/${file}`, b) : null;
  };
  const enc = encoder(config);
  const modules = await optional("modules.json");
  const settings: SentenceSettings = {
    maxSeqLength: enc.longest,
    pooling: "mean",
    normalize: true,
    prompts: {},
    defaultPrompt: null,
  };
  if (modules !== null) {
    if (!Array.isArray(modules) || modules.some((m) => !m || typeof m.type !== "string"))
      throw new Error(`${where}/modules.json: expected a list of { idx, name, path, type }`);
    const types = modules.map((m: { type: string }) => m.type);
    if (types[0] !== TRANSFORMER || (types[1] !== undefined && types[1] !== POOLING))
      throw new Error(`${where}/modules.json: expected Transformer then Pooling, got ${types.join(", ")}`);
    const rest = types.slice(2).filter((t: string) => t !== NORMALIZE);
    if (rest.length) throw new Error(`${where}/modules.json: modules not supported: ${rest.join(", ")}`);
    settings.normalize = types.includes(NORMALIZE);
    if (types[1] === POOLING) {
      const dir = String(modules[1].path ?? "1_Pooling");
      settings.pooling = poolingMode(
        json(`${where}/${dir}/config.json`, await need(`${dir}/config.json`)),
        `${where}/${dir}/config.json`,
      );
    }
    const sb = await optional("sentence_bert_config.json");
    if (sb?.max_seq_length !== undefined) {
      const n = sb.max_seq_length;
      if (!Number.isInteger(n) || n < 2 || n > enc.longest)
        throw new Error(
          `${where}/sentence_bert_config.json: max_seq_length must be an integer from 2 to ${enc.longest} (the ` +
            `model's positions), got ${JSON.stringify(n)}`,
        );
      settings.maxSeqLength = n;
    }
    if (sb?.do_lower_case === true)
      throw new Error(`${where}/sentence_bert_config.json: do_lower_case true is not supported (the tokenizer's own)`);
    Object.assign(settings, await promptsOf(read, where));
  }
  if (options.pooling !== undefined) {
    if (!(POOLING_MODES as readonly string[]).includes(options.pooling))
      throw new Error(`pooling must be one of ${POOLING_MODES.join(", ")}, got ${JSON.stringify(options.pooling)}`);
    // a sentence-transformers folder says how it pools; a plain encoder folder takes the option
    if (modules !== null && options.pooling !== settings.pooling)
      throw new Error(
        `${where} pools by ${settings.pooling} (its 1_Pooling/config.json); pooling ${options.pooling} is for plain ` +
          "encoder folders",
      );
    settings.pooling = options.pooling;
  }
  const tokenizer = Tokenizer.fromJSON(new TextDecoder().decode(await need("tokenizer.json")));
  if (tokenizer.vocabSize > enc.vocab)
    throw new Error(
      `loadPretrained: ${where}/tokenizer.json has ids up to ${tokenizer.vocabSize - 1} but config.json's ` +
        `vocab_size is ${enc.vocab}`,
    );
  const weights: Record<string, Tensor> = await readWeights(read, where);
  checkParameterCount(where, enc.params, weights);
  const model = loadStrictly(enc.make, weights);
  return new SentenceEmbedder(model, tokenizer, settings);
}
