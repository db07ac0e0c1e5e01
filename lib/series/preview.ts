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

/** Buckets per preview: each keeps up to 2 points. */
export const PREVIEW_BUCKETS = 32;

const HEADER = 2; // base step, bucket width
const SLOT = 4; // min step, min value, max step, max value

/**
 * An incrementally built min/max preview.
 *
 * @example A spike survives in 1 KiB
 * ```ts
 * import { Preview } from "./preview.ts";
 *
 * const preview = new Preview();
 * for (let step = 0; step < 100_000; step++) {
 *   preview.add(step, step === 54_321 ? 100 : Math.sin(step / 1000));
 * }
 * const { steps, values } = preview.points();
 * console.log(steps.length <= 64, Math.max(...values)); // true 100
 * console.log(steps[values.indexOf(100)]); // 54321
 *
 * const stored = preview.bytes(); // what the index keeps
 * console.log(stored.byteLength, new Preview(stored).points().steps.length === steps.length); // 1040 true
 * ```
 */
export class Preview {
  #state: Float64Array;

  /** A new empty preview, or one restored from {@linkcode Preview.bytes}. */
  constructor(bytes?: Uint8Array | null) {
    const size = HEADER + PREVIEW_BUCKETS * SLOT;
    if (bytes && bytes.byteLength === size * 8) {
      this.#state = new Float64Array(
        bytes.buffer.slice(
          bytes.byteOffset,
          bytes.byteOffset + bytes.byteLength,
        ),
      );
    } else {
      this.#state = new Float64Array(size).fill(NaN);
      this.#state[1] = 1;
    }
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
  }

  /** The preview's points in step order: at most 2 per bucket. */
  points(): { steps: number[]; values: number[] } {
    const s = this.#state;
    const steps: number[] = [];
    const values: number[] = [];
    for (let b = 0; b < PREVIEW_BUCKETS; b++) {
      const at = HEADER + b * SLOT;
      if (s[at] !== s[at]) continue;
      const [lowStep, low, highStep, high] = [
        s[at]!,
        s[at + 1]!,
        s[at + 2]!,
        s[at + 3]!,
      ];
      if (lowStep === highStep && low === high) {
        steps.push(lowStep);
        values.push(low);
      } else if (lowStep <= highStep) {
        steps.push(lowStep, highStep);
        values.push(low, high);
      } else {
        steps.push(highStep, lowStep);
        values.push(high, low);
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
      const [aMinS, aMin, aMaxS, aMax] = [
        s[a]!,
        s[a + 1]!,
        s[a + 2]!,
        s[a + 3]!,
      ];
      const [cMinS, cMin, cMaxS, cMax] = [
        s[c]!,
        s[c + 1]!,
        s[c + 2]!,
        s[c + 3]!,
      ];
      const takeA = aMinS === aMinS && !(cMin < aMin);
      s[to] = takeA ? aMinS : cMinS;
      s[to + 1] = takeA ? aMin : cMin;
      const takeAMax = aMaxS === aMaxS && !(cMax > aMax);
      s[to + 2] = takeAMax ? aMaxS : cMaxS;
      s[to + 3] = takeAMax ? aMax : cMax;
    }
  }
}
