// ONNX export (opset 17) of polymodal modules from their weights: each supported layer writes its ONNX nodes
// (layers.ts), each reference-design model its forward's glue (models.ts), weights become initializers; the tests
// run the
// graphs in onnxruntime-web against the modules on the same inputs.  Supported: every model of the reference design
// (forward), and any stack of the nn layers SUPPORTED lists (a Sequential or a single layer).
import { Tensor } from "../tensor.js";
import { Module } from "../nn/module.js";
import { nodeProto, valueInfo, modelProto, elemType } from "./proto.js";
import { Graph } from "./graph.js";
import { buildModel } from "./models.js";
import { HF_CLIP_WRITERS } from "./hf-clip.js";

void HF_CLIP_WRITERS; // (the package is sideEffects: false: a bare import could be dropped by a bundler)

/**
 * The ONNX bytes of model's forward on inputs shaped like sampleInputs (names kept, in order); dimension 0 is
 * dynamic ("batch"), as the reference design's dynamic_axes ask, and so is SpeechRecognitionModel's frame axis.
 * The sample
 * is run through the model first, so a wrong sample fails here, naming what the model expects.
 */
export function exportOnnxBytes(model: Module, sampleInputs: Record<string, Tensor>): Uint8Array {
  const who = "MultimodalModelOptimizer.exportOnnx";
  if (!(model instanceof Module))
    throw new Error(`${who}: expected a Module, got ${model === null ? "null" : typeof model}`);
  if (!sampleInputs || typeof sampleInputs !== "object")
    throw new Error(`${who}: sampleInputs must be an object of name -> Tensor`);
  for (const n of Object.keys(sampleInputs))
    if (!(sampleInputs[n] instanceof Tensor)) throw new Error(`${who}: sample input "${n}" must be a Tensor`);
  const g = new Graph();
  const spec = buildModel(g, model, sampleInputs, who);
  // graph outputs are produced by Identity nodes, so they carry their public names
  for (const [name, node] of spec.outputs) g.nodes.push(nodeProto("Identity", [node], [name], {}, `output_${name}`));
  return modelProto({
    nodes: g.nodes,
    initializers: g.initializers,
    name: model.constructor.name,
    inputs: spec.inputs.map(([n, t, d]) => valueInfo(n, d, elemType(t.data as Float32Array | Int32Array))),
    outputs: spec.outputs.map(([n, , d]) => valueInfo(n, d)),
  });
}
