export function craftPng(w: number, h: number, colorType: number, depth: number, idat: Uint8Array): Uint8Array;
export function resealPng(b: Uint8Array): void;
