/**
 * Distributions tracked in a run: histograms (bin counts over a range cut
 * in equal bins, or over explicit edges), given or built from raw samples
 * (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import { badRequest } from "../errors.ts";

/** Bins of a histogram built from samples, unless told otherwise. */
export const DEFAULT_BINS = 64;
/** Most bins a histogram may have. */
export const MAX_BINS = 4096;

/**
 * A histogram to track with `run.track(distribution, { name, step })`:
 * `counts[i]` samples fell in bin i, which spans `edges[i]` to
 * `edges[i + 1]` (the last bin includes its upper edge). Counts are finite
 * and non-negative (not necessarily integers: weights are allowed); edges
 * are finite and strictly increasing.
 *
 * @example Weights of a layer over training
 * ```ts
 * import { Distribution } from "./distribution.ts";
 *
 * const weights = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
 * const histogram = Distribution.fromSamples(weights, 10);
 * console.log(histogram.bins, histogram.low.toFixed(3), histogram.total); // 10 -1.000 1000
 * const given = new Distribution([1, 4, 2], { range: [0, 3] });
 * console.log([...given.edges]); // [0, 1, 2, 3]
 * ```
 */
export class Distribution {
  /** Samples per bin. */
  readonly counts: Float64Array;
  /** `bins + 1` increasing edges. */
  readonly edges: Float64Array;
  /** Whether the bins are equal (made from a range): only the range is stored. */
  readonly uniform: boolean;

  /**
   * A histogram of `counts` over `{ range: [low, high] }` cut in equal
   * bins, or over `{ edges }` (one more than the counts). Throws `AimError`
   * `bad_request` naming the bad count or edge.
   */
  constructor(
    counts: ArrayLike<number>,
    bins: { range: readonly [number, number] } | { edges: ArrayLike<number> },
  ) {
    if (
      counts === null || typeof counts !== "object" || !("length" in counts)
    ) {
      throw new TypeError("Distribution() needs a list of counts");
    }
    const n = counts.length;
    if (n < 1 || n > MAX_BINS) {
      throw badRequest(
        `a histogram needs 1 to ${MAX_BINS} bins, got ${n}`,
      );
    }
    this.counts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const count = counts[i];
      if (typeof count !== "number" || !Number.isFinite(count) || count < 0) {
        throw badRequest(
          `count ${i} of the histogram is ${
            JSON.stringify(count) ?? String(count)
          }: counts must be finite numbers of at least 0`,
        );
      }
      this.counts[i] = count;
    }
    if ("range" in bins) {
      const [low, high] = bins.range ?? [];
      if (
        typeof low !== "number" || typeof high !== "number" ||
        !Number.isFinite(low) || !Number.isFinite(high) || !(low < high)
      ) {
        throw badRequest(
          `the histogram's range must be two finite numbers, low < high, got ${
            JSON.stringify(bins.range)
          }`,
        );
      }
      this.edges = uniformEdges(low, high, n);
      this.uniform = true;
    } else {
      const edges = bins.edges;
      if (
        edges === null || typeof edges !== "object" || edges.length !== n + 1
      ) {
        throw badRequest(
          `a histogram of ${n} bins needs ${n + 1} edges, got ${
            edges?.length ?? "none"
          }`,
        );
      }
      this.edges = new Float64Array(n + 1);
      for (let i = 0; i <= n; i++) {
        const edge = edges[i];
        if (typeof edge !== "number" || !Number.isFinite(edge)) {
          throw badRequest(
            `edge ${i} of the histogram is ${
              JSON.stringify(edge) ?? String(edge)
            }: edges must be finite numbers`,
          );
        }
        if (i > 0 && !(edge > this.edges[i - 1]!)) {
          throw badRequest(
            `edge ${i} of the histogram (${edge}) is not above edge ${i - 1} (${
              this.edges[i - 1]
            }): edges must increase`,
          );
        }
        this.edges[i] = edge;
      }
      this.uniform = false;
    }
  }

  /**
   * The histogram of `samples` in `bins` equal bins from their lowest to
   * their highest value (NaN and ±Infinity are left out; all samples equal
   * to v give the range v − 0.5 to v + 0.5; none give 0 to 1).
   */
  static fromSamples(
    samples: ArrayLike<number>,
    bins: number = DEFAULT_BINS,
  ): Distribution {
    if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) {
      throw new RangeError(
        `Distribution.fromSamples() needs 1 to ${MAX_BINS} bins, got ${bins}`,
      );
    }
    let low = Infinity, high = -Infinity;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < low) low = v;
      if (v > high) high = v;
    }
    if (low === Infinity) [low, high] = [0, 1];
    else if (low === high) [low, high] = [low - 0.5, high + 0.5];
    const counts = new Float64Array(bins);
    // Halved, so that a range wider than the largest double does not overflow.
    const width = (high / 2 - low / 2) / bins;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i]!;
      if (!Number.isFinite(v)) continue;
      counts[Math.min(bins - 1, Math.floor((v / 2 - low / 2) / width))]!++;
    }
    return new Distribution(counts, { range: [low, high] });
  }

  /** Number of bins. */
  get bins(): number {
    return this.counts.length;
  }

  /** The lowest edge. */
  get low(): number {
    return this.edges[0]!;
  }

  /** The highest edge. */
  get high(): number {
    return this.edges[this.edges.length - 1]!;
  }

  /** The sum of the counts. */
  get total(): number {
    let total = 0;
    for (const count of this.counts) total += count;
    return total;
  }
}

/** `n + 1` equal steps from `low` to `high`, the ends exact. */
export function uniformEdges(
  low: number,
  high: number,
  n: number,
): Float64Array {
  const edges = new Float64Array(n + 1);
  // A weighted mean, which never overflows whatever the range.
  for (let i = 0; i <= n; i++) edges[i] = low * ((n - i) / n) + high * (i / n);
  edges[n] = high;
  return edges;
}

/**
 * A distribution's payload as stored: its counts as float64, then its
 * edges when they are not uniform.
 */
export function encodeDistribution(distribution: Distribution): Uint8Array {
  const n = distribution.bins;
  const out = new Float64Array(distribution.uniform ? n : 2 * n + 1);
  out.set(distribution.counts, 0);
  if (!distribution.uniform) out.set(distribution.edges, n);
  return new Uint8Array(out.buffer);
}

/**
 * The counts and edges of a stored distribution, from its payload and its
 * row's `bins`, `low`, `high`; null when the payload's size does not fit.
 */
export function decodeDistribution(
  payload: Uint8Array,
  bins: number,
  low: number,
  high: number,
): { counts: Float64Array; edges: Float64Array } | null {
  const floats = payload.byteLength / 8;
  if (floats !== bins && floats !== 2 * bins + 1) return null;
  const copy = new Float64Array(floats);
  new Uint8Array(copy.buffer).set(payload);
  const counts = copy.subarray(0, bins);
  const edges = floats === bins
    ? uniformEdges(low, high, bins)
    : copy.subarray(bins);
  return { counts, edges };
}
