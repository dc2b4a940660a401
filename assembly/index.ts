// The kernel module's exports.  Every export takes pointers into the imported memory plus sizes, allocates
// nothing and keeps no state: TypeScript (src/bindings) owns all memory and checks shapes first.
export { sgemm_packed_size, sgemm_pack_b, sgemm_packed_a_size, sgemm_pack_a, sgemm_packed, sgemv_packed } from "./gemm";
export { im2col_pack } from "./conv";
export { unary_f32, binary_f32, affine_f32, log_eps_f32, count_nonfinite_f32 } from "./elementwise";
export { softmax_f32, layernorm_f32, mean_mid_f32, adaptive_avg_pool2d_f32, l2_normalize_f32 } from "./rows";
export { lstm_cell_f32, lstm_steps_f32 } from "./lstm";
export {
  rfft_plan_size, rfft_work_size, rfft_plan_init, stft_complex_f32, spectrogram_f32, mel_spectrogram_f32,
  pad_reflect_f32, hann_window_f32
} from "./stft";
export { melscale_fbanks_f32 } from "./mel";
export { i8_dequant_f32, quantize_rows_i8 } from "./int8";
export { quantize_dynamic_u8, quantize_weight_i8, dq_linear_epilogue, qgemm_nt_i32, qgemm_nt_u7_i32 } from "./qdynamic";
export { scan_f32, scan_i8, topk_f32, scan_f32_ids, normalize_seed_f32, widen_i8_i16, scan_i8t_scaled, pack_i8_tiles,
    unpack_i8_tiles } from "./scan";

/** First byte the host may use: everything below is the module's static data. */
export const HEAP_BASE: usize = __heap_base;
export { sinc_resample_taps, resample_poly_f32 } from "./resample";
export { amplitude_to_db_f32, clamp_min_f32, pow_f32, create_dct_f32 } from "./spectral";

// Layout geometry the host must agree with (read by src/core, never restated there): the f32 GEMM's packed
// panel width and register-tile height, the int8 scan's tile (rows x bytes per chunk), and the column tile the
// quantised GEMM hands to a thread.
export { NR as SGEMM_PANEL_COLS, MR as SGEMM_TILE_ROWS } from "./gemm";
export const I8_TILE_ROWS: i32 = 4;
export const I8_TILE_BYTES: i32 = 16;
export const QGEMM_TILE_COLS: i32 = 2;
