// Audio front end: torchaudio transforms, WAV I/O, resampling, streaming features and CTC decoding.
export { Spectrogram, MelSpectrogram, AmplitudeToDB, MFCC } from "./transforms.js";
export type { SpectrogramOptions, MelSpectrogramOptions, MFCCOptions } from "./transforms.js";
export { decodeWav, encodeWav, downmix } from "./wav.js";
export type { DecodedAudio, EncodeWavOptions, AudioLimits } from "./wav.js";
export { resample } from "./resample.js";
export type { Wav2Vec2FeatureExtractor, Wav2Vec2FeatureExtractorConfig, AudioBatch } from "./wav2vec2-features.js";
export type { WhisperFeatureExtractor, WhisperFeatureConfig } from "./whisper-features.js";
export type { ResampleOptions } from "./resample.js";
export { StreamingMelSpectrogram } from "./streaming.js";
export type { StreamingMelOptions } from "./streaming.js";
export { ctcGreedyDecode, ctcBeamSearch, ctcLoss, CTCVocabulary, MAX_BEAM } from "./ctc.js";
export type { BeamHypothesis, CTCLossOptions } from "./ctc.js";
export { melscaleFbanks } from "../ops/audio.js";
export { readAudioFile, FFMPEG_AUDIO } from "./file.js";
export type { ReadAudioOptions } from "./file.js";
