/**
 * A small, always-current preview of a series, kept by its writer: the step
 * axis is cut into {@linkcode PREVIEW_BUCKETS} buckets whose width doubles
 * whenever the steps outgrow them, and each bucket keeps its lowest and its
 * highest point. O(1) per point, a fixed 1 KiB per series, and no spike is
 * ever lost. The index stores it, so a chart across thousands of runs opens
 * no run file.
 *
 * @module
 */

/** Buckets per preview: each keeps up to 3 points. */
export const PREVIEW_BUCKETS = 32;

const HEADER = 2; // base step, bucket width
const SLOT = 6; // min step, min value, max step, max value, last step, last value
/** The slot of previews written before buckets kept their last point. */
const OLD_SLOT = 4;

/**
 * An incrementally built preview of a series.
 *
 * @example A spike survives in 1.5 KiB
 * ```ts
 * import { Preview } from "./preview.ts";
 *
 * const preview = new Preview();
 * for (let step = 0; step < 100_000; step++) {
 *   preview.add(step, step === 54_321 ? 100 : Math.sin(step / 1000));
 * }
 * const { steps, values } = preview.points();
 * console.log(steps.length <= 96, Math.max(...values)); // true 100
 * console.log(steps[values.indexOf(100)]); // 54321
 *
 * const stored = preview.bytes(); // what the index keeps
 * console.log(stored.byteLength, new Preview(stored).points().steps.length === steps.length); // 1552 true
 * ```
 */
export class Preview {
  #state: Float64Array;

  /**
   * A new empty preview, or one restored from {@linkcode Preview.bytes}
   * (also from the smaller form written before buckets kept their last
   * point: the later of a bucket's lowest and highest stands for it).
   */
  constructor(bytes?: Uint8Array | null) {
    const size = HEADER + PREVIEW_BUCKETS * SLOT;
    this.#state = new Float64Array(size).fill(NaN);
    this.#state[1] = 1;
    if (!bytes) return;
    const floats = new Float64Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    if (floats.length === size) this.#state = floats;
    else if (floats.length === HEADER + PREVIEW_BUCKETS * OLD_SLOT) {
      this.#state[0] = floats[0]!;
      this.#state[1] = floats[1]!;
      for (let b = 0; b < PREVIEW_BUCKETS; b++) {
        const from = HEADER + b * OLD_SLOT, to = HEADER + b * SLOT;
        this.#state.set(floats.subarray(from, from + OLD_SLOT), to);
        const later = floats[from + 2]! >= floats[from]! ? from + 2 : from;
        this.#state[to + 4] = floats[later]!;
        this.#state[to + 5] = floats[later + 1]!;
      }
    }
  }

  /** The step where bucket 0 starts (NaN while empty). */
  get origin(): number {
    return this.#state[0]!;
  }

  /** The width of a bucket, in steps. */
  get width(): number {
    return this.#state[1]!;
  }

  /** Adds one point; NaN values are left out (the series summary still counts them). */
  add(step: number, value: number): void {
    if (value !== value) return;
    const s = this.#state;
    if (s[0] !== s[0]) s[0] = step;
    const base = s[0]!;
    let bucket = step <= base ? 0 : Math.floor((step - base) / s[1]!);
    while (bucket >= PREVIEW_BUCKETS) {
      this.#widen();
      bucket = Math.floor((step - base) / s[1]!);
    }
    const at = HEADER + bucket * SLOT;
    if (!(value >= s[at + 1]!)) {
      s[at] = step;
      s[at + 1] = value;
    }
    if (!(value <= s[at + 3]!)) {
      s[at + 2] = step;
      s[at + 3] = value;
    }
    if (!(step < s[at + 4]!)) {
      s[at + 4] = step;
      s[at + 5] = value;
    }
  }

  /**
   * The preview's points in step order: each bucket's lowest, highest and
   * last point, each once (at most 3 per bucket).
   */
  points(): { steps: number[]; values: number[] } {
    const s = this.#state;
    const steps: number[] = [];
    const values: number[] = [];
    for (let b = 0; b < PREVIEW_BUCKETS; b++) {
      const at = HEADER + b * SLOT;
      if (s[at] !== s[at]) continue;
      const kept: [number, number][] = [];
      for (const i of [0, 2, 4]) {
        const step = s[at + i]!, value = s[at + i + 1]!;
        if (!kept.some(([st, v]) => st === step && v === value)) {
          kept.push([step, value]);
        }
      }
      kept.sort((x, y) => x[0] - y[0]);
      for (const [step, value] of kept) {
        steps.push(step);
        values.push(value);
      }
    }
    return { steps, values };
  }

  /** The state, to store and to restore with `new Preview(bytes)`. */
  bytes(): Uint8Array {
    return new Uint8Array(this.#state.buffer.slice(0));
  }

  /** Doubles the bucket width, folding each pair of buckets into one. */
  #widen(): void {
    const s = this.#state;
    s[1] = s[1]! * 2;
    for (let b = 0; b < PREVIEW_BUCKETS; b++) {
      const to = HEADER + b * SLOT;
      if (b >= PREVIEW_BUCKETS / 2) {
        s.fill(NaN, to, to + SLOT);
        continue;
      }
      const a = HEADER + 2 * b * SLOT;
      const c = a + SLOT;
      const [aMinS, aMin, aMaxS, aMax, aLastS, aLast] = s.slice(a, a + SLOT);
      const [cMinS, cMin, cMaxS, cMax, cLastS, cLast] = s.slice(c, c + SLOT);
      const takeA = aMinS === aMinS && !(cMin! < aMin!);
      s[to] = takeA ? aMinS! : cMinS!;
      s[to + 1] = takeA ? aMin! : cMin!;
      const takeAMax = aMaxS === aMaxS && !(cMax! > aMax!);
      s[to + 2] = takeAMax ? aMaxS! : cMaxS!;
      s[to + 3] = takeAMax ? aMax! : cMax!;
      const takeCLast = cLastS === cLastS;
      s[to + 4] = takeCLast ? cLastS! : aLastS!;
      s[to + 5] = takeCLast ? cLast! : aLast!;
    }
  }
}
