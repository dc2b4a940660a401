import type { Tensor } from "../../src/index.js";
export function proceduralValues(key: string, shape: number[]): Float32Array;
export function proceduralStateDict(keys: Array<[string, number[]]>, TensorClass: typeof Tensor): Record<string, Tensor>;
export function fillProcedural(module: { namedParameters(): Array<[string, { shape: readonly number[]; set(v: Float32Array): void }]> }): void;
export function proceduralUnit(key: string, n: number): Float32Array;
