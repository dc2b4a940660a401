// Pipelines: raw inputs (WAV, image bytes, strings, video frames) -> transcripts and embeddings, configured by model cards.
export { SpeechRecognizer, wordErrors, audioAt } from "./speech.js";
export type { SpeechCard, Transcript, AudioInput } from "./speech.js";
export { ImageTextEmbedder, AudioEmbedder, VideoTextEmbedder } from "./embedders.js";
export { loadPretrained, PRETRAINED, modelsUrl } from "./pretrained.js";
export type { PretrainedName, LoadOptions } from "./pretrained.js";
export { env } from "./env.js";
export type { PolymodalEnv } from "./env.js";
export { fetchModelFile, modelCache } from "./model-files.js";
export type { LoadProgress, FetchOptions, ModelCache } from "./model-files.js";
export { camelConfig, modelFromCard } from "./card.js";
export type { WeightsInput } from "./card.js";
