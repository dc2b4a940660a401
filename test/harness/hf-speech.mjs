// Hugging Face-layout Wav2Vec2ForCTC / HubertForCTC folders for the tests, written as `save_pretrained` (model and
// processor) writes them: config.json, preprocessor_config.json, vocab.json, tokenizer_config.json,
// special_tokens_map.json and model.safetensors, the weights procedural by their Hugging Face key names -- the bits
// scripts/fixtures/gen_hf_wav2vec2.py gives reference/hf_wav2vec2.py -- so no weights are committed.  Plain ESM:
// the key list below is written from Hugging Face's layout, not read from ours.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { proceduralUnit } from "./procedural.mjs";
import { writeSafetensors } from "./hf-clip.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const HF_SPEECH_FIXTURES = join(root, "test/fixtures/hf-speech");
/** { vocab, utterances, decodes, models: name -> { config, preprocessor } } (gen_hf_wav2vec2.py writes it). */
export const HF_SPEECH = JSON.parse(readFileSync(join(HF_SPEECH_FIXTURES, "configs.json"), "utf8"));

/** gen_hf_wav2vec2.py's wave(): 0.3 * unit noise + 0.1, float32. */
export function utterance(key, n) {
  const u = proceduralUnit(key, n),
    out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(Math.fround(Math.fround(0.3) * u[i]) + Math.fround(0.1));
  return out;
}

const DEFAULTS = {
  vocab_size: 32,
  hidden_size: 768,
  num_hidden_layers: 12,
  intermediate_size: 3072,
  feat_extract_norm: "group",
  conv_dim: [512, 512, 512, 512, 512, 512, 512],
  conv_kernel: [10, 3, 3, 3, 3, 2, 2],
  conv_bias: false,
  num_conv_pos_embeddings: 128,
  num_conv_pos_embedding_groups: 16,
  feat_proj_layer_norm: true,
  mask_time_prob: 0.05,
  mask_feature_prob: 0,
};

/**
 * [key, shape] of every tensor of transformers' Wav2Vec2ForCTC / HubertForCTC state_dict, in its order, with the
 * positional convolution's weight norm as weight_g / weight_v.
 */
export function ctcKeys(config) {
  const c = { ...DEFAULTS, ...config };
  const p = c.model_type === "hubert" ? "hubert" : "wav2vec2";
  const E = c.hidden_size,
    I = c.intermediate_size,
    C = c.conv_dim[c.conv_dim.length - 1],
    K = c.num_conv_pos_embeddings;
  const keys = [];
  c.conv_dim.forEach((d, i) => {
    const l = `${p}.feature_extractor.conv_layers.${i}`;
    keys.push([`${l}.conv.weight`, [d, i === 0 ? 1 : c.conv_dim[i - 1], c.conv_kernel[i]]]);
    if (c.conv_bias) keys.push([`${l}.conv.bias`, [d]]);
    if (c.feat_extract_norm === "layer" || i === 0)
      keys.push([`${l}.layer_norm.weight`, [d]], [`${l}.layer_norm.bias`, [d]]);
  });
  if (p === "wav2vec2" || c.feat_proj_layer_norm)
    keys.push([`${p}.feature_projection.layer_norm.weight`, [C]], [`${p}.feature_projection.layer_norm.bias`, [C]]);
  keys.push([`${p}.feature_projection.projection.weight`, [E, C]], [`${p}.feature_projection.projection.bias`, [E]]);
  if (c.mask_time_prob > 0 || c.mask_feature_prob > 0) keys.push([`${p}.masked_spec_embed`, [E]]);
  keys.push(
    [`${p}.encoder.pos_conv_embed.conv.weight_g`, [1, 1, K]],
    [`${p}.encoder.pos_conv_embed.conv.weight_v`, [E, E / c.num_conv_pos_embedding_groups, K]],
    [`${p}.encoder.pos_conv_embed.conv.bias`, [E]],
    [`${p}.encoder.layer_norm.weight`, [E]],
    [`${p}.encoder.layer_norm.bias`, [E]],
  );
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const l = `${p}.encoder.layers.${i}`;
    for (const q of ["k_proj", "v_proj", "q_proj", "out_proj"])
      keys.push([`${l}.attention.${q}.weight`, [E, E]], [`${l}.attention.${q}.bias`, [E]]);
    keys.push(
      [`${l}.layer_norm.weight`, [E]],
      [`${l}.layer_norm.bias`, [E]],
      [`${l}.feed_forward.intermediate_dense.weight`, [I, E]],
      [`${l}.feed_forward.intermediate_dense.bias`, [I]],
      [`${l}.feed_forward.output_dense.weight`, [E, I]],
      [`${l}.feed_forward.output_dense.bias`, [E]],
      [`${l}.final_layer_norm.weight`, [E]],
      [`${l}.final_layer_norm.bias`, [E]],
    );
  }
  keys.push(["lm_head.weight", [c.vocab_size, E]], ["lm_head.bias", [c.vocab_size]]);
  return keys;
}

/**
 * A Hugging Face CTC folder at `dir` for fixture model `name`.  weightNorm "g_v" (weight_g / weight_v, as older
 * transformers saved) or "parametrizations" (parametrizations.weight.original0 / original1, as newer torch saves);
 * dtype "F32" | "F16"; drop / extra: keys to leave out or add (strict loading tests).
 */
export function writeCTCFolder(dir, name, { weightNorm = "g_v", dtype = "F32", drop = [], extra = [] } = {}) {
  const { config, preprocessor } = HF_SPEECH.models[name];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, torch_dtype: "float32" }, null, 2));
  writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(preprocessor, null, 2));
  writeFileSync(join(dir, "vocab.json"), JSON.stringify(HF_SPEECH.vocab));
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      tokenizer_class: "Wav2Vec2CTCTokenizer",
      do_lower_case: false,
      word_delimiter_token: "|",
      pad_token: "<pad>",
      unk_token: "<unk>",
      bos_token: "<s>",
      eos_token: "</s>",
    }),
  );
  writeFileSync(
    join(dir, "special_tokens_map.json"),
    JSON.stringify({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", pad_token: "<pad>" }),
  );
  const rename = (k) =>
    weightNorm === "parametrizations"
      ? k
          .replace(/conv\.weight_g$/, "conv.parametrizations.weight.original0")
          .replace(/conv\.weight_v$/, "conv.parametrizations.weight.original1")
      : k;
  const entries = ctcKeys(config)
    .filter(([k]) => !drop.includes(k))
    .map(([k, s]) => [rename(k), s, dtype, k]);
  for (const [k, s] of extra) entries.push([k, s, dtype]);
  writeSafetensors(join(dir, "model.safetensors"), entries);
  return dir;
}

/** [key, shape] of every tensor of transformers' WhisperForConditionalGeneration state_dict (proj_out tied: absent). */
export function whisperKeys(c) {
  const d = c.d_model,
    keys = [];
  const attn = (p) =>
    keys.push(
      [`${p}.k_proj.weight`, [d, d]],
      [`${p}.v_proj.weight`, [d, d]],
      [`${p}.v_proj.bias`, [d]],
      [`${p}.q_proj.weight`, [d, d]],
      [`${p}.q_proj.bias`, [d]],
      [`${p}.out_proj.weight`, [d, d]],
      [`${p}.out_proj.bias`, [d]],
    );
  const norm = (p) => keys.push([`${p}.weight`, [d]], [`${p}.bias`, [d]]);
  const ffn = (p, f) =>
    keys.push([`${p}.fc1.weight`, [f, d]], [`${p}.fc1.bias`, [f]], [`${p}.fc2.weight`, [d, f]], [`${p}.fc2.bias`, [d]]);
  keys.push(
    ["model.encoder.conv1.weight", [d, c.num_mel_bins, 3]],
    ["model.encoder.conv1.bias", [d]],
    ["model.encoder.conv2.weight", [d, d, 3]],
    ["model.encoder.conv2.bias", [d]],
    ["model.encoder.embed_positions.weight", [c.max_source_positions, d]],
  );
  for (let i = 0; i < c.encoder_layers; i++) {
    const l = `model.encoder.layers.${i}`;
    attn(`${l}.self_attn`);
    norm(`${l}.self_attn_layer_norm`);
    ffn(l, c.encoder_ffn_dim);
    norm(`${l}.final_layer_norm`);
  }
  norm("model.encoder.layer_norm");
  keys.push(
    ["model.decoder.embed_tokens.weight", [c.vocab_size, d]],
    ["model.decoder.embed_positions.weight", [c.max_target_positions, d]],
  );
  for (let i = 0; i < c.decoder_layers; i++) {
    const l = `model.decoder.layers.${i}`;
    attn(`${l}.self_attn`);
    norm(`${l}.self_attn_layer_norm`);
    attn(`${l}.encoder_attn`);
    norm(`${l}.encoder_attn_layer_norm`);
    ffn(l, c.decoder_ffn_dim);
    norm(`${l}.final_layer_norm`);
  }
  norm("model.decoder.layer_norm");
  return keys;
}

/**
 * A byte-level BPE tokenizer.json for the small Whisper fixtures: 50 word pieces, then the specials and
 * `timestamps` timestamp tokens (<|0.00|>, <|0.02|>, ...): 64 ids with the default 5.
 */
export function whisperTokenizer(timestamps = 5) {
  const pieces = [
    "Ġ",
    ..."abcdefghijklmnopqrstuvwxyz",
    "Ġthe",
    "Ġa",
    "Ġof",
    "Ġand",
    "Ġto",
    "Ġin",
    "Ġis",
    "Ġit",
    "Ġon",
    "Ġyou",
    "Ġthat",
    "Ġwas",
    "Ġfor",
    "Ġare",
    "Ġwith",
    "Ġhe",
    "Ġbe",
    "Ġthis",
    "Ġat",
    "Ġor",
    "Ġone",
    "Ġhave",
    "Ġnot",
  ];
  const specials = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|de|>",
    "<|fr|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
    ...Array.from({ length: timestamps }, (_, i) => `<|${(i * 0.02).toFixed(2)}|>`),
  ];
  const vocab = Object.fromEntries([...pieces, ...specials].map((t, i) => [t, i]));
  return {
    version: "1.0",
    added_tokens: specials.map((content, i) => ({
      id: pieces.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
}

/** A Hugging Face Whisper folder for fixture `spec` (test/fixtures/hf-speech/whisper-pipe.json's shape). */
export function writeWhisperFolder(dir, spec, { projOut = false, dtype = "F32" } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec.config, null, 2));
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify(spec.generation, null, 2));
  writeFileSync(
    join(dir, "preprocessor_config.json"),
    JSON.stringify({
      feature_extractor_type: "WhisperFeatureExtractor",
      feature_size: spec.config.num_mel_bins,
      sampling_rate: 16000,
      hop_length: 160,
      n_fft: 400,
      chunk_length: spec.chunk_length ?? 1,
      padding_value: 0,
    }),
  );
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(whisperTokenizer(spec.timestamps ?? 5)));
  const entries = whisperKeys(spec.config).map(([k, s]) => [k, s, dtype]);
  if (projOut)
    entries.push([
      "proj_out.weight",
      [spec.config.vocab_size, spec.config.d_model],
      "F32",
      "model.decoder.embed_tokens.weight",
    ]);
  writeSafetensors(join(dir, "model.safetensors"), entries);
  return dir;
}
