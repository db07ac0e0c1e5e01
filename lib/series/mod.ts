/**
 * Algorithms on series of points, with no I/O: extreme-preserving
 * downsampling for charts and the small always-current preview that every
 * series keeps.
 *
 * @module
 */

export {
  downsample,
  downsampleIndices,
  type StepValues,
} from "./downsample.ts";
export { Preview, PREVIEW_BUCKETS } from "./preview.ts";
export {
  Block,
  type BlockChange,
  type BucketSource,
  bucketWidth,
  type Columns,
  decodePage,
  downsampleAligned,
  encodePage,
  type LatestPage,
  latestPages,
  LEVELS,
  PAGE_BLOCKS,
  pageOf,
  type PendingBlocks,
  type Point,
  pointsOf,
  PyramidBuilder,
  readBuckets,
  withLatest,
} from "./pyramid.ts";
