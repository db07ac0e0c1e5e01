// @ts-check
// Line colours: a categorical palette and translucent fills.
// Pure: no DOM, so `deno test` imports it.

/** A categorical palette with enough contrast on white (Tableau 20, reordered). */
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#ad494a",
  "#637939",
  "#8ca252",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#e6550d",
  "#31a354",
  "#756bb1",
];

/**
 * The colour of the `i`-th line or group; the palette repeats after 20.
 * @param {number} i  A non-negative integer.
 * @returns {string}
 */
export function paletteColor(i) {
  return /** @type {string} */ (PALETTE[i % PALETTE.length]);
}

/**
 * `#rrggbb` with an alpha from 0 to 1, as `rgba()`.
 * @param {string} hex
 * @param {number} a
 * @returns {string}
 */
export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16 & 255}, ${n >> 8 & 255}, ${n & 255}, ${a})`;
}
