// Whole-model ONNX writers for the reference design's models: the glue of each forward around the layer writers,
// and the
// input / output spec (names, dynamic axes) of the exported graph.
import { type Tensor, fmtShape } from "../tensor.js";
import type { Module } from "../nn/module.js";
import { SpeechRecognitionModel } from "../models/speech.js";
import { VisionEncoder } from "../models/vision.js";
import { TextEncoder } from "../models/text.js";
import { CLIPModel } from "../models/clip.js";
import { AudioFeatureExtractor } from "../models/audio.js";
import { VideoEncoder, VideoTextModel } from "../models/video.js";
import { ModalityFusion } from "../models/fusion.js";
import { MultimodalEmbeddingModel } from "../models/multimodal.js";
import { hannWindow, melscaleFbanks } from "../ops/audio.js";
import { type Graph, dimsOf, batchToken, l2normalize, lastStep } from "./graph.js";
import { emit, isStack, selfAttention } from "./layers.js";
import { registerModel, modelWriter, supported, type Dims, type Spec } from "./registry.js";

/** VisionEncoder.forward: patches -> [cls; tokens] + pos -> transformer -> ln(cls) -> projection. */
function visionEncoder(g: Graph, m: VisionEncoder, x: string): string {
  const E = m.config.embedDim;
  const p = emit(g, m.patch_embed, x, "patch_embed"); // (B, E, gh, gw)
  // (B, N, E)
  const tokens = g.op1("Transpose", [g.op1("Reshape", [p, g.constI("shape", [0, E, -1])])], { perm: [0, 2, 1] });
  // the cls token, repeated over the batch: Expand to (B, 1, E) with B read from the input's shape
  const b = g.op1("Slice", [g.op1("Shape", [x]), g.constI("start", [0]), g.constI("end", [1])]);
  const shape = g.op1("Concat", [b, g.constI("one_e", [1, E])], { axis: 0 });
  const cls = g.op1("Expand", [g.param("cls_token", m.cls_token), shape]);
  const seq = g.op1("Add", [g.op1("Concat", [cls, tokens], { axis: 1 }), g.param("pos_embed", m.pos_embed)]);
  const h = emit(g, m.transformer, seq, "transformer");
  const first = g.op1("Gather", [h, g.constI("zero", [0])], { axis: 1 }); // (B, 1, E)
  const c = g.op1("Reshape", [first, g.constI("shape", [0, E])]);
  return emit(g, m.projection, emit(g, m.ln, c, "ln"), "projection");
}

/** The additive key mask (B, 1, 1, T) of an attention mask (B, T), 1 = token: 0 for tokens, -inf for padding. */
function keyMask(g: Graph, mask: string, sample: Tensor): string {
  const pad = g.op1("Equal", [mask, g.constLike("zero", sample, [], [0])]);
  const add = g.op1("Where", [
    pad,
    g.constF("neg_inf", [], Float32Array.of(-Infinity)),
    g.constF("zero_f", [], Float32Array.of(0)),
  ]);
  return g.op1("Unsqueeze", [add, g.constI("axes", [1, 2])]);
}

/**
 * torch's nested-tensor path, as the library runs it: when every mask row is left-aligned (no token after a
 * pad), padded positions of the encoder output are 0 (which also turns a row of only padding, NaN after its
 * fully masked attention, into zeros).
 */
function zeroPadding(g: Graph, h: string, mask: string, sample: Tensor): string {
  const pads = g.op1("Equal", [mask, g.constLike("zero", sample, [], [0])]); // (B, T)
  const padsSoFar = g.op1("CumSum", [g.op1("Cast", [pads], { to: 1 }), g.scalarI("axis", 1)]);
  const tokenAfterPad = g.op1("And", [
    g.op1("Not", [pads]),
    g.op1("Greater", [padsSoFar, g.constF("zero_f", [], Float32Array.of(0))]),
  ]);
  const anyUnaligned = g.op1("ReduceMax", [g.op1("Cast", [tokenAfterPad], { to: 1 })], { keepdims: 0 }); // scalar
  const aligned = g.op1("Equal", [anyUnaligned, g.constF("zero_f", [], Float32Array.of(0))]);
  const zero = g.op1("Unsqueeze", [g.op1("And", [pads, aligned]), g.constI("axes", [2])]); // (B, T, 1)
  return g.op1("Where", [zero, g.constF("zero_f", [], Float32Array.of(0)), h]);
}

/** TextEncoder.run: token + position embeddings, transformer, LayerNorm and projection of the last real token. */
function textEncoder(g: Graph, m: TextEncoder, ids: string, mask: string | null, maskSample: Tensor | null): string {
  const x = g.op1("Gather", [g.param("token_embed", m.token_embed.weight), ids], { axis: 0 }); // (B, T, E)
  const T = g.op1("Slice", [g.op1("Shape", [ids]), g.constI("start", [1]), g.constI("end", [2])]); // [T] int64
  // (1, T, E)
  const pos = g.op1("Slice", [g.param("pos_embed", m.pos_embed), g.constI("start", [0]), T, g.constI("axes", [1])]);
  let h = emit(g, m.transformer, g.op1("Add", [x, pos]), "transformer", mask ? keyMask(g, mask, maskSample!) : null);
  if (mask && m.transformer.nestedTensorLayers()) h = zeroPadding(g, h, mask, maskSample!);
  // EOS pooling: position (number of tokens - 1), or the last position when there is no mask or no token
  const last = g.op1("Sub", [T, g.constI("one", [1])]); // [T - 1]
  let idx: string;
  if (mask) {
    const tokens = g.op1("Cast", [g.op1("Not", [g.op1("Equal", [mask, g.constLike("zero", maskSample!, [], [0])])])], {
      to: 7,
    });
    const n1 = g.op1("Sub", [
      g.op1("ReduceSum", [tokens, g.constI("axes", [1])], { keepdims: 1 }),
      g.constI("one", [1]),
    ]); // (B, 1)
    idx = g.op1("Where", [g.op1("Less", [n1, g.constI("zero", [0])]), last, n1]);
  } else {
    const b = g.op1("Slice", [g.op1("Shape", [ids]), g.constI("start", [0]), g.constI("end", [1])]);
    idx = g.op1("Expand", [
      g.op1("Unsqueeze", [last, g.constI("axes", [0])]),
      g.op1("Concat", [b, g.constI("one", [1])], { axis: 0 }),
    ]); // (B, 1)
  }
  const pooled = g.op1("GatherND", [h, idx], { batch_dims: 1 }); // (B, E)
  return emit(g, m.projection, emit(g, m.ln, pooled, "ln"), "projection");
}

/**
 * AudioFeatureExtractor.forward: torchaudio's MelSpectrogram (reflect-padded centre frames, periodic Hann, power 2,
 * HTK mel banks) as ONNX Pad + STFT + MatMul, log(x + 1e-6), then conv layers, transformer, mean and projection.
 */
function audioFeatures(g: Graph, m: AudioFeatureExtractor, wave: string): string {
  const c = m.config,
    half = Math.floor(c.nFft / 2),
    bins = half + 1;
  const padded = g.op1("Pad", [wave, g.constI("pads", [0, half, 0, half])], { mode: "reflect" }); // (B, L + nFft)
  const spec = g.op1(
    "STFT",
    [
      g.op1("Unsqueeze", [padded, g.constI("axes", [2])]),
      g.scalarI("hop", c.hopLength),
      g.constF("window", [c.nFft], hannWindow(c.nFft).data as Float32Array),
      g.scalarI("n_fft", c.nFft),
    ],
    { onesided: 1 },
  ); // (B, T, bins, 2)
  // (B, T, bins)
  const power = g.op1("ReduceSum", [g.op1("Mul", [spec, spec]), g.constI("axes", [-1])], { keepdims: 0 });
  const fb = melscaleFbanks(bins, 0, c.sampleRate / 2, c.nMels, c.sampleRate).data as Float32Array; // (bins, nMels)
  const mel = g.op1("Log", [
    g.op1("Add", [
      g.op1("MatMul", [power, g.constF("mel_fb", [bins, c.nMels], fb)]),
      g.constF("eps", [], Float32Array.of(1e-6)),
    ]),
  ]);
  const f = emit(g, m.conv_layers, g.op1("Transpose", [mel], { perm: [0, 2, 1] }), "conv_layers"); // (B, d, T)
  const h = emit(g, m.transformer, g.op1("Transpose", [f], { perm: [0, 2, 1] }), "transformer"); // (B, T, d)
  return emit(g, m.projection, g.op1("ReduceMean", [h], { axes: [1], keepdims: 0 }), "projection");
}

/**
 * VideoEncoder.run: frames through the frame encoder, projection + positions, [cls; frames] through the
 * transformer.
 */
function videoEncoder(g: Graph, m: VideoEncoder, video: string, sample: Tensor): { video: string; frames: string } {
  const [, , C, H, W] = sample.shape,
    D = m.config.temporalDim;
  const frames = g.op1("Reshape", [video, g.constI("shape", [-1, C, H, W])]); // (B*T, C, H, W)
  const f = emit(g, m.frame_encoder as unknown as Module, frames, "frame_encoder"); // (B*T, frameDim)
  const p = g.op1("Reshape", [
    emit(g, m.frame_proj, f, "frame_proj"),
    g.op1("Concat", [dimsOf(g, video, 0, 2), g.constI("d", [D])], { axis: 0 }),
  ]); // (B, T, D)
  const pos = g.op1("Slice", [
    g.param("temporal_pos_embed", m.temporal_pos_embed),
    g.constI("start", [0]),
    dimsOf(g, video, 1, 2),
    g.constI("axes", [1]),
  ]);
  // (B, T + 1, D)
  const seq = g.op1("Concat", [batchToken(g, m.cls_token, video), g.op1("Add", [p, pos])], { axis: 1 });
  const h = emit(g, m.temporal_transformer, seq, "temporal_transformer");
  const cls = g.op1("Reshape", [g.op1("Gather", [h, g.constI("zero", [0])], { axis: 1 }), g.constI("shape", [0, D])]);
  const rest = g.op1("Slice", [h, g.constI("start", [1]), g.constI("end", [2 ** 31 - 1]), g.constI("axes", [1])]);
  return { video: emit(g, m.output_proj, cls, "output_proj"), frames: rest };
}

/** ModalityFusion.run over the modalities present (graph inputs), in the module's modality order. */
function fusion(g: Graph, m: ModalityFusion, inputs: Record<string, string>): string {
  const present = m.modalities.filter((k) => inputs[k] !== undefined);
  const proj: Record<string, string> = {};
  for (const k of present) proj[k] = emit(g, m.projections.get(k), inputs[k], `projections.${k}`);
  const fd = m.fusionDim,
    any = proj[present[0]];
  if (m.fusionType === "concat") {
    const zeros = (): string =>
      g.op1("Expand", [
        g.constF("zeros", [1, fd], new Float32Array(fd)),
        g.op1("Concat", [dimsOf(g, any, 0, 1), g.constI("fd", [fd])], { axis: 0 }),
      ]);
    return emit(
      g,
      m.fusion_layer,
      g.op1(
        "Concat",
        m.modalities.map((k) => proj[k] ?? zeros()),
        { axis: 1 },
      ),
      "fusion_layer",
    );
  }
  if (m.fusionType === "attention") {
    const stacked = g.op1(
      "Concat",
      present.map((k) => g.op1("Unsqueeze", [proj[k], g.constI("axes", [1])])),
      { axis: 1 },
    ); // (B, n, fd)
    const att = selfAttention(g, m.cross_attention!, stacked, null);
    return emit(g, m.fusion_layer, g.op1("ReduceMean", [att], { axes: [1], keepdims: 0 }), "fusion_layer");
  }
  let acc: string | null = null;
  for (const k of present) {
    const term = g.op1("Mul", [emit(g, m.gates!.get(k), proj[k], `gates.${k}`), proj[k]]);
    acc = acc ? g.op1("Add", [acc, term]) : term; // Python's sum() starts from 0, and 0 + x is x
  }
  return emit(g, m.fusion_layer, acc!, "fusion_layer");
}

const batched = (t: Tensor, extra: Record<number, string> = {}): Dims =>
  t.shape.map((d, i) => (i === 0 ? "batch" : (extra[i] ?? d)));

/** Sample input names and tensors, checked against how many the model's forward takes. */
function samples(
  model: Module,
  sample: Record<string, Tensor>,
  who: string,
  counts: number[],
  what: string,
): { names: string[]; t: Tensor[] } {
  const names = Object.keys(sample);
  if (!counts.includes(names.length))
    throw new Error(
      `${who}: ${model.constructor.name} takes ${what}, got ${names.length} sample input(s) (${names.join(", ")})`,
    );
  return { names, t: names.map((n) => sample[n]) };
}

registerModel(SpeechRecognitionModel, (g, model, sample, who) => {
  const {
    names,
    t: [a],
  } = samples(model, sample, who, [1], "one input (melSpec)");
  const ref = model.forward(a);
  const f = g.op1("Transpose", [emit(g, model.encoder, names[0], "encoder")], { perm: [0, 2, 1] }); // (B, T, hidden)
  const out = g.op1("LogSoftmax", [emit(g, model.output, emit(g, model.lstm, f, "lstm"), "output")], { axis: -1 });
  return {
    inputs: [[names[0], a, batched(a, { 2: "frames" })]],
    outputs: [["log_probs", out, batched(ref, { 1: "frames" })]],
  };
});
registerModel(VisionEncoder, (g, model, sample, who) => {
  const {
    names,
    t: [a],
  } = samples(model, sample, who, [1], "one input (images)");
  const ref = model.forward(a);
  return {
    inputs: [[names[0], a, batched(a)]],
    outputs: [["embeddings", visionEncoder(g, model, names[0]), batched(ref)]],
  };
});
registerModel(TextEncoder, (g, model, sample, who) => {
  const {
    names,
    t: [a, b],
  } = samples(model, sample, who, [1, 2], "inputIds and optionally attentionMask");
  const ref = model.forward(a, b ?? null);
  const out = textEncoder(g, model, names[0], b ? names[1] : null, b ?? null);
  return {
    inputs: names.map((n) => [n, sample[n], batched(sample[n], { 1: "tokens" })] as [string, Tensor, Dims]),
    outputs: [["embeddings", out, batched(ref)]],
  };
});
registerModel(CLIPModel, (g, model, sample, who) => {
  const {
    names,
    t: [a, b, c],
  } = samples(model, sample, who, [2, 3], "images, inputIds and optionally attentionMask");
  const ref = model.forward(a, b, c ?? null);
  const img = l2normalize(g, visionEncoder(g, model.vision_encoder, names[0]));
  const txt = l2normalize(g, textEncoder(g, model.text_encoder, names[1], c ? names[2] : null, c ?? null));
  const scale = g.op1("Exp", [g.param("logit_scale", model.logit_scale)]);
  const lpi = g.op1("MatMul", [g.op1("Mul", [img, scale]), g.op1("Transpose", [txt], { perm: [1, 0] })]);
  return {
    inputs: [
      [names[0], a, batched(a)],
      ...names.slice(1).map((n) => [n, sample[n], batched(sample[n], { 1: "tokens" })] as [string, Tensor, Dims]),
    ],
    outputs: [
      ["image_embeds", img, batched(ref.imageEmbeds)],
      ["text_embeds", txt, batched(ref.textEmbeds)],
      ["logits_per_image", lpi, ["batch", "text_batch"]],
      ["logits_per_text", g.op1("Transpose", [lpi], { perm: [1, 0] }), ["text_batch", "batch"]],
      ["logit_scale", scale, []],
    ],
  };
});
registerModel(AudioFeatureExtractor, (g, model, sample, who) => {
  const {
    names,
    t: [a],
  } = samples(model, sample, who, [1], "one input (waveform)");
  if (a.ndim !== 2) throw new Error(`${who}: the waveform sample must be (batch, samples), got ${fmtShape(a.shape)}`);
  const ref = model.forward(a);
  return {
    inputs: [[names[0], a, batched(a, { 1: "samples" })]],
    outputs: [["embeddings", audioFeatures(g, model, names[0]), batched(ref)]],
  };
});
registerModel(VideoEncoder, (g, model, sample, who) => {
  const {
    names,
    t: [a],
  } = samples(model, sample, who, [1], "one input (video)");
  const ref = model.forward(a);
  const o = videoEncoder(g, model, names[0], a);
  return {
    inputs: [[names[0], a, batched(a, { 1: "frames" })]],
    outputs: [
      ["video_embedding", o.video, batched(ref.videoEmbedding)],
      ["frame_embeddings", o.frames, batched(ref.frameEmbeddings, { 1: "frames" })],
    ],
  };
});
registerModel(VideoTextModel, (g, model, sample, who) => {
  const {
    names,
    t: [a, b],
  } = samples(model, sample, who, [1, 2], "video and optionally inputIds");
  const ref = model.forward(a, b ?? null);
  const v = l2normalize(
    g,
    emit(g, model.video_proj, videoEncoder(g, model.video_encoder, names[0], a).video, "video_proj"),
  );
  const spec: Spec = {
    inputs: [[names[0], a, batched(a, { 1: "frames" })]],
    outputs: [["video_embedding", v, batched(ref.videoEmbedding)]],
  };
  if (b) {
    const seqOut = emit(g, model.text_encoder, names[1], "text_encoder"); // (B, T, textDim)
    const lastTok = lastStep(g, seqOut);
    const t = l2normalize(g, emit(g, model.text_proj, lastTok, "text_proj"));
    const logits = g.op1("MatMul", [
      g.op1("Mul", [v, g.op1("Exp", [g.param("logit_scale", model.logit_scale)])]),
      g.op1("Transpose", [t], { perm: [1, 0] }),
    ]);
    spec.inputs.push([names[1], b, batched(b, { 1: "tokens" })]);
    spec.outputs.push(["text_embedding", t, batched(ref.textEmbedding!)], ["logits", logits, ["batch", "text_batch"]]);
  }
  if (model.classifier)
    spec.outputs.push(["class_logits", emit(g, model.classifier, v, "classifier"), batched(ref.classLogits!)]);
  return spec;
});
registerModel(ModalityFusion, (g, model, sample, who) => {
  const names = Object.keys(sample);
  const unknown = names.filter((n) => !model.modalities.includes(n));
  if (unknown.length || names.length === 0)
    throw new Error(
      `${who}: ModalityFusion takes inputs named by its modalities (${model.modalities.join(", ")}), ` +
        `got ${names.join(", ") || "none"}`,
    );
  const ref = model.forward(sample);
  return {
    inputs: names.map((n) => [n, sample[n], batched(sample[n])] as [string, Tensor, Dims]),
    outputs: [["fused", fusion(g, model, Object.fromEntries(names.map((n) => [n, n]))), batched(ref)]],
  };
});
registerModel(MultimodalEmbeddingModel, (g, model, sample, who) => {
  const names = Object.keys(sample);
  const unknown = names.filter((n) => !["image", "text", "audio"].includes(n));
  if (unknown.length || names.length === 0)
    throw new Error(
      `${who}: MultimodalEmbeddingModel takes inputs named image, text and/or audio, got ${names.join(", ") || "none"}`,
    );
  const ref = model.forward(sample);
  const embeds: Record<string, string> = {};
  if (sample.image) embeds.image = emit(g, model.image_encoder, "image", "image_encoder");
  if (sample.text)
    embeds.text = emit(
      g,
      model.text_proj,
      lastStep(g, emit(g, model.text_encoder, "text", "text_encoder")),
      "text_proj",
    );
  if (sample.audio) embeds.audio = emit(g, model.audio_encoder, "audio", "audio_encoder");
  const extra: Record<string, Record<number, string>> = { text: { 1: "tokens" }, audio: { 2: "samples" } };
  return {
    inputs: names.map((n) => [n, sample[n], batched(sample[n], extra[n])] as [string, Tensor, Dims]),
    outputs: [["embedding", fusion(g, model.fusion, embeds), batched(ref)]],
  };
});

/** Runs the model on the sample (which checks it as the model would) and writes its graph; returns the I/O spec. */
export function buildModel(g: Graph, model: Module, sample: Record<string, Tensor>, who: string): Spec {
  const writer = modelWriter(model);
  if (writer) return writer.write(g, model, sample, who);
  if (!isStack(model)) throw new Error(`${who}: cannot export ${model.constructor.name}; supported: ${supported()}`);
  const {
    names,
    t: [a],
  } = samples(model, sample, who, [1], "one input");
  const ref = (model as unknown as { forward(x: Tensor): Tensor }).forward(a);
  return {
    inputs: [[names[0], a, batched(a)]],
    outputs: [[names[0] === "output" ? "y" : "output", emit(g, model, names[0], model.constructor.name), batched(ref)]],
  };
}
