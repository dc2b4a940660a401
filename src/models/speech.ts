import type { NamedForward } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { toTensor } from "../core/index.js";
import { Tensor, fmtShape, type DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Conv1d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { ReLU } from "../nn/basic.js";
import { Sequential } from "../nn/containers.js";
import { LSTM } from "../nn/lstm.js";
import { fromTensor } from "./common.js";
import { ctcGreedyDecode } from "../audio/ctc.js";

export interface SpeechRecognitionConfig {
  vocabSize?: number;
  nMels?: number;
  hiddenDim?: number;
}

/**
 * The reference design's CTC speech recogniser: two conv1d+ReLU, a 4-layer bidirectional LSTM and a projection to
 * log-probabilities.  melSpec (B, nMels, T) -> logProbs (B, T, vocabSize).
 */
export class SpeechRecognitionModel extends Module implements NamedForward {
  encoder: Sequential;
  lstm: LSTM;
  output: Linear;
  readonly config: Required<SpeechRecognitionConfig>;

  constructor(config: SpeechRecognitionConfig = {}) {
    super();
    const c = { vocabSize: 1000, nMels: 80, hiddenDim: 512, ...config };
    if (c.hiddenDim % 2)
      throw new Error(`SpeechRecognitionModel: hiddenDim must be even (two LSTM directions), got ${c.hiddenDim}`);
    this.config = c;
    this.encoder = new Sequential(
      new Conv1d(c.nMels, 256, 3, { padding: 1 }),
      new ReLU(),
      new Conv1d(256, c.hiddenDim, 3, { padding: 1 }),
      new ReLU(),
    );
    this.lstm = new LSTM(c.hiddenDim, c.hiddenDim / 2, { numLayers: 4, batchFirst: true, bidirectional: true });
    this.output = new Linear(c.hiddenDim, c.vocabSize);
  }

  /**
   * inputLengths (B) is accepted and checked (1 <= length <= T) but, as in the reference design, every frame is
   * processed: the BiLSTM's backward direction sees the padded frames too.
   */
  /** NamedForward: { mel_spec, input_lengths? } -> { log_probs } (the ONNX export's names). */
  get namedInputs(): Record<string, DType> {
    return { mel_spec: "float32", input_lengths: "int32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return { log_probs: this.forward(inputs.mel_spec, inputs.input_lengths ?? null) };
  }

  forward(melSpec: Tensor, inputLengths?: Tensor | null): Tensor {
    const who = "SpeechRecognitionModel.forward";
    const c = this.config;
    if (!(melSpec instanceof Tensor) || melSpec.ndim !== 3 || melSpec.shape[1] !== c.nMels) {
      throw new Error(
        `${who}: melSpec must be (batch, ${c.nMels}, frames), ` +
          `got ${melSpec instanceof Tensor ? fmtShape(melSpec.shape) : typeof melSpec}`,
      );
    }
    const [B, , T] = melSpec.shape;
    if (T < 1) throw new Error(`${who}: melSpec needs at least one frame`);
    if (inputLengths) {
      if (inputLengths.ndim !== 1 || inputLengths.size !== B)
        throw new Error(`${who}: inputLengths must have shape [${B}], got ${fmtShape(inputLengths.shape)}`);
      for (const v of inputLengths.data)
        if (!(v >= 1 && v <= T) || !Number.isInteger(v))
          throw new Error(`${who}: inputLengths must be integers in [1, ${T}], got ${v}`);
    }
    return scoped(() => {
      const f = core.transpose12(this.encoder.run(fromTensor(who, "melSpec", melSpec))); // (B, T, hidden)
      const logits = this.output.run(this.lstm.run(f));
      core.softmaxRows(logits.ptr, logits.ptr, B * T, c.vocabSize, 0, 1, true);
      return toTensor(logits);
    });
  }

  /** Greedy CTC decoding (blank 0): argmax per frame, collapse repeats, drop blanks. */
  decodeGreedy(logProbs: Tensor): number[][] {
    if (!(logProbs instanceof Tensor) || logProbs.ndim !== 3)
      throw new Error(
        `SpeechRecognitionModel.decodeGreedy: logProbs must be (batch, time, vocab), ` +
          `got ${logProbs instanceof Tensor ? fmtShape(logProbs.shape) : typeof logProbs}`,
      );
    return ctcGreedyDecode(logProbs, { blank: 0 });
  }
}
