// @ts-check
// Arithmetic on series points: smoothing, interpolation, and the nearest
// point to an x. Points are parallel arrays of x (sorted ascending) and y
// (null for a gap).
// Pure: no DOM, so `deno test` imports it.

/**
 * Exponential moving average with bias correction, as TensorBoard smooths:
 * the first points are not pulled towards 0. Gaps (null) stay gaps and do
 * not move the average. `weight` 0 returns the values unchanged; close to 1
 * smooths hardest.
 * @param {readonly (number | null)[]} ys
 * @param {number} weight  From 0 to below 1.
 * @returns {(number | null)[]}
 */
export function ema(ys, weight) {
  /** @type {(number | null)[]} */
  const out = new Array(ys.length);
  let last = 0, debias = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === null || v === undefined) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    out[i] = last / debias;
  }
  return out;
}

/**
 * The y of a line at `x`, between its points `j` and `j + 1` (linear). At or
 * before point `j`, or for a single point, its y; next to a gap, the y of
 * the other point.
 * @param {readonly number[]} xs
 * @param {readonly (number | null)[]} ys
 * @param {number} j  An index of `xs`.
 * @param {number} x
 * @returns {number | null}
 */
export function interpolate(xs, ys, j, x) {
  const x0 = /** @type {number} */ (xs[j]), y0 = ys[j] ?? null;
  if (xs.length === 1 || x <= x0) return y0;
  const x1 = /** @type {number} */ (xs[j + 1]), y1 = ys[j + 1] ?? null;
  if (y0 === null || y1 === null) return y0 ?? y1;
  if (x1 === x0) return y1;
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

/**
 * The index of the x nearest to `x` in the ascending `xs` (the first of a
 * tie), or -1 when `xs` is empty.
 * @param {readonly number[]} xs
 * @param {number} x
 * @returns {number}
 */
export function nearestIndex(xs, x) {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (/** @type {number} */ (xs[mid]) < x) lo = mid;
    else hi = mid;
  }
  const a = /** @type {number} */ (xs[lo]), b = /** @type {number} */ (xs[hi]);
  return Math.abs(a - x) <= Math.abs(b - x) ? lo : hi;
}
