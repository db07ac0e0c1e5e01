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
    const bytes = new Uint8Array(this.encodedSize());
    this.encodeInto(new DataView(bytes.buffer), 0, start);
    return bytes;
  }

  /** Bytes of {@linkcode Block.encode}'s answer. */
  encodedSize(): number {
    let size = 8;
    const { first, last, min, max, nan } = this;
    if (first !== null) size += 32;
    if (last !== null) size += 32;
    if (min !== null) size += 32;
    if (max !== null) size += 32;
    if (nan !== null) size += 32;
    return size;
  }

  /** Writes {@linkcode Block.encode}'s bytes into `view` at `at`; returns where they end. */
  encodeInto(view: DataView, at: number, start: number): number {
    const { first, last, min, max, nan } = this;
    let mask = 0;
    if (first !== null) mask |= 1;
    if (last !== null) mask |= 2;
    if (min !== null) mask |= 4;
    if (max !== null) mask |= 8;
    if (nan !== null) mask |= 16;
    view.setUint32(at, this.count, true);
    view.setUint32(at + 4, mask, true);
    at += 8;
    for (const p of [first, last, min, max, nan]) {
      if (p === null) continue;
      view.setUint32(at, p.step - start, true);
      view.setUint32(at + 4, p.seq, true);
      view.setFloat64(at + 8, p.value, true);
      view.setFloat64(at + 16, p.time, true);
      view.setFloat64(at + 24, p.epoch, true);
      at += 32;
    }
    return at;
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
    const made: Point[] = [];
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
      let p = made.find((q) => q.seq === seq);
      if (p === undefined) {
        p = {
          step: start + view.getUint32(at, true),
          seq,
          value: view.getFloat64(at + 8, true),
          time: view.getFloat64(at + 16, true),
          epoch: view.getFloat64(at + 24, true),
        };
        made.push(p);
      }
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

/**
 * Blocks of one level stored together, as one page: a read of a range
 * fetches a few pages rather than many blocks, and a flush rewrites the
 * pages it touches. Page p of a level holds its blocks p·16 … p·16 + 15.
 */
export const PAGE_BLOCKS = 4;

/** The page that holds `block`. */
export function pageOf(block: number): number {
  return Math.floor(block / PAGE_BLOCKS);
}

/**
 * A page as stored: a uint32 with a bit per slot that holds a block, then
 * each such block as {@linkcode Block.encode} makes it, in slot order.
 * `blocks` maps block indexes (all in `page`) to their state.
 */
export function encodePage(
  level: number,
  page: number,
  blocks: ReadonlyMap<number, Block>,
): Uint8Array {
  const bytes = new Uint8Array(pageSize(page, blocks));
  encodePageInto(new DataView(bytes.buffer), 0, level, page, blocks);
  return bytes;
}

/** Bytes of {@linkcode encodePage}'s answer. */
function pageSize(page: number, blocks: ReadonlyMap<number, Block>): number {
  let size = 4;
  for (let slot = 0; slot < PAGE_BLOCKS; slot++) {
    const state = blocks.get(page * PAGE_BLOCKS + slot);
    if (state !== undefined && state.count > 0) size += state.encodedSize();
  }
  return size;
}

/** Writes {@linkcode encodePage}'s bytes into `view` at `at`; returns where they end. */
function encodePageInto(
  view: DataView,
  at: number,
  level: number,
  page: number,
  blocks: ReadonlyMap<number, Block>,
): number {
  const maskAt = at;
  let mask = 0;
  at += 4;
  for (let slot = 0; slot < PAGE_BLOCKS; slot++) {
    const block = page * PAGE_BLOCKS + slot;
    const state = blocks.get(block);
    if (state === undefined || state.count === 0) continue;
    mask |= 1 << slot;
    at = state.encodeInto(view, at, block * 2 ** level);
  }
  view.setUint32(maskAt, mask >>> 0, true);
  return at;
}

/**
 * The blocks of a page read back from {@linkcode encodePage}, those from
 * `first` to `last` only (default all); throws RangeError on malformed bytes.
 */
export function decodePage(
  bytes: Uint8Array,
  level: number,
  page: number,
  first = -Infinity,
  last = Infinity,
): Map<number, Block> {
  if (bytes.byteLength < 4) {
    throw new RangeError(`a page needs 4 bytes, got ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mask = view.getUint32(0, true);
  const out = new Map<number, Block>();
  let at = 4;
  for (let slot = 0; slot < PAGE_BLOCKS; slot++) {
    if ((mask & (1 << slot)) === 0) continue;
    if (at + 8 > bytes.byteLength) {
      throw new RangeError(
        `a page's blocks end past its ${bytes.byteLength} bytes`,
      );
    }
    const roles = view.getUint32(at + 4, true);
    let present = 0;
    for (let r = roles; r !== 0; r &= r - 1) present++;
    const size = 8 + 32 * present;
    const block = page * PAGE_BLOCKS + slot;
    if (block >= first && block <= last) {
      out.set(
        block,
        Block.decode(bytes.subarray(at, at + size), block * 2 ** level),
      );
    }
    at += size;
  }
  if (at !== bytes.byteLength) {
    throw new RangeError(
      `a page holds ${bytes.byteLength - at} bytes past its last block`,
    );
  }
  return out;
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

/**
 * A block to write, whole. Only complete pages of blocks are stored: a
 * page is complete once the series holds a step past its end. The latest
 * page of each level (the one that holds the highest step) is not: a
 * reader makes it from the level below (see {@linkcode withLatest}), so
 * that a flush of a few points writes no block at all, and every page is
 * written once (unless a point lands behind the latest step).
 */
export interface BlockChange {
  /** The level: blocks of 2^level steps. */
  level: number;
  /** The block's index: it holds the steps block·2^level … (block+1)·2^level − 1. */
  block: number;
  /** What it summarizes, every point included. */
  state: Block;
}

/** The latest page of one level: its index and its blocks so far. */
export interface LatestPage {
  /** The page's index at its level. */
  page: number;
  /** Its blocks so far, by index. */
  blocks: ReadonlyMap<number, Block>;
}

/** What {@linkcode PyramidBuilder.pending} makes of a flush's points. */
export interface PendingBlocks {
  /** Blocks to write, each whole. */
  writes: BlockChange[];
  /** The finest level's latest page once the points are stored (null without any). */
  latest: LatestPage | null;
  /** The series' highest step once the points are stored. */
  maxStep: number;
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
  /** Epoch of each point (NaN for none); null when no point has one. */
  epochs: ArrayLike<number> | null;
  /** Number of the first point in its series. */
  firstSeq: number;
  /** Number of each point in its series; default `firstSeq + i`. */
  seqs?: ArrayLike<number>;
}

/** The points of `columns` as objects, in (step, seq) order. */
export function pointsOf(columns: Columns): Point[] {
  const { n, steps, values, times, epochs, firstSeq, seqs } = columns;
  const out: Point[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      step: steps[i]!,
      value: values[i]!,
      time: times[i]!,
      epoch: epochs === null ? NaN : epochs[i]!,
      seq: seqs === undefined ? firstSeq + i : seqs[i]!,
    };
  }
  return out.sort((a, b) => a.step - b.step || a.seq - b.seq);
}

/** Blocks of `level` spanned by one block of the next stored level. */
const PER_LEVEL = 2 ** (LEVELS[1]! - LEVELS[0]!);

/**
 * The pyramid of one series as its writer builds it. At each flush the
 * points since the last one are summarized per finest block (no object per
 * point). The finest level's latest page stays in memory. A page of any
 * level is written once it is complete, whole: a finest one from memory, a
 * coarser one by merging the pages of the level below (a block of level
 * L summarizes exactly one page of the stored level below it, since
 * {@linkcode PAGE_BLOCKS} is the ratio of their widths; those pages are
 * complete too by then). A point behind the latest page changes complete
 * blocks, which are read back, merged and written again.
 */
export class PyramidBuilder {
  /** The finest level's latest page, as committed; null before any point. */
  #latest: LatestPage | null = null;
  /** The highest step committed, or null. */
  #maxStep: number | null = null;

  /**
   * Continues a series already stored whose highest step is `maxStep` and
   * whose finest latest page is `latest` (see {@linkcode latestPages}).
   */
  resume(maxStep: number, latest: LatestPage): void {
    this.#maxStep = maxStep;
    this.#latest = latest;
  }

  /**
   * The blocks that `points` complete or change, whole: nothing changes
   * until {@linkcode PyramidBuilder.commit} (a flush that fails leaves
   * everything to be tried again with the same points). `stored(level,
   * block)` reads a block of a complete page from the file. Blocks
   * returned are never changed afterwards: a later flush merges into
   * copies.
   */
  pending(
    points: Columns,
    stored: (level: number, block: number) => Block | null,
  ): PendingBlocks {
    if (points.n === 0) {
      return {
        writes: [],
        latest: this.#latest,
        maxStep: this.#maxStep ?? -Infinity,
      };
    }
    const deltas = _summarize(points);
    let maxStep = this.#maxStep ?? -Infinity;
    for (let i = 0; i < points.n; i++) {
      maxStep = Math.max(maxStep, points.steps[i]!);
    }
    const writes: BlockChange[] = [];
    // This flush's writes by level and block, for the levels above.
    const written = new Map<number, Map<number, Block>>();
    const write = (level: number, block: number, state: Block) => {
      if (state.count === 0) return;
      writes.push({ level, block, state });
      let byBlock = written.get(level);
      if (byBlock === undefined) written.set(level, byBlock = new Map());
      byBlock.set(block, state);
    };
    const pageAt = (step: number | null, level: number) =>
      step === null ? -Infinity : pageOf(bucketOf(step, 2 ** level));

    // The finest level: its latest page is in memory.
    const top = pageAt(maxStep, BASE_LEVEL);
    const old = this.#latest;
    const latest = new Map(old?.page === top ? old.blocks : []);
    // The old latest page, complete now: written whole, with its new points.
    const completed = old !== null && old.page < top
      ? new Map(old.blocks)
      : null;
    for (const [block, delta] of deltas) {
      const page = pageOf(block);
      const into = page === top
        ? latest
        : page === old?.page
        ? completed!
        : null;
      if (into !== null) {
        const state = into.get(block)?.clone() ?? new Block();
        state.merge(delta);
        into.set(block, state);
        continue;
      }
      // A complete page (before the old latest), or a new one past it
      // that this flush completes.
      const before = page < (old?.page ?? -Infinity)
        ? stored(BASE_LEVEL, block)
        : null;
      const state = before?.clone() ?? new Block();
      state.merge(delta);
      write(BASE_LEVEL, block, state);
    }
    for (const [block, state] of completed ?? []) {
      write(BASE_LEVEL, block, state);
    }
    const result = { writes, latest: { page: top, blocks: latest }, maxStep };
    // Nearly every flush: its points all in the latest page, which stays
    // the latest; no page of any level is complete now, or changed.
    if (completed === null && writes.length === 0) return result;

    // Coarser levels: pages complete now are made from the level below.
    let below = BASE_LEVEL;
    for (const level of LEVELS.slice(1)) {
      const width = 2 ** level;
      const levelTop = pageAt(maxStep, level);
      const prevTop = pageAt(this.#maxStep, level);
      // Complete pages with points from this flush, and their share of them.
      const touched = new Map<number, Block[]>();
      const fresh = new Set<number>();
      for (const [block, delta] of deltas) {
        const b = bucketOf(block * BASE_WIDTH, width);
        const page = pageOf(b);
        if (page >= levelTop) continue;
        if (page >= prevTop) {
          fresh.add(page);
          continue;
        }
        const parts = touched.get(b);
        if (parts === undefined) touched.set(b, [delta]);
        else parts.push(delta);
      }
      if (this.#maxStep !== null && prevTop < levelTop) fresh.add(prevTop);
      // Complete before: what is stored, and this flush's points in it.
      for (const [b, parts] of touched) {
        const state = stored(level, b)?.clone() ?? new Block();
        for (const part of parts) state.merge(part);
        write(level, b, state);
      }
      // Complete now: each block merges one page of the level below.
      const mine = written.get(below);
      for (const page of fresh) {
        for (let b = page * PAGE_BLOCKS; b < (page + 1) * PAGE_BLOCKS; b++) {
          const state = new Block();
          for (let c = b * PER_LEVEL; c < (b + 1) * PER_LEVEL; c++) {
            const child = mine?.get(c) ?? stored(below, c);
            if (child !== null) state.merge(child);
          }
          write(level, b, state);
        }
      }
      below = level;
    }
    return result;
  }

  /** Records that `pending` (from {@linkcode PyramidBuilder.pending}) was written. */
  commit(pending: PendingBlocks): void {
    this.#latest = pending.latest;
    if (pending.latest !== null) this.#maxStep = pending.maxStep;
  }
}

/**
 * The latest page of every level of a series whose highest step is
 * `maxStep`, made as a reader makes them: the finest from raw points, each
 * other by merging pages of the level below (stored, or that level's
 * latest). Levels above `upTo` are left out.
 */
export function latestPages(
  source: BucketSource,
  maxStep: number,
  upTo = LEVELS.at(-1)!,
): Map<number, LatestPage> {
  const out = new Map<number, LatestPage>();
  let below: { level: number; latest: LatestPage } | null = null;
  for (const level of LEVELS) {
    if (level > upTo) break;
    const page = pageOf(bucketOf(maxStep, 2 ** level));
    const first = page * PAGE_BLOCKS, last = first + PAGE_BLOCKS - 1;
    const blocks = new Map<number, Block>();
    if (below === null) {
      const width = 2 ** level;
      const raw = source.points(first * width, (last + 1) * width - 1);
      for (const [block, state] of _summarize(raw, width)) {
        blocks.set(block, state);
      }
    } else {
      const parts = source.blocks(
        below.level,
        first * PER_LEVEL,
        (last + 1) * PER_LEVEL - 1,
      );
      for (const [c, state] of below.latest.blocks) parts.set(c, state);
      for (const [c, part] of parts) {
        const block = Math.floor(c / PER_LEVEL);
        let state = blocks.get(block);
        if (state === undefined) blocks.set(block, state = new Block());
        state.merge(part);
      }
    }
    const latest = { page, blocks };
    out.set(level, latest);
    below = { level, latest };
  }
  return out;
}

/**
 * `source` with the latest page of every level among its blocks: what a
 * reader of a stored pyramid (complete pages only) reads from.
 */
export function withLatest(
  source: BucketSource,
  maxStep: number,
): BucketSource {
  let latest: Map<number, LatestPage> | null = null;
  return {
    points: (lo, hi) => source.points(lo, hi),
    blocks(level, first, last) {
      const out = source.blocks(level, first, last);
      latest ??= latestPages(source, maxStep);
      for (const [block, state] of latest.get(level)?.blocks ?? []) {
        if (block >= first && block <= last) out.set(block, state);
      }
      return out;
    },
  };
}

/**
 * The points of `columns` summarized per finest-level block, with a Point
 * object only for the points a block keeps.
 */
function _summarize(
  columns: Columns,
  width = BASE_WIDTH,
): Map<number, Block> {
  const { n, steps, values, times, epochs, firstSeq, seqs } = columns;
  const blocks = new Map<number, Block>();
  const seqOf = (i: number) => seqs === undefined ? firstSeq + i : seqs[i]!;
  const point = (i: number): Point => ({
    step: steps[i]!,
    value: values[i]!,
    time: times[i]!,
    epoch: epochs === null ? NaN : epochs[i]!,
    seq: seqOf(i),
  });
  for (let i = 0; i < n;) {
    const b = Math.floor(steps[i]! / width);
    const low = b * width, high = low + width;
    // Roles by index (points come in seq order); a later index wins only by
    // a strictly better step or value (the last point: by a step at least
    // as high).
    let first = i, last = i, min = -1, max = -1, nan = -1;
    let firstStep = steps[i]!, lastStep = firstStep, nanStep = Infinity;
    let minValue = NaN, maxValue = NaN, minStep = 0, maxStep = 0;
    let k = i;
    for (; k < n; k++) {
      const step = steps[k]!;
      if (step < low || step >= high) break;
      const v = values[k]!;
      if (step < firstStep) (first = k), (firstStep = step);
      if (step >= lastStep) (last = k), (lastStep = step);
      if (v !== v) {
        if (step < nanStep) (nan = k), (nanStep = step);
        continue;
      }
      if (min < 0 || v < minValue || (v === minValue && step < minStep)) {
        (min = k), (minValue = v), (minStep = step);
      }
      if (max < 0 || v > maxValue || (v === maxValue && step < maxStep)) {
        (max = k), (maxValue = v), (maxStep = step);
      }
    }
    // One Point per index, shared by its roles (Block.decode does the same).
    const made: Point[] = [];
    const at = (index: number): Point | null => {
      if (index < 0) return null;
      const seq = seqOf(index);
      for (const p of made) if (p.seq === seq) return p;
      const p = point(index);
      made.push(p);
      return p;
    };
    const run = new Block();
    run.count = k - i;
    run.first = at(first);
    run.last = at(last);
    run.min = at(min);
    run.max = at(max);
    run.nan = at(nan);
    const block = blocks.get(b);
    if (block === undefined) blocks.set(b, run);
    else block.merge(run);
    i = k;
  }
  return blocks;
}

/** Where {@linkcode readBuckets} gets what it reads. */
export interface BucketSource {
  /** The stored blocks of `level` from block `first` to `last`, by block index. */
  blocks(level: number, first: number, last: number): Map<number, Block>;
  /** Every raw point with a step from `lo` to `hi`, in seq order, with its seq. */
  points(lo: number, hi: number): Columns;
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
    // Raw points, summarized per bucket as columns: no object per point.
    const raw = source.points(lo, hi);
    const buckets = _summarize(raw, width);
    const out: Point[] = [];
    for (const k of [...buckets.keys()].sort((a, b) => a - b)) {
      out.push(...buckets.get(k)!.kept());
    }
    return { points: out, width, total: raw.n };
  }
  const stored = LEVELS.findLast((l) => l <= level)!;
  const per = width / 2 ** stored;
  const k0 = bucketOf(lo, width);
  const k1 = bucketOf(hi, width);
  const rows = source.blocks(stored, k0 * per, (k1 + 1) * per - 1);
  const out: Point[] = [];
  let total = 0;
  for (let k = k0; k <= k1; k++) {
    // A bucket one stored block wide is that block (read fresh, never shared).
    let bucket = per === 1 ? rows.get(k) : undefined;
    if (bucket === undefined) {
      bucket = new Block();
      for (let b = k * per; b < (k + 1) * per; b++) {
        const row = rows.get(b);
        if (row !== undefined) bucket.merge(row);
      }
    }
    if (bucket.count === 0) continue;
    // A bucket the range cuts holds points outside it: those are read raw.
    if (bucket.first!.step < lo || bucket.last!.step > hi) {
      const raw = source.points(
        Math.max(lo, k * width),
        Math.min(hi, (k + 1) * width - 1),
      );
      const cut = _summarize(raw, width).get(k);
      if (cut !== undefined) {
        total += cut.count;
        out.push(...cut.kept());
      }
      continue;
    }
    total += bucket.count;
    out.push(...bucket.kept());
  }
  return { points: out, width, total };
}
