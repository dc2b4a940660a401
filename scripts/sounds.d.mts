export const SOUND_RATE: number;
export const SOUND_KINDS: string[];
export function sinCycles(t: number): number;
export function makeSound(seed: number): { samples: Float32Array; sampleRate: number; label: string };
