/**
 * Sequences of objects in a run file (format 5): how they are stored and
 * read. Their tables exist once the writer stored an object. A sequence is
 * one row of `sequences` (its summary, the objects of
 * its last step as `tail`, the index's thumbnail); each object is one small
 * row of `objects` (step, epoch, time, point, item, metadata as JSON), its
 * payload a row of `payloads` and an image's thumbnail a row of `thumbs`,
 * both keyed by the object's id. Reading one step reads that step's rows
 * only (`objects_step`), and listing objects never reads a payload
 * (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { SequenceKind } from "../types.ts";
import { decodeDistribution } from "../objects/distribution.ts";
import { hasObjectTables, RunFileError } from "./run_file.ts";

/** Objects of a sequence's last step that its tail (and the index) keeps. */
export const TAIL_OBJECTS = 64;

/**
 * What an object's row says of it. Images: `format`, `width`, `height`,
 * `bytes`, `caption`; distributions: `bins`, `low`, `high`, `total`,
 * `uniform`; texts: `length` (characters), `bytes`, `caption`. No caption
 * is stored when it is empty.
 */
export type ObjectMeta = Record<string, string | number | boolean | null>;

/**
 * The objects of a sequence's last step: what a grid shows first, kept in
 * the index so that listing sequences opens no run file. A text's entry
 * adds its first 200 characters as `excerpt`.
 */
export interface Tail {
  /** The last step tracked. */
  step: number;
  /** Its epoch, or null. */
  epoch: number | null;
  /** When its latest object was tracked, seconds since the epoch. */
  time: number;
  /** Its objects (at most {@linkcode TAIL_OBJECTS}), in tracking order, each with its id. */
  objects: ({ id: number } & ObjectMeta)[];
}

/** One stored object as reads return it: where it is, and its metadata. */
export type StoredObject = {
  /** Its id in the run: the key of its payload. */
  id: number;
  /** Its step. */
  step: number;
  /** Its epoch, or null. */
  epoch: number | null;
  /** When it was tracked, seconds since the epoch. */
  time: number;
  /** The number of its point in the sequence, from 0 (a list is one point). */
  point: number;
  /** Its place in its point's list, from 0. */
  item: number;
} & ObjectMeta;

/** The id of a sequence in an open run file, or null when there is none. */
export function sequenceId(
  db: DatabaseSync,
  kind: SequenceKind,
  name: string,
  contextKey: string,
): number | null {
  if (!hasObjectTables(db)) return null;
  const row = db.prepare(
    "SELECT id FROM sequences WHERE kind = ? AND name = ? AND context = ?",
  ).get(kind, name, contextKey) as { id: number } | undefined;
  return row === undefined ? null : Number(row.id);
}

/** Identifies a sequence within a run: its kind, name and canonical context. */
export function sequenceKey(
  kind: string,
  name: string,
  contextKey: string,
): string {
  return `${kind}\u0000${name}\u0000${contextKey}`;
}

/** Each sequence's tail and index thumbnail, keyed by {@linkcode sequenceKey}. */
export function readTails(
  db: DatabaseSync,
): Map<string, { tail: string | null; thumb: Uint8Array | null }> {
  const out = new Map<
    string,
    { tail: string | null; thumb: Uint8Array | null }
  >();
  if (!hasObjectTables(db)) return out;
  for (
    const row of db.prepare(
      "SELECT kind, name, context, tail, thumb FROM sequences",
    ).all()
  ) {
    out.set(
      sequenceKey(String(row.kind), String(row.name), String(row.context)),
      {
        tail: row.tail === null ? null : String(row.tail),
        thumb: row.thumb as Uint8Array | null,
      },
    );
  }
  return out;
}

/** Decodes a stored tail; a malformed one means a corrupt file. */
export function parseTail(text: string | null): Tail | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Tail;
  } catch (cause) {
    throw new RunFileError(
      `a sequence's tail is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
      { cause },
    );
  }
}

/** Options of {@linkcode readObjects}. */
export interface ObjectRange {
  /** Lowest step (inclusive). */
  from: number;
  /** Highest step (inclusive). */
  to: number;
  /** Objects to skip first. */
  offset: number;
  /** Most objects to return. */
  limit: number;
  /**
   * Keeps only texts whose text or caption contains this, ignoring case
   * (texts only); every text in the range is then read.
   */
  search?: string;
  /** Adds each text's `text` (texts), each histogram's `counts` and `edges` (distributions). */
  payloads?: boolean;
}

/** A page of one sequence's objects in a step range, and how many match. */
export function readObjects(
  db: DatabaseSync,
  id: number,
  range: ObjectRange,
): { total: number; objects: StoredObject[] } {
  const from = _bound(range.from), to = _bound(range.to);
  const kind = _kindOf(db, id);
  if (range.search !== undefined && kind === "texts") {
    const needle = range.search.toLowerCase();
    const objects: StoredObject[] = [];
    let total = 0;
    const decoder = new TextDecoder();
    for (
      const row of db.prepare(
        "SELECT o.id, o.step, o.epoch, o.time, o.point, o.item, o.meta, p.data FROM objects o JOIN payloads p ON p.id = o.id WHERE o.sequence_id = ? AND o.step BETWEEN ? AND ? ORDER BY o.step, o.id",
      ).iterate(id, from, to)
    ) {
      const text = decoder.decode(row.data as Uint8Array);
      const object = _object(row);
      const caption = typeof object.caption === "string" ? object.caption : "";
      if (
        !text.toLowerCase().includes(needle) &&
        !caption.toLowerCase().includes(needle)
      ) continue;
      if (total++ < range.offset || objects.length >= range.limit) continue;
      objects.push({ ...object, text });
    }
    return { total, objects };
  }
  const { total } = db.prepare(
    "SELECT count(*) AS total FROM objects WHERE sequence_id = ? AND step BETWEEN ? AND ?",
  ).get(id, from, to) as { total: number };
  const objects = db.prepare(
    "SELECT id, step, epoch, time, point, item, meta FROM objects WHERE sequence_id = ? AND step BETWEEN ? AND ? ORDER BY step, id LIMIT ? OFFSET ?",
  ).all(id, from, to, range.limit, range.offset).map(_object);
  if (range.payloads && kind !== "images") {
    for (const object of objects) _addPayload(db, kind, object);
  }
  return { total: Number(total), objects };
}

/** The distinct steps of a sequence, in order (at most `limit`). */
export function readSteps(
  db: DatabaseSync,
  id: number,
  limit: number,
): number[] {
  return db.prepare(
    "SELECT DISTINCT step FROM objects WHERE sequence_id = ? ORDER BY step LIMIT ?",
  ).all(id, limit).map((row) => Number(row.step));
}

/**
 * The objects of the step nearest `step` that a sequence has: the highest
 * at or below it, else the lowest above it. Empty for a sequence without
 * objects.
 */
export function readObjectsAt(
  db: DatabaseSync,
  id: number,
  step: number,
  payloads = false,
): { step: number | null; objects: StoredObject[] } {
  const at = db.prepare(
    "SELECT coalesce((SELECT max(step) FROM objects WHERE sequence_id = ?1 AND step <= ?2), (SELECT min(step) FROM objects WHERE sequence_id = ?1 AND step > ?2)) AS step",
  ).get(id, _bound(step)) as { step: number | null };
  if (at.step === null) return { step: null, objects: [] };
  const found = Number(at.step);
  const { objects } = readObjects(db, id, {
    from: found,
    to: found,
    offset: 0,
    limit: 10_000,
    payloads,
  });
  return { step: found, objects };
}

/**
 * The payload of object `id` (an image's bytes, a histogram's float64
 * counts and edges, a text's UTF-8), or its thumbnail with `thumb` (an
 * image larger than the thumbnail size; otherwise the image itself).
 * Null when the run has no such object.
 */
export function readPayload(
  db: DatabaseSync,
  id: number,
  thumb = false,
): Uint8Array | null {
  if (!hasObjectTables(db)) return null;
  if (thumb) {
    const row = db.prepare("SELECT data FROM thumbs WHERE id = ?").get(id) as
      | { data: Uint8Array }
      | undefined;
    if (row !== undefined) return row.data;
  }
  const row = db.prepare("SELECT data FROM payloads WHERE id = ?").get(id) as
    | { data: Uint8Array }
    | undefined;
  return row?.data ?? null;
}

/** One histogram of a distribution sequence, decoded. */
export interface HistogramRow {
  /** The object's id. */
  id: number;
  /** Its step. */
  step: number;
  /** Its epoch, or null. */
  epoch: number | null;
  /** When it was tracked. */
  time: number;
  /** Samples per bin. */
  counts: Float64Array;
  /** Bin edges, one more than the counts. */
  edges: Float64Array;
}

/**
 * At most `rows` histograms of a distribution sequence within `from..to`,
 * spread evenly over the objects in the range (all of them when they are
 * no more), and how many the range holds.
 */
export function readHistograms(
  db: DatabaseSync,
  id: number,
  from: number,
  to: number,
  rows: number,
): { total: number; histograms: HistogramRow[] } {
  const ids = db.prepare(
    "SELECT id FROM objects WHERE sequence_id = ? AND step BETWEEN ? AND ? ORDER BY step, id",
  ).all(id, _bound(from), _bound(to)).map((row) => Number(row.id));
  const total = ids.length;
  let chosen = ids;
  if (total > rows) {
    chosen = [];
    for (let i = 0; i < rows; i++) {
      chosen.push(
        ids[
          rows === 1 ? total - 1 : Math.round((i * (total - 1)) / (rows - 1))
        ]!,
      );
    }
  }
  const get = db.prepare(
    "SELECT o.id, o.step, o.epoch, o.time, o.meta, p.data FROM objects o JOIN payloads p ON p.id = o.id WHERE o.id = ?",
  );
  const histograms: HistogramRow[] = [];
  for (const objectId of chosen) {
    const row = get.get(objectId)!;
    const meta = _meta(String(row.meta));
    const decoded = decodeDistribution(
      row.data as Uint8Array,
      Number(meta.bins),
      Number(meta.low),
      Number(meta.high),
    );
    if (decoded === null) {
      throw new RunFileError(
        `histogram ${objectId} holds ${
          (row.data as Uint8Array).byteLength
        } bytes, which do not fit its ${meta.bins} bins`,
      );
    }
    histograms.push({
      id: objectId,
      step: Number(row.step),
      epoch: row.epoch === null ? null : Number(row.epoch),
      time: Number(row.time),
      ...decoded,
    });
  }
  return { total, histograms };
}

function _kindOf(db: DatabaseSync, id: number): SequenceKind | null {
  const row = db.prepare("SELECT kind FROM sequences WHERE id = ?").get(id) as
    | { kind: SequenceKind }
    | undefined;
  return row?.kind ?? null;
}

function _object(row: Record<string, unknown>): StoredObject {
  return {
    ..._meta(String(row.meta)),
    id: Number(row.id),
    step: Number(row.step),
    epoch: row.epoch === null ? null : Number(row.epoch),
    time: Number(row.time),
    point: Number(row.point),
    item: Number(row.item),
  } as StoredObject;
}

function _meta(text: string): ObjectMeta {
  try {
    return JSON.parse(text) as ObjectMeta;
  } catch (cause) {
    throw new RunFileError(
      `an object's metadata is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
      { cause },
    );
  }
}

function _addPayload(
  db: DatabaseSync,
  kind: SequenceKind | null,
  object: StoredObject,
): void {
  const data = readPayload(db, object.id);
  if (data === null) {
    throw new RunFileError(`object ${object.id} has no payload`);
  }
  if (kind === "texts") {
    (object as Record<string, unknown>).text = new TextDecoder().decode(data);
    return;
  }
  const decoded = decodeDistribution(
    data,
    Number(object.bins),
    Number(object.low),
    Number(object.high),
  );
  if (decoded === null) {
    throw new RunFileError(
      `histogram ${object.id} holds ${data.byteLength} bytes, which do not fit its ${object.bins} bins`,
    );
  }
  (object as Record<string, unknown>).counts = [...decoded.counts];
  (object as Record<string, unknown>).edges = [...decoded.edges];
}

/** A step as SQLite compares it with integers (it has no infinities). */
function _bound(step: number): number {
  return Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, step));
}
