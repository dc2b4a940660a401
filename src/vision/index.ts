// Images: PNG/JPEG decoding in pure JS and torchvision-style preprocessing.
export { decodeImage, fromImageData, jpegSize, jpegOrientation, applyOrientation } from "./image.js";
export { readImageFile, FFMPEG_IMAGE, REFUSED_IMAGE } from "./file.js";
export type { ReadImageOptions } from "./file.js";
export type { ImageLimits } from "./image.js";
export type { DecodedImage, ImageDataLike } from "./image.js";
export { decodePng, encodePng } from "./png.js";
export { ImageProcessor } from "./processor.js";
export type { ImageProcessorOptions, ImageInput } from "./processor.js";
export { resizePlanar } from "./resize.js";
export type { Interpolation } from "./resize.js";
export { resizePIL, PIL_FILTERS } from "./pil-resize.js";
export { CLIPImageProcessor, clipImageProcessorConfig } from "./clip-image-processor.js";
export type { CLIPImageProcessorConfig } from "./clip-image-processor.js";
