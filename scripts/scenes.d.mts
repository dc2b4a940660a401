export const SIZE: number;
export const COUNTS: string[];
export const SIZES: string[];
export const COLORS: Record<string, [number, number, number]>;
export const SHAPES: string[];
export const POSITIONS: string[];
export interface SceneAttributes { count: number; size: string; color: string; shape: string; position: string }
export function captionOf(a: SceneAttributes): string;
export function makeScene(seed: number): { pixels: Uint8Array; caption: string; attributes: SceneAttributes };
export function rng(seed: number, mul?: number, add?: number): () => number;
export function inside(shape: string, dx: number, dy: number, r: number): boolean;
