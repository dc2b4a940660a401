export const HF_CLIP_FIXTURES: string;
export const HF_CLIP_CONFIGS: Record<string, { config: Record<string, any>; preprocessor: Record<string, any> }>;
export function photo(key: string, w: number, h: number, c: number): { width: number; height: number; channels: 3 | 4; data: Uint8Array };
export const PHOTOS: Array<[string, number, number, number]>;
export function hfClipKeys(config: Record<string, any>): Array<[string, number[]]>;
export function f16Bits(x: number): number;
export function writeHFClipFolder(dir: string, name: string, options?: { dtype?: "F32" | "F16"; shards?: number; positionIds?: boolean }): string;
export function writeSafetensors(path: string, entries: Array<[string, number[], "F32" | "F16" | "I64", string?]>): void;
