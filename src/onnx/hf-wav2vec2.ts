// ONNX writer for Hugging Face's Wav2Vec2ForCTC / HubertForCTC (models/hf-wav2vec2.ts): input_values (B, samples),
// normalised as the feature extractor does and unpadded -> logits (B, frames, vocab).  The feature encoder's convs
// with GroupNorm(C, C) as InstanceNormalization (the same statistics: each channel over time) or LayerNorm over
// channels, GELU; the feature projection; the positional convolution with its weight-normed weight computed here (g
// v / ||v||, as the model computes it) and an even kernel's extra frame sliced off; post-LN or pre-LN layers with
// CLIP's attention writer; lm_head.
import { Wav2Vec2ForCTC } from "../models/hf-wav2vec2.js";
import { GELU, LayerNorm } from "../nn/basic.js";
import { type Graph, dimsOf } from "./graph.js";
import { attention } from "./hf-clip.js";
import { emit } from "./layers.js";
import { registerModel } from "./registry.js";

function logits(g: Graph, m: Wav2Vec2ForCTC, input: string): string {
  const c = m.config,
    bb = m.backbone,
    prefix = c.modelType === "hubert" ? "hubert" : "wav2vec2";
  const gelu = (x: string, path: string) => emit(g, new GELU(), x, path);
  let y = g.op1("Unsqueeze", [input, g.constI("axes", [1])]); // (B, 1, L)
  [...bb.feature_extractor.conv_layers].forEach((l, i) => {
    const path = `${prefix}.feature_extractor.conv_layers.${i}`;
    y = emit(g, l.conv, y, `${path}.conv`);
    const norm = l.layer_norm;
    if (norm instanceof LayerNorm) {
      const t = emit(g, norm, g.op1("Transpose", [y], { perm: [0, 2, 1] }), `${path}.layer_norm`);
      y = g.op1("Transpose", [t], { perm: [0, 2, 1] });
    } else if (norm) {
      y = g.op1("InstanceNormalization", [y, g.param("gn_weight", norm.weight!), g.param("gn_bias", norm.bias!)], {
        epsilon: norm.eps,
      });
    }
    y = gelu(y, `${path}.activation`);
  });
  let h = g.op1("Transpose", [y], { perm: [0, 2, 1] }); // (B, T, C)
  const fp = bb.feature_projection;
  if (fp.layer_norm) h = emit(g, fp.layer_norm, h, `${prefix}.feature_projection.layer_norm`);
  h = emit(g, fp.projection, h, `${prefix}.feature_projection.projection`);
  // the positional convolution: (B, E, T) -> (B, E, T [+ 1]) -> the first T frames -> GELU
  const pc = bb.encoder.pos_conv_embed.conv;
  const conv = g.op1(
    "Conv",
    [
      g.op1("Transpose", [h], { perm: [0, 2, 1] }),
      g.constF("pos_conv_weight", [...pc.weight_v.shape], pc.effectiveWeight()),
      g.param("pos_conv_bias", pc.bias),
    ],
    {
      kernel_shape: [pc.kernel],
      pads: [Math.floor(pc.kernel / 2), Math.floor(pc.kernel / 2)],
      group: pc.groups,
    },
  );
  const T = dimsOf(g, h, 1, 2);
  const cut = g.op1("Slice", [conv, g.constI("start", [0]), T, g.constI("axes", [2])]);
  h = g.op1("Add", [h, g.op1("Transpose", [gelu(cut, "pos_act")], { perm: [0, 2, 1] })]);
  const enc = bb.encoder;
  if (!c.doStableLayerNorm) h = emit(g, enc.layer_norm, h, `${prefix}.encoder.layer_norm`);
  [...enc.layers].forEach((l, i) => {
    const path = `${prefix}.encoder.layers.${i}`;
    const ff = (x: string) =>
      emit(
        g,
        l.feed_forward.output_dense,
        gelu(emit(g, l.feed_forward.intermediate_dense, x, `${path}.ff.in`), `${path}.ff.act`),
        `${path}.ff.out`,
      );
    if (c.doStableLayerNorm) {
      h = g.op1("Add", [h, attention(g, l.attention, emit(g, l.layer_norm, h, `${path}.ln`), `${path}.attn`, null)]);
      h = g.op1("Add", [h, ff(emit(g, l.final_layer_norm, h, `${path}.final_ln`))]);
    } else {
      h = emit(g, l.layer_norm, g.op1("Add", [h, attention(g, l.attention, h, `${path}.attn`, null)]), `${path}.ln`);
      h = emit(g, l.final_layer_norm, g.op1("Add", [h, ff(h)]), `${path}.final_ln`);
    }
  });
  if (c.doStableLayerNorm) h = emit(g, enc.layer_norm, h, `${prefix}.encoder.layer_norm`);
  return emit(g, m.lm_head, h, "lm_head");
}

/** input_values (B, samples) -> logits (B, frames, vocab). */
registerModel(Wav2Vec2ForCTC, (g, model, sample, who) => {
  const names = Object.keys(sample),
    x = sample.input_values;
  if (names.length !== 1 || !x || x.dtype !== "float32" || x.shape.length !== 2) {
    const got = names.map((n) => `${n} ${sample[n].dtype} (${sample[n].shape})`).join(", ") || "none";
    throw new Error(
      `${who}: ${model.config.modelType === "hubert" ? "HubertForCTC" : "Wav2Vec2ForCTC"} exports from ` +
        `input_values (float32, batch x samples), got ${got}`,
    );
  }
  return {
    inputs: [["input_values", x, ["batch", "samples"]]],
    outputs: [["logits", logits(g, model, "input_values"), ["batch", "frames", model.config.vocabSize]]],
  };
});

/** Imported by the CTC recogniser so the writer is registered wherever it is used. */
export const HF_WAV2VEC2_WRITERS = true;
