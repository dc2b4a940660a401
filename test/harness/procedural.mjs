// Procedural weights, bit-identical to scripts/fixtures/procedural.py: value i of key K is a 32-bit hash of
// (FNV-1a(K), i) mapped to [-1, 1) and scaled by a rule on the key and shape.  Shared by the model tests and
// the model benchmarks (plain ESM so Node runs it without a build; it imports nothing from the library).
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** n hash values in [-1, 1) (multiples of 2^-23) for a key's FNV-1a seed. */
export function proceduralUnit(key, n) {
  return unit(fnv1a(key), n);
}

function unit(seed, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let h = (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = (h >>> 8) / 8388608 - 1;
  }
  return out;
}

function scale(key, shape) {
  if (key.endsWith("cls_token") || key.endsWith("pos_embed")) return 0.5;
  if (shape.length >= 2) return Math.fround(1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)));
  return 0.5;
}

/** Row-major values of `key` with `shape`. */
export function proceduralValues(key, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = unit(fnv1a(key), n);
  const s = scale(key, shape);
  for (let i = 0; i < n; i++) u[i] = Math.fround(u[i] * s);
  return u;
}

/** A state dict for [key, shape] pairs; TensorClass is the caller's Tensor (src/ in tests, dist/ in benches). */
export function proceduralStateDict(keys, TensorClass) {
  return Object.fromEntries(keys.map(([k, s]) => [k, new TensorClass(proceduralValues(k, s), s)]));
}

/** Fills a polymodal module's parameters in place, one at a time (no second full copy on the JS heap). */
export function fillProcedural(module) {
  for (const [k, p] of module.namedParameters()) p.set(proceduralValues(k, [...p.shape]));
}
