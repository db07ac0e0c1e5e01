/**
 * Low-level helpers every part of aim shares: JSON that keeps NaN and
 * ±Infinity with its canonical form, SQLite connections, and the detection
 * of network filesystems.
 *
 * @module
 */

export { canonicalJson, contextKey, decodeJson, encodeJson } from "./json.ts";
export { fromSqlReal, openDatabase, toSqlReal, transaction } from "./sqlite.ts";
export { detectFsMode, type FsMode, mountTypeOf } from "./fs_mode.ts";
export { type Clock, systemClock } from "./clock.ts";
