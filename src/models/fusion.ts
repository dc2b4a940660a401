import { type NamedForward, asOutputs } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, empty, zeros, toTensor } from "../core/index.js";
import { Tensor, fmtShape, type DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Linear } from "../nn/linear.js";
import { Sigmoid } from "../nn/basic.js";
import { Sequential, ModuleDict } from "../nn/containers.js";
import { MultiheadAttention } from "../nn/attention.js";
import { fromTensor } from "./common.js";

export type FusionType = "concat" | "attention" | "gated";

export interface ModalityFusionConfig {
  embedDims: Record<string, number>;
  fusionDim?: number;
  fusionType?: FusionType;
}

/**
 * The reference design's ModalityFusion: per-modality projections to fusionDim, then concat, attention across
 * modalities
 * (8 heads), or sigmoid-gated sum.  Missing modalities degrade gracefully (the reference design raises KeyError):
 * concat puts zeros where a modality's projection would be; attention attends over the present modalities
 * only; gated sums the present ones.  At least one modality is required.
 * @example
 * const fusion = new ModalityFusion({ embedDims: { image: 512, text: 256, audio: 128 }, fusionType: "attention" });
 * const fused = fusion.forward({ image: img, text: txt }); // audio missing
 */
export class ModalityFusion extends Module implements NamedForward {
  projections: ModuleDict<Linear>;
  cross_attention: MultiheadAttention | null = null;
  gates: ModuleDict<Sequential> | null = null;
  fusion_layer: Linear;
  readonly fusionType: FusionType;
  readonly fusionDim: number;
  readonly modalities: string[];

  constructor(config: ModalityFusionConfig) {
    super();
    const { embedDims } = config;
    if (!embedDims || typeof embedDims !== "object" || Object.keys(embedDims).length === 0)
      throw new Error("ModalityFusion: embedDims must name at least one modality");
    const fd = config.fusionDim ?? 512;
    const type = config.fusionType ?? "concat";
    if (!["concat", "attention", "gated"].includes(type))
      throw new Error(`ModalityFusion: unknown fusion type ${JSON.stringify(type)} (concat, attention or gated)`);
    this.fusionType = type;
    this.fusionDim = fd;
    this.modalities = Object.keys(embedDims);
    this.projections = new ModuleDict(
      Object.fromEntries(this.modalities.map((m) => [m, new Linear(embedDims[m], fd)])),
    );
    if (type === "concat") {
      this.fusion_layer = new Linear(fd * this.modalities.length, fd);
    } else if (type === "attention") {
      this.cross_attention = new MultiheadAttention(fd, 8, { batchFirst: true });
      this.fusion_layer = new Linear(fd, fd);
    } else {
      this.gates = new ModuleDict(
        Object.fromEntries(this.modalities.map((m) => [m, new Sequential(new Linear(fd, fd), new Sigmoid())])),
      );
      this.fusion_layer = new Linear(fd, fd);
    }
  }

  /** inputs: modality -> (B, dim) activations in scratch. */
  run(inputs: Record<string, Buf>): Buf {
    const present = this.modalities.filter((m) => inputs[m] !== undefined);
    const unknown = Object.keys(inputs).filter((m) => !this.modalities.includes(m));
    if (unknown.length)
      throw new Error(
        `ModalityFusion: unknown modality ${unknown.map((u) => JSON.stringify(u)).join(", ")} ` +
          `(expected ${this.modalities.join(", ")})`,
      );
    if (present.length === 0)
      throw new Error(`ModalityFusion: at least one modality must be provided (${this.modalities.join(", ")})`);
    const B = inputs[present[0]].shape[0];
    const projected: Record<string, Buf> = {};
    for (const m of present) {
      const x = inputs[m];
      const lin = this.projections.get(m);
      if (x.shape.length !== 2 || x.shape[0] !== B || x.shape[1] !== lin.inFeatures) {
        throw new Error(
          `ModalityFusion: ${m} embedding must have shape [${B}, ${lin.inFeatures}], got ${fmtShape(x.shape)}`,
        );
      }
      projected[m] = lin.run(x);
    }
    const fd = this.fusionDim;
    const heap = core.heap();
    if (this.fusionType === "concat") {
      const n = this.modalities.length;
      const cat = zeros([B, fd * n]);
      this.modalities.forEach((m, j) => {
        const p = projected[m];
        if (!p) return;
        for (let b = 0; b < B; b++)
          heap.f32(cat.ptr + (b * fd * n + j * fd) * 4, fd).set(heap.f32(p.ptr + b * fd * 4, fd));
      });
      return this.fusion_layer.run(cat);
    }
    if (this.fusionType === "attention") {
      const n = present.length;
      const stacked = empty([B, n, fd]);
      present.forEach((m, j) => {
        for (let b = 0; b < B; b++)
          heap.f32(stacked.ptr + (b * n + j) * fd * 4, fd).set(heap.f32(projected[m].ptr + b * fd * 4, fd));
      });
      const att = this.cross_attention!.run(stacked, stacked, stacked, 0);
      return this.fusion_layer.run(core.meanAxis1(att));
    }
    // gated: sum over modalities (in the reference design's order) of gate(p) * p; Python's sum() starts from 0.
    const acc = zeros([B, fd]);
    for (const m of present) {
      const g = this.gates!.get(m).run(projected[m]); // Linear writes a new buffer; Sigmoid then works in place
      core.binary("mul", g.ptr, projected[m].ptr, g.ptr, B, fd, B);
      core.addInPlace(acc, g);
    }
    return this.fusion_layer.run(acc);
  }

  /** modality name -> (B, dim) tensor; missing modalities are fused as documented above. */
  /** NamedForward: one (B, dim) float32 embedding per modality it fuses. */
  get namedInputs(): Record<string, DType> {
    return Object.fromEntries(this.modalities.map((m) => [m, "float32" as DType]));
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return asOutputs(this.forward(inputs));
  }

  forward(modalityEmbeds: Record<string, Tensor | undefined | null>): Tensor {
    const who = "ModalityFusion.forward";
    if (!modalityEmbeds || typeof modalityEmbeds !== "object")
      throw new Error(`${who}: expected an object of modality -> Tensor`);
    return scoped(() => {
      const bufs: Record<string, Buf> = {};
      for (const [m, t] of Object.entries(modalityEmbeds)) {
        if (t === undefined || t === null) continue;
        if (!(t instanceof Tensor) || t.dtype !== "float32") throw new Error(`${who}: ${m} must be a float32 Tensor`);
        bufs[m] = fromTensor(who, m, t);
      }
      return toTensor(this.run(bufs));
    });
  }
}
