// Hugging Face-layout CLIP folders for the tests, written as `save_pretrained` writes them: config.json,
// preprocessor_config.json, tokenizer.json and model.safetensors (F32 or F16, or shards named by
// model.safetensors.index.json), the weights procedural by their Hugging Face key names -- the bits
// scripts/fixtures/gen_hf_clip.py gives reference/hf_clip.py -- so no weights are committed.  Plain ESM (no build,
// imports nothing from the library): the key list below is written from Hugging Face's layout, not read from ours.
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { proceduralUnit, proceduralValues } from "./procedural.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const HF_CLIP_FIXTURES = join(root, "test/fixtures/hf-clip");
/** name -> { config, preprocessor }: the config.json and preprocessor_config.json of each fixture size. */
export const HF_CLIP_CONFIGS = JSON.parse(readFileSync(join(HF_CLIP_FIXTURES, "configs.json"), "utf8"));

/** Procedural uint8 pixels (h, w, c), as gen_hf_clip.py's photo(): floor((unit + 1) * 128). */
export function photo(key, w, h, c) {
  const u = proceduralUnit(key, w * h * c);
  const out = new Uint8Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = Math.floor((u[i] + 1) * 128);
  return { width: w, height: h, channels: c, data: out };
}
/** gen_hf_clip.py's PHOTOS and IDS. */
export const PHOTOS = [
  ["photo.a", 300, 257, 3],
  ["photo.b", 190, 263, 4],
];

const TEXT_DEFAULTS = {
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  num_hidden_layers: 12,
  max_position_embeddings: 77,
};
const VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
};

/** [key, shape] of every tensor of transformers' CLIPModel state_dict, in its order. */
export function hfClipKeys(config) {
  const t = { ...TEXT_DEFAULTS, ...config.text_config },
    v = { ...VISION_DEFAULTS, ...config.vision_config };
  const P = config.projection_dim ?? 512;
  const enc = (prefix, c) =>
    Array.from({ length: c.num_hidden_layers }, (_, i) => {
      const l = `${prefix}.encoder.layers.${i}`,
        E = c.hidden_size,
        I = c.intermediate_size;
      return [
        ...["k_proj", "v_proj", "q_proj", "out_proj"].flatMap((p) => [
          [`${l}.self_attn.${p}.weight`, [E, E]],
          [`${l}.self_attn.${p}.bias`, [E]],
        ]),
        [`${l}.layer_norm1.weight`, [E]],
        [`${l}.layer_norm1.bias`, [E]],
        [`${l}.mlp.fc1.weight`, [I, E]],
        [`${l}.mlp.fc1.bias`, [I]],
        [`${l}.mlp.fc2.weight`, [E, I]],
        [`${l}.mlp.fc2.bias`, [E]],
        [`${l}.layer_norm2.weight`, [E]],
        [`${l}.layer_norm2.bias`, [E]],
      ];
    }).flat();
  const Et = t.hidden_size,
    Ev = v.hidden_size,
    npos = (v.image_size / v.patch_size) ** 2 + 1;
  return [
    ["text_model.embeddings.token_embedding.weight", [t.vocab_size, Et]],
    ["text_model.embeddings.position_embedding.weight", [t.max_position_embeddings, Et]],
    ...enc("text_model", t),
    ["text_model.final_layer_norm.weight", [Et]],
    ["text_model.final_layer_norm.bias", [Et]],
    ["vision_model.embeddings.class_embedding", [Ev]],
    ["vision_model.embeddings.patch_embedding.weight", [Ev, v.num_channels, v.patch_size, v.patch_size]],
    ["vision_model.embeddings.position_embedding.weight", [npos, Ev]],
    ["vision_model.pre_layrnorm.weight", [Ev]],
    ["vision_model.pre_layrnorm.bias", [Ev]],
    ...enc("vision_model", v),
    ["vision_model.post_layernorm.weight", [Ev]],
    ["vision_model.post_layernorm.bias", [Ev]],
    ["visual_projection.weight", [P, Ev]],
    ["text_projection.weight", [P, Et]],
    ["logit_scale", []],
  ];
}

/** IEEE half bits of a float32 value, rounded to nearest even (numpy's astype(float16)). */
export function f16Bits(x) {
  const b = new Uint32Array(Float32Array.of(x).buffer)[0];
  const sign = (b >>> 16) & 0x8000,
    e = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (e === 255) return sign | 0x7c00 | (m ? 0x200 : 0);
  const exp = e - 112;
  if (exp >= 31) return sign | 0x7c00;
  let half, rem, mid;
  if (exp <= 0) {
    if (exp < -10) return sign;
    m |= 0x800000;
    const shift = 14 - exp;
    half = m >>> shift;
    rem = m & ((1 << shift) - 1);
    mid = 1 << (shift - 1);
  } else {
    half = (exp << 10) | (m >>> 13);
    rem = m & 0x1fff;
    mid = 0x1000;
  }
  if (rem > mid || (rem === mid && half & 1)) half++;
  return sign | half;
}

/** The bytes of one tensor: float32 or float16 little-endian (int64 for position_ids). */
function tensorBytes(key, shape, dtype) {
  if (dtype === "I64") {
    const n = shape[1],
      out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(i);
    return new Uint8Array(out.buffer);
  }
  const v = proceduralValues(key, shape);
  if (dtype === "F32") return new Uint8Array(v.buffer);
  const h = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) h[i] = dtype === "BF16" ? bf16Bits(v[i]) : f16Bits(v[i]);
  return new Uint8Array(h.buffer);
}

/** The value of float16 (IEEE half) or bfloat16 bits. */
export function halfValue(b, dtype) {
  if (dtype === "BF16") return new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  const sign = b & 0x8000 ? -1 : 1,
    e = (b >>> 10) & 0x1f,
    m = b & 0x3ff;
  if (e === 31) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
}

/** float32 -> bfloat16 bits, round to nearest even (torch's .to(torch.bfloat16)). */
export function bf16Bits(x) {
  const u = new Uint32Array(Float32Array.of(x).buffer)[0];
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/**
 * Writes a safetensors file of [key, shape, dtype, valueKey?] entries tensor by tensor (a 600 MB checkpoint is never
 * one buffer); valueKey: the key whose procedural values it holds (a renamed key's old name), default the key.
 */
export function writeSafetensors(path, entries) {
  const size = (s, dt) => s.reduce((a, b) => a * b, 1) * (dt === "F16" || dt === "BF16" ? 2 : dt === "I64" ? 8 : 4);
  const header = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const [k, s, dt] of entries) {
    header[k] = { dtype: dt, shape: s, data_offsets: [off, off + size(s, dt)] };
    off += size(s, dt);
  }
  let h = JSON.stringify(header);
  h += " ".repeat((8 - (h.length % 8)) % 8);
  const fd = openSync(path, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(h));
    for (const [k, s, dt, vk] of entries) writeSync(fd, tensorBytes(vk ?? k, s, dt));
  } finally {
    closeSync(fd);
  }
}

/**
 * A Hugging Face CLIP folder at `dir` for fixture size `name` (small, b32, b16).  dtype "F32" | "F16"; shards > 1
 * splits the weights as save_pretrained(max_shard_size=...) does; positionIds adds the position_ids buffers older
 * transformers saved.
 */
export function writeHFClipFolder(dir, name, { dtype = "F32", shards = 1, positionIds = false } = {}) {
  const { config, preprocessor } = HF_CLIP_CONFIGS[name];
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({ ...config, torch_dtype: dtype === "F16" ? "float16" : "float32" }, null, 2),
  );
  writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(preprocessor, null, 2));
  writeFileSync(join(dir, "tokenizer.json"), readFileSync(join(HF_CLIP_FIXTURES, "tokenizer.json")));
  const entries = hfClipKeys(config).map(([k, s]) => [k, s, dtype]);
  if (positionIds) {
    const t = config.text_config,
      v = config.vision_config;
    entries.push(
      ["text_model.embeddings.position_ids", [1, t.max_position_embeddings ?? 77], "I64"],
      ["vision_model.embeddings.position_ids", [1, (v.image_size / v.patch_size) ** 2 + 1], "I64"],
    );
  }
  if (shards <= 1) {
    writeSafetensors(join(dir, "model.safetensors"), entries);
    return dir;
  }
  const names = Array.from(
    { length: shards },
    (_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`,
  );
  const per = Math.ceil(entries.length / shards),
    weightMap = {};
  names.forEach((file, i) => {
    const part = entries.slice(i * per, (i + 1) * per);
    for (const [k] of part) weightMap[k] = file;
    writeSafetensors(join(dir, file), part);
  });
  writeFileSync(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2),
  );
  return dir;
}
