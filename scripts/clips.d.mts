export const CLIP_SIZE: number;
export const CLIP_FRAMES: number;
export const ACTIONS: string[];
export function clipCaption(a: { color: string; shape: string; action: string }): string;
export function makeClip(seed: number): { frames: Uint8Array[]; caption: string; attributes: { color: string; shape: string; action: string } };
