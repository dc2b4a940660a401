// Pipelines: raw inputs (WAV, image bytes, strings, video frames) -> transcripts and embeddings, configured by
// model cards.
export { SpeechRecognizer, wordErrors, audioAt } from "./speech.js";
export type { CTCRecognizer } from "./ctc-recognizer.js";
export type { WhisperRecognizer, WhisperTranscribeOptions } from "./whisper-recognizer.js";
export type { WhisperGeneration, WhisperSegment } from "./whisper-generate.js";
export type { SentenceEmbedder, SentenceEncodeOptions, SentenceSettings } from "./sentence-embedder.js";
export type { SpeechCard, Transcript, AudioInput } from "./speech.js";
export { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "./embedders.js";
export type { ImageBatcher, TextBatcher } from "./embedders.js";
export {
  loadHuggingFaceFolder,
  localFolder,
  remoteFolder,
  readWeights,
  HF_ARCHITECTURES,
  ARCHITECTURES,
} from "./hf-folder.js";
export type { Architecture } from "./hf-folder.js";
export { SPACES, UnsupportedTaskError, embedsKind, allValues } from "./pipeline.js";
export { mediaInput, sniffMedia } from "./media-input.js";
export type { MediaKind, MediaInputOptions } from "./media-input.js";
export type { Pipeline, Tasks, InputKind, Inputs, Space, Outcome, VideoInput, TranscribeOptions } from "./pipeline.js";
export { ModelSet, resolveModel, loadModel, shippedRef } from "./registry.js";
export type { ModelRef } from "./registry.js";
export type { FolderReader } from "./hf-folder.js";
export { loadPretrained, PRETRAINED, modelsUrl } from "./pretrained.js";
export type { PretrainedName, LoadOptions } from "./pretrained.js";
export { env } from "./env.js";
export type { PolymodalEnv } from "./env.js";
export { fetchModelFile, modelCache } from "./model-files.js";
export type { LoadProgress, FetchOptions, ModelCache } from "./model-files.js";
export { camelConfig, modelFromCard } from "./card.js";
export type { WeightsInput } from "./card.js";
