// Video: Y4M decoding/encoding in plain JS, frame sampling and preprocessing, files through ffmpeg in Node.
export { decodeY4M, encodeY4M } from "./y4m.js";
export type { Y4MVideo } from "./y4m.js";
export { VideoProcessor, sampleFrameIndices } from "./processor.js";
export type { VideoProcessorOptions } from "./processor.js";
export { readVideoFile } from "./file.js";
export type { ReadVideoOptions, VideoFrames, VideoLimits } from "./file.js";
