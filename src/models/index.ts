// The reference design's model classes (docs/design.md: "Multimodal Production Systems", whose PyTorch classes are in
// reference/seed_models.py), with PyTorch's state_dict keys.  Comments in src/ call it "the reference design".
export { VisionEncoder } from "./vision.js";
export type { VisionEncoderConfig } from "./vision.js";
export { TextEncoder } from "./text.js";
export type { TextEncoderConfig } from "./text.js";
export { CLIPModel } from "./clip.js";
export type { CLIPConfig, CLIPOutput } from "./clip.js";
export { ModalityFusion } from "./fusion.js";
export type { ModalityFusionConfig, FusionType } from "./fusion.js";
export { MultimodalEmbeddingModel } from "./multimodal.js";
export type { MultimodalInputs } from "./multimodal.js";
export { AudioFeatureExtractor } from "./audio.js";
export type { AudioFeatureExtractorConfig } from "./audio.js";
export { SpeechRecognitionModel } from "./speech.js";
export type { SpeechRecognitionConfig } from "./speech.js";
export { VideoEncoder, VideoTextModel } from "./video.js";
export type { VideoEncoderConfig, VideoTextConfig, VideoTextOutput } from "./video.js";
// Hugging Face's CLIP, by its own config.json and key names (loadPretrained(dir) builds it from a model folder).
export { HFCLIPModel, CLIPTextTransformer, CLIPVisionTransformer, clipConfigFromJSON } from "./hf-clip.js";
export type { HFCLIPConfig, CLIPTextConfigHF, CLIPVisionConfigHF } from "./hf-clip.js";
export { CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder } from "./hf-clip-encoder.js";
export type { CLIPEncoderConfig, HiddenAct } from "./hf-clip-encoder.js";
// (Wav2Vec2ForCTC / HubertForCTC load through loadPretrained(folder), their code fetched with the first: types only)
export type { Wav2Vec2ForCTC, Wav2Vec2Config, Wav2Vec2States } from "./hf-wav2vec2.js";
export type { WhisperForConditionalGeneration, WhisperConfig, WhisperKVCache } from "./hf-whisper.js";
