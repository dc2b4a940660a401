// Typed view of the kernel module's exports (assembly/index.ts), derived from the kernel table (kernels.ts).
// Pointers are byte offsets into the module's memory; every function is pure over that memory.
export type { KernelExports, KernelName } from "./kernels.js";

/** Op codes shared with assembly/elementwise.ts. */
export const UnaryOp = { relu: 0, gelu: 1, sigmoid: 2, tanh: 3, exp: 4, log: 5 } as const;
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3 } as const;
