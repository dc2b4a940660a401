// Layout constants read from the kernel module itself (assembly/index.ts exports them), so TypeScript never
// restates a panel width: packing, unpacking and thread splits all ask here.
import { kernels } from "./runtime.js";

const read = (g: WebAssembly.Global): number => g.value as number;

/** Columns per packed f32 GEMM panel (B is stored as (N / cols) panels of (K, cols)). */
export const panelCols = (): number => read(kernels().SGEMM_PANEL_COLS);
/** Rows per f32 GEMM register tile: A is packed in whole blocks of this many rows. */
export const tileRows = (): number => read(kernels().SGEMM_TILE_ROWS);
/** Rows per int8 scan tile: a thread's share of a tiled int8 store is whole tiles. */
export const i8TileRows = (): number => read(kernels().I8_TILE_ROWS);
/** Bytes of each row per int8 tile chunk: int8 rows are zero-padded to a multiple of this. */
export const i8TileBytes = (): number => read(kernels().I8_TILE_BYTES);
/** Output columns per quantised-GEMM tile: a thread's share is whole tiles. */
export const qgemmTileCols = (): number => read(kernels().QGEMM_TILE_COLS);
