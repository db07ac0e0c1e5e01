/**
 * Extreme-preserving downsampling on buckets aligned to powers of two, and
 * the multi-resolution summary ("pyramid") that answers it without reading
 * every point (docs/ARCHITECTURE.md, "Series reads").
 *
 * A read of the steps `lo..hi` at `n` buckets uses buckets of `width`
 * steps, the smallest power of two for which the range spans at most `n`
 * of them, aligned on multiples of `width` (bucket k holds the steps
 * `k·width … (k+1)·width − 1`). From each bucket it keeps its first, last,
 * lowest and highest point and its first NaN, each once, in order: the
 * order of (step, seq), seq being the point's position in the series as it
 * was tracked. A single spike is therefore never lost, and every output
 * bucket is about one pixel column when `n` is the chart's width.
 *
 * Because buckets are aligned, each is exactly one block of the pyramid's
 * level log2(width): the series' writer keeps, for the levels
 * {@linkcode LEVELS} (blocks of 128, 512, 2,048 … steps), each block's
 * count and its first, last, lowest, highest and first NaN point,
 * incrementally as points arrive. A read at a level that is not stored
 * merges the blocks of the stored level below; only the two buckets cut by
 * the ends of the range are made from raw points.
 *
 * @module
 */

/** A point with where it stands in its series. */
export interface Point {
  /** Its step (an integer). */
  step: number;
  /** Its value; may be NaN or ±Infinity. */
  value: number;
  /** Seconds since the epoch. */
  time: number;
  /** NaN when the point has none. */
  epoch: number;
  /** Its position in the series, from 0, in the order it was tracked. */
  seq: number;
}

/** Levels of the pyramid that are stored: blocks of 2^level steps. */
export const LEVELS: readonly number[] = [7, 9, 11, 13, 15, 17, 19, 21, 23];

/** The finest stored level: narrower buckets are made from raw points. */
export const BASE_LEVEL = LEVELS[0]!;

const BASE_WIDTH = 2 ** BASE_LEVEL;

/** Whether `a` comes before `b` in a series' order: by step, then by seq. */
function _before(a: Point, b: Point): boolean {
  return a.step < b.step || (a.step === b.step && a.seq < b.seq);
}

/**
 * The summary of the points of one bucket: their count and their first,
 * last, lowest, highest and first NaN point. Points may be added in any
 * order, and summaries merged in any order, with the same result.
 */
export class Block {
  /** Points summarized. */
  count = 0;
  /** The first point in (step, seq) order; null while empty. */
  first: Point | null = null;
  /** The last point in (step, seq) order. */
  last: Point | null = null;
  /** The lowest value's earliest point; null when every value is NaN. */
  min: Point | null = null;
  /** The highest value's earliest point; null when every value is NaN. */
  max: Point | null = null;
  /** The earliest NaN point, or null. */
  nan: Point | null = null;

  /** Adds one point. */
  add(p: Point): void {
    this.count++;
    this.#take(p, p, p, p, p.value === p.value ? null : p);
  }

  /** Adds every point another block summarizes. */
  merge(other: Block): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.#take(other.first!, other.last!, other.min, other.max, other.nan);
  }

  #take(
    first: Point,
    last: Point,
    min: Point | null,
    max: Point | null,
    nan: Point | null,
  ): void {
    if (this.first === null || _before(first, this.first)) this.first = first;
    if (this.last === null || _before(this.last, last)) this.last = last;
    // NaN is no extreme; ties keep the earlier point.
    if (
      min !== null && min.value === min.value &&
      (this.min === null || min.value < this.min.value ||
        (min.value === this.min.value && _before(min, this.min)))
    ) this.min = min;
    if (
      max !== null && max.value === max.value &&
      (this.max === null || max.value > this.max.value ||
        (max.value === this.max.value && _before(max, this.max)))
    ) this.max = max;
    if (nan !== null && (this.nan === null || _before(nan, this.nan))) {
      this.nan = nan;
    }
  }

  /** The points the bucket keeps: each distinct one once, in order. */
  kept(): Point[] {
    const out: Point[] = [];
    for (const p of [this.first, this.min, this.max, this.nan, this.last]) {
      if (p !== null && !out.some((q) => q.seq === p.seq)) {
        out.push(p);
      }
    }
    return out.sort((a, b) => a.step - b.step || a.seq - b.seq);
  }

  /** A copy: blocks in the writer's state are merged into, never shared. */
  clone(): Block {
    const copy = new Block();
    copy.merge(this);
    return copy;
  }

  /**
   * The block as stored: a header of two uint32 (count, which points are
   * present) then each present point as step − `start` (uint32), seq
   * (uint32), value, time and epoch (float64), 32 bytes a point.
   */
  encode(start: number): Uint8Array {
    const points = [this.first, this.last, this.min, this.max, this.nan];
    let mask = 0;
    points.forEach((p, i) => (mask |= p === null ? 0 : 1 << i));
    const present = points.filter((p) => p !== null) as Point[];
    const bytes = new Uint8Array(8 + present.length * 32);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.count, true);
    view.setUint32(4, mask, true);
    present.forEach((p, i) => {
      const at = 8 + i * 32;
      view.setUint32(at, p.step - start, true);
      view.setUint32(at + 4, p.seq, true);
      view.setFloat64(at + 8, p.value, true);
      view.setFloat64(at + 16, p.time, true);
      view.setFloat64(at + 24, p.epoch, true);
    });
    return bytes;
  }

  /** A block read back from {@linkcode Block.encode}; throws RangeError on malformed bytes. */
  static decode(bytes: Uint8Array, start: number): Block {
    if (bytes.byteLength < 8) {
      throw new RangeError(`a block needs 8 bytes, got ${bytes.byteLength}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const block = new Block();
    block.count = view.getUint32(0, true);
    const mask = view.getUint32(4, true);
    let at = 8;
    const slots: (Point | null)[] = [];
    // The same point stands in several roles: share it, as `kept` dedupes by identity.
    const bySeq = new Map<number, Point>();
    for (let i = 0; i < 5; i++) {
      if ((mask & (1 << i)) === 0) {
        slots.push(null);
        continue;
      }
      if (at + 32 > bytes.byteLength) {
        throw new RangeError(
          `a block's points end past its ${bytes.byteLength} bytes`,
        );
      }
      const seq = view.getUint32(at + 4, true);
      const p = bySeq.get(seq) ?? {
        step: start + view.getUint32(at, true),
        seq,
        value: view.getFloat64(at + 8, true),
        time: view.getFloat64(at + 16, true),
        epoch: view.getFloat64(at + 24, true),
      };
      bySeq.set(seq, p);
      slots.push(p);
      at += 32;
    }
    block.first = slots[0] ?? null;
    block.last = slots[1] ?? null;
    block.min = slots[2] ?? null;
    block.max = slots[3] ?? null;
    block.nan = slots[4] ?? null;
    return block;
  }
}

/** Bucket `k` of `width` steps holds the steps k·width … (k+1)·width − 1. */
export function bucketOf(step: number, width: number): number {
  return Math.floor(step / width);
}

/**
 * The bucket width for `lo..hi` at `n` buckets: the smallest power of two
 * for which the range spans at most `n` aligned buckets (two when `n` is 1
 * and the range holds a multiple of every power of two, such as 0).
 */
export function bucketWidth(lo: number, hi: number, n: number): number {
  if (!(n >= 1)) throw new RangeError(`need at least one bucket, got ${n}`);
  let width = 1;
  // A range across 0 spans two buckets at every width: then two it is.
  while (
    bucketOf(hi, width) - bucketOf(lo, width) + 1 > n && width <= 2 * (hi - lo)
  ) width *= 2;
  return width;
}

/**
 * Downsamples points (in any order) within `lo..hi` to at most `n`
 * aligned buckets: the definition every read must give exactly, written
 * plainly over raw points. Returns the kept points in order and the width.
 */
export function downsampleAligned(
  points: Iterable<Point>,
  lo: number,
  hi: number,
  n: number,
): { points: Point[]; width: number } {
  const width = bucketWidth(lo, hi, n);
  // Written apart from Block on purpose: the plain definition that the
  // pyramid's reads are checked against.
  const sorted = [...points].filter((p) => p.step >= lo && p.step <= hi)
    .sort((a, b) => a.step - b.step || a.seq - b.seq);
  const out: Point[] = [];
  for (let start = 0; start < sorted.length;) {
    const k = bucketOf(sorted[start]!.step, width);
    let end = start;
    while (
      end + 1 < sorted.length && bucketOf(sorted[end + 1]!.step, width) === k
    ) {
      end++;
    }
    let min: Point | null = null, max: Point | null = null;
    let nan: Point | null = null;
    for (let i = start; i <= end; i++) {
      const p = sorted[i]!;
      if (p.value !== p.value) nan ??= p;
      else {
        if (min === null || p.value < min.value) min = p;
        if (max === null || p.value > max.value) max = p;
      }
    }
    const kept = new Set<Point>(
      [sorted[start]!, min, max, nan, sorted[end]!].filter((p) =>
        p !== null
      ) as Point[],
    );
    out.push(
      ...[...kept].sort((a, b) => a.step - b.step || a.seq - b.seq),
    );
    start = end + 1;
  }
  return { points: out, width };
}

/** A block to write: its level, its index, and its whole state. */
export interface BlockChange {
  /** The level: blocks of 2^level steps. */
  level: number;
  /** The block's index: it holds the steps block·2^level … (block+1)·2^level − 1. */
  block: number;
  /** What it summarizes now, every point included. */
  state: Block;
}

/** Points given as columns, as a writer buffers them: seq of point i is `firstSeq + i`. */
export interface Columns {
  /** Points given (the arrays may be longer). */
  n: number;
  /** Step of each point. */
  steps: ArrayLike<number>;
  /** Value of each point. */
  values: ArrayLike<number>;
  /** Time of each point, in seconds since the epoch. */
  times: ArrayLike<number>;
  /** Null when no point has an epoch. */
  epochs: ArrayLike<number> | null;
  /** Number of the first point in its series. */
  firstSeq: number;
}

/**
 * The pyramid of one series as its writer builds it: at each flush the
 * points since the last one are summarized per finest block (no object per
 * point), merged into the blocks of every level, and those blocks are
 * written whole. The latest block of each level stays in memory; an older
 * one (a point behind the latest step) is read back from the file.
 */
export class PyramidBuilder {
  /** Per level: the highest block so far and its whole state, as committed. */
  #latest = new Map<number, { block: number; state: Block }>();
  /** The highest step stored before this writer resumed the series, if any. */
  #resumedAt: number | null = null;

  /** Continues a series already stored whose highest step is `maxStep`. */
  resume(maxStep: number): void {
    this.#resumedAt = maxStep;
  }

  /**
   * The blocks to write for `points`, whole: nothing changes until
   * {@linkcode PyramidBuilder.commit} (a flush that fails leaves everything
   * to be tried again with the same points). `stored(level, block)` reads
   * a block from the file.
   */
  pending(
    points: Columns,
    stored: (level: number, block: number) => Block | null,
  ): BlockChange[] {
    const out: BlockChange[] = [];
    let deltas = _summarize(points);
    let below = BASE_LEVEL;
    for (const level of LEVELS) {
      if (level !== below) {
        const grouped = new Map<number, Block>();
        const shift = 2 ** (level - below);
        for (const [b, delta] of deltas) {
          const c = Math.floor(b / shift);
          let group = grouped.get(c);
          if (group === undefined) grouped.set(c, group = new Block());
          group.merge(delta);
        }
        deltas = grouped;
        below = level;
      }
      for (const [block, delta] of deltas) {
        const state = this.#before(level, block, stored);
        state.merge(delta);
        out.push({ level, block, state });
      }
    }
    return out;
  }

  /** Records that `changes` (from {@linkcode PyramidBuilder.pending}) were written. */
  commit(changes: BlockChange[]): void {
    for (const change of changes) {
      if (change.block >= this.#highest(change.level)) {
        this.#latest.set(change.level, {
          block: change.block,
          state: change.state,
        });
      }
    }
  }

  /** The highest block of `level` that holds a stored point, or -Infinity. */
  #highest(level: number): number {
    return Math.max(
      this.#latest.get(level)?.block ?? -Infinity,
      this.#resumedAt === null
        ? -Infinity
        : bucketOf(this.#resumedAt, 2 ** level),
    );
  }

  /** A copy of the block's state before the pending points: from memory, the file, or empty. */
  #before(
    level: number,
    block: number,
    stored: (level: number, block: number) => Block | null,
  ): Block {
    const latest = this.#latest.get(level);
    if (latest !== undefined && latest.block === block) {
      return latest.state.clone();
    }
    // Past every step written so far: no such block exists yet.
    if (block > this.#highest(level)) return new Block();
    return stored(level, block)?.clone() ?? new Block();
  }
}

/**
 * The points of `columns` summarized per finest-level block, with a Point
 * object only for the points a block keeps.
 */
function _summarize(columns: Columns): Map<number, Block> {
  const { n, steps, values, times, epochs, firstSeq } = columns;
  const blocks = new Map<number, Block>();
  const point = (i: number): Point => ({
    step: steps[i]!,
    value: values[i]!,
    time: times[i]!,
    epoch: epochs === null ? NaN : epochs[i]!,
    seq: firstSeq + i,
  });
  for (let i = 0; i < n;) {
    const b = Math.floor(steps[i]! / BASE_WIDTH);
    let j = i + 1;
    while (j < n && Math.floor(steps[j]! / BASE_WIDTH) === b) j++;
    // Roles by index; a later index wins only by a strictly better step or value.
    let first = i, last = i, min = -1, max = -1, nan = -1;
    for (let k = i; k < j; k++) {
      const step = steps[k]!, v = values[k]!;
      if (step < steps[first]!) first = k;
      if (step >= steps[last]!) last = k;
      if (v !== v) {
        if (nan < 0 || step < steps[nan]!) nan = k;
      } else {
        if (
          min < 0 || v < values[min]! ||
          (v === values[min]! && step < steps[min]!)
        ) min = k;
        if (
          max < 0 || v > values[max]! ||
          (v === values[max]! && step < steps[max]!)
        ) max = k;
      }
    }
    const made = new Map<number, Point>();
    const at = (k: number): Point | null => {
      if (k < 0) return null;
      let p = made.get(k);
      if (p === undefined) made.set(k, p = point(k));
      return p;
    };
    const run = new Block();
    run.count = j - i;
    run.first = at(first);
    run.last = at(last);
    run.min = at(min);
    run.max = at(max);
    run.nan = at(nan);
    const block = blocks.get(b);
    if (block === undefined) blocks.set(b, run);
    else block.merge(run);
    i = j;
  }
  return blocks;
}

/** Where {@linkcode readBuckets} gets what it reads. */
export interface BucketSource {
  /** The stored blocks of `level` from block `first` to `last`, by block index. */
  blocks(level: number, first: number, last: number): Map<number, Block>;
  /** The raw points with steps from `lo` to `hi`, in any order. */
  points(lo: number, hi: number): Point[];
}

/**
 * The points {@linkcode downsampleAligned} keeps for the steps `lo..hi` at
 * `n` buckets, read from the pyramid: whole buckets from the stored level
 * at or below the bucket width (merged when it is below), raw points only
 * for buckets narrower than the finest stored level and for the buckets
 * that the range cuts. `pyramid` false reads raw points only (a series
 * whose file has no pyramid).
 */
export function readBuckets(
  source: BucketSource,
  lo: number,
  hi: number,
  n: number,
  pyramid: boolean,
): { points: Point[]; width: number; total: number } {
  const width = bucketWidth(lo, hi, n);
  const level = Math.log2(width);
  if (!pyramid || level < BASE_LEVEL) {
    const raw = source.points(lo, hi);
    return { ...downsampleAligned(raw, lo, hi, n), total: raw.length };
  }
  const stored = LEVELS.findLast((l) => l <= level)!;
  const per = width / 2 ** stored;
  const k0 = bucketOf(lo, width);
  const k1 = bucketOf(hi, width);
  const rows = source.blocks(stored, k0 * per, (k1 + 1) * per - 1);
  const out: Point[] = [];
  let total = 0;
  for (let k = k0; k <= k1; k++) {
    const bucket = new Block();
    for (let b = k * per; b < (k + 1) * per; b++) {
      const row = rows.get(b);
      if (row !== undefined) bucket.merge(row);
    }
    if (bucket.count === 0) continue;
    // A bucket the range cuts holds points outside it: those are read raw.
    if (bucket.first!.step < lo || bucket.last!.step > hi) {
      const raw = source.points(
        Math.max(lo, k * width),
        Math.min(hi, (k + 1) * width - 1),
      );
      const cut = new Block();
      for (const p of raw) cut.add(p);
      total += cut.count;
      if (cut.count > 0) out.push(...cut.kept());
      continue;
    }
    total += bucket.count;
    out.push(...bucket.kept());
  }
  return { points: out, width, total };
}
