import { type Embedder, type NamedForward, type Modality, type ModalityEncoder, asOutputs } from "../nn/embedder.js";
import * as core from "../core/index.js";
import { type Buf, toTensor } from "../core/index.js";
import { Tensor, fmtShape, type DType } from "../tensor.js";
import { Module, scoped } from "../nn/module.js";
import { Parameter, uniformInit, nextSeed } from "../nn/parameter.js";
import { Conv1d } from "../nn/conv.js";
import { Linear } from "../nn/linear.js";
import { ReLU } from "../nn/basic.js";
import { Sequential } from "../nn/containers.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../nn/transformer.js";
import { applyLogMelPlan, logMelPlan, type LogMelPlan } from "../ops/audio.js";
import { fromTensor } from "./common.js";

export interface AudioFeatureExtractorConfig {
  sampleRate?: number;
  nMels?: number;
  nFft?: number;
  hopLength?: number;
  embedDim?: number;
  /** Channels of the three conv layers; the last is the transformer's width (seed: [128, 256, 512]). */
  convChannels?: [number, number, number];
  /** Transformer layers (seed: 4), heads (seed: 8) and feed-forward width (torch default 2048). */
  numLayers?: number;
  nhead?: number;
  dimFeedforward?: number;
}

/**
 * The reference design's AudioFeatureExtractor with its spectrogram made real: torchaudio's MelSpectrogram (the
 * module's
 * sample rate, n_fft, hop, n_mels; centre reflect padding, periodic Hann, power 2, HTK, no norm) and
 * log(x + 1e-6), then three conv1d+ReLU, a 4-layer transformer, mean pooling and a projection.
 * mel_filters is kept (the reference design's state_dict has it) but, as in the reference design's reference, not used.
 * waveform (B, samples) -> (B, embedDim).
 */
export class AudioFeatureExtractor extends Module implements Embedder, NamedForward {
  mel_filters: Parameter;
  conv_layers: Sequential;
  transformer: TransformerEncoder;
  projection: Linear;
  readonly config: Required<AudioFeatureExtractorConfig>;

  constructor(config: AudioFeatureExtractorConfig = {}) {
    super();
    const c: Required<AudioFeatureExtractorConfig> = {
      sampleRate: 16000,
      nMels: 80,
      nFft: 400,
      hopLength: 160,
      embedDim: 512,
      convChannels: [128, 256, 512],
      numLayers: 4,
      nhead: 8,
      dimFeedforward: 2048,
      ...config,
    };
    const [c1, c2, d] = c.convChannels;
    if (!Array.isArray(c.convChannels) || c.convChannels.length !== 3)
      throw new Error(
        `AudioFeatureExtractor: convChannels must be three numbers, got ${JSON.stringify(c.convChannels)}`,
      );
    if (d % c.nhead)
      throw new Error(
        `AudioFeatureExtractor: the transformer width ${d} (convChannels[2]) must be divisible by nhead ${c.nhead}`,
      );
    this.config = c;
    this.mel_filters = new Parameter([c.nMels, Math.floor(c.nFft / 2) + 1], "raw", uniformInit(0.1, nextSeed()));
    this.conv_layers = new Sequential(
      new Conv1d(c.nMels, c1, 3, { padding: 1 }),
      new ReLU(),
      new Conv1d(c1, c2, 3, { padding: 1 }),
      new ReLU(),
      new Conv1d(c2, d, 3, { padding: 1 }),
      new ReLU(),
    );
    this.transformer = new TransformerEncoder(
      () => new TransformerEncoderLayer(d, c.nhead, { batchFirst: true, dimFeedforward: c.dimFeedforward }),
      c.numLayers,
    );
    this.projection = new Linear(d, c.embedDim);
  }

  /** waveform (B, samples) or (samples) -> log-mel (B, nMels, frames) = log(MelSpectrogram(x) + 1e-6). */
  computeSpectrogram(waveform: Tensor): Tensor {
    const who = "AudioFeatureExtractor.computeSpectrogram";
    if (!(waveform instanceof Tensor) || (waveform.ndim !== 1 && waveform.ndim !== 2)) {
      throw new Error(
        `${who}: waveform must be (batch, samples) or (samples), ` +
          `got ${waveform instanceof Tensor ? fmtShape(waveform.shape) : typeof waveform}`,
      );
    }
    // the window and the filter bank are built once per model (the config is fixed), then one call per waveform
    const c = this.config;
    this.frontEnd ??= logMelPlan("F.melSpectrogram", {
      sampleRate: c.sampleRate,
      nFft: c.nFft,
      hopLength: c.hopLength,
      nMels: c.nMels,
      eps: 1e-6,
    });
    return applyLogMelPlan("F.melSpectrogram", waveform, this.frontEnd).features;
  }
  private frontEnd: LogMelPlan | null = null;

  /** log-mel (B, nMels, T) in scratch -> (B, embedDim). */
  runMel(mel: Buf): Buf {
    const f = this.conv_layers.run(mel); // (B, 512, T)
    const h = this.transformer.run(core.transpose12(f)); // (B, T, 512)
    return this.projection.run(core.meanAxis1(h));
  }

  /** forward() minus the spectrogram: log-mel (B, nMels, T) -> (B, embedDim). */
  encodeMel(melSpec: Tensor): Tensor {
    const who = "AudioFeatureExtractor.encodeMel";
    if (!(melSpec instanceof Tensor) || melSpec.ndim !== 3 || melSpec.shape[1] !== this.config.nMels) {
      throw new Error(
        `${who}: melSpec must be (batch, ${this.config.nMels}, frames), ` +
          `got ${melSpec instanceof Tensor ? fmtShape(melSpec.shape) : typeof melSpec}`,
      );
    }
    return scoped(() => toTensor(this.runMel(fromTensor(who, "melSpec", melSpec))));
  }

  /** Embedder: waveforms (B, samples) float32 through forward(). */
  encoders(): Partial<Record<Modality, ModalityEncoder>> {
    return { audio: { dtype: "float32", takesMask: false, encode: (x) => this.forward(x) } };
  }

  get namedInputs(): Record<string, DType> {
    return { audio: "float32" };
  }
  forwardNamed(inputs: Record<string, Tensor>): Record<string, Tensor | number> {
    return asOutputs(this.forward(inputs.audio));
  }

  forward(waveform: Tensor): Tensor {
    const mel = this.computeSpectrogram(waveform);
    return this.encodeMel(mel.ndim === 2 ? mel.reshape([1, ...mel.shape]) : mel);
  }
}
