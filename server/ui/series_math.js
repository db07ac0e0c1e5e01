// @ts-check
// Arithmetic on series points: smoothing, interpolation, the mean and band
// of several lines, and the nearest point to an x. Points are parallel
// arrays of x (sorted ascending) and y (null for a gap).
// Pure: no DOM, so `deno test` imports it.

/** Points of the common grid that {@link aggregate} averages on. */
export const GRID = 200;

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
 * @typedef {object} Aggregate  A mean line and its band, on a common grid.
 * @property {number[]} xs
 * @property {number[]} mean
 * @property {number[]} lo  Band bottom: the minimum, or mean - std.
 * @property {number[]} hi  Band top: the maximum, or mean + std.
 */

/**
 * The mean of several lines and a band around it, on a grid of
 * {@link GRID} x values spanning every line (one point when they all sit
 * at one x). Each line is interpolated inside its own x range only, so runs
 * of different lengths count only where they have data; grid points no
 * line covers are left out. Null when no line has a point.
 * @param {readonly { xs: readonly number[], ys: readonly (number | null)[] }[]} lines
 * @param {string} kind  "std": mean ± standard deviation; otherwise min to max.
 * @returns {Aggregate | null}
 */
export function aggregate(lines, kind) {
  let min = Infinity, max = -Infinity;
  for (const { xs } of lines) {
    const first = xs[0], last = xs[xs.length - 1];
    if (first === undefined || last === undefined) continue;
    min = Math.min(min, first);
    max = Math.max(max, last);
  }
  if (min === Infinity) return null;
  const n = min === max ? 1 : GRID;
  const cells = Array.from({ length: n }, (_, i) => ({
    x: n === 1 ? min : min + (max - min) * i / (n - 1),
    sum: 0,
    squares: 0,
    count: 0,
    lo: Infinity,
    hi: -Infinity,
  }));
  for (const { xs, ys } of lines) {
    const first = xs[0], last = xs[xs.length - 1];
    if (first === undefined || last === undefined) continue;
    let j = 0;
    for (const cell of cells) {
      const x = cell.x;
      if (x < first || x > last) continue;
      while (j < xs.length - 2 && /** @type {number} */ (xs[j + 1]) < x) j++;
      const v = interpolate(xs, ys, j, x);
      if (v === null) continue;
      cell.sum += v;
      cell.squares += v * v;
      cell.count++;
      if (v < cell.lo) cell.lo = v;
      if (v > cell.hi) cell.hi = v;
    }
  }
  /** @type {Aggregate} */
  const out = { xs: [], mean: [], lo: [], hi: [] };
  for (const cell of cells) {
    if (cell.count === 0) continue;
    const m = cell.sum / cell.count;
    out.xs.push(cell.x);
    out.mean.push(m);
    if (kind === "std") {
      const sd = Math.sqrt(Math.max(0, cell.squares / cell.count - m * m));
      out.lo.push(m - sd);
      out.hi.push(m + sd);
    } else {
      out.lo.push(cell.lo);
      out.hi.push(cell.hi);
    }
  }
  return out;
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
