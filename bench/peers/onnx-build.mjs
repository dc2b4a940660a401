// The benchmark graphs' ONNX, written with the library's own ModelProto writer (src/onnx/proto.ts), so the
// onnxruntime-web peer runs without torch or a model download.
import { nodeProto, tensorProto, valueInfo, modelProto } from "../../dist/onnx/proto.js";

let counter = 0;
export function node(op, inputs, outputs, attrs = {}) {
  return nodeProto(op, inputs, outputs, attrs, `n${counter++}`);
}

/** A constant tensor: Float32Array -> FLOAT, BigInt64Array -> INT64. */
export function initializer(name, dims, data) {
  return tensorProto(name, dims, data);
}

/** graph: { nodes, initializers, inputs: [[name, dims]], outputs: [[name, dims]] } -> ModelProto bytes (opset 17). */
export function model({ nodes, initializers = [], inputs, outputs }) {
  return modelProto({
    nodes,
    initializers,
    name: "g",
    inputs: inputs.map(([n, d]) => valueInfo(n, d)),
    outputs: outputs.map(([n, d]) => valueInfo(n, d)),
  });
}
