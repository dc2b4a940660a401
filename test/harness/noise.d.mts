export function lcg(seed: number): () => number;
export function white(n: number, rnd: () => number, amp?: number): Float32Array;
export function pink(n: number, rnd: () => number, amp?: number): Float32Array;
export function atSnr(w: Float32Array, noise: Float32Array, snr: number): Float32Array;
