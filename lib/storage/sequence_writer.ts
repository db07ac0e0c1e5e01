/**
 * The part of a run's writer that stores sequences of objects (images,
 * distributions, texts): buffered like points, written in the writer's
 * flush transaction, each object a small metadata row with its payload
 * (and thumbnail) in tables of their own (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { Image } from "../objects/image.ts";
import { Distribution, encodeDistribution } from "../objects/distribution.ts";
import { Text } from "../objects/text.ts";
import type { SequenceKind } from "../types.ts";
import { type ObjectMeta, type Tail, TAIL_OBJECTS } from "./run_objects.ts";
import { hasObjectTables, OBJECT_SCHEMA } from "./run_file.ts";

/** One object a run can track besides a number. */
export type TrackedObject = Image | Distribution | Text;

/** The sequence kind an object belongs to, or null for anything else. */
export function kindOf(value: unknown): SequenceKind | null {
  if (value instanceof Image) return "images";
  if (value instanceof Distribution) return "distributions";
  if (value instanceof Text) return "texts";
  return null;
}

/** Characters of a text its sequence's tail keeps. */
const EXCERPT = 200;

interface _Object {
  id: number;
  step: number;
  epoch: number | null;
  time: number;
  point: number;
  item: number;
  meta: string;
  payload: Uint8Array;
  thumb: Uint8Array | null;
}

class _Sequence {
  id: number;
  /** Whether its row exists in the file (committed). */
  stored = false;
  count = 0;
  items = 0;
  firstStep: number | null = null;
  lastStep: number | null = null;
  lastTime: number | null = null;
  tail: Tail | null = null;
  /** The image the index's thumbnail is made from, until the next flush makes it. */
  thumbFrom: Image | null = null;
  pending: _Object[] = [];

  constructor(
    id: number,
    readonly kind: SequenceKind,
    readonly name: string,
    readonly contextKey: string,
  ) {
    this.id = id;
  }
}

/** What {@linkcode SequenceWriter.write} wrote, applied by {@linkcode SequenceWriter.commit}. */
export interface SequenceWrites {
  sequences: _Sequence[];
  objects: number;
  bytes: number;
  statements: _Statements;
}

interface _Statements {
  insertObject: StatementSync;
  insertPayload: StatementSync;
  insertThumb: StatementSync;
  updateSequence: StatementSync;
}

function _prepare(db: DatabaseSync): _Statements {
  return {
    insertObject: db.prepare(
      "INSERT INTO objects(id, sequence_id, step, epoch, time, point, item, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    insertPayload: db.prepare("INSERT INTO payloads(id, data) VALUES (?, ?)"),
    insertThumb: db.prepare("INSERT INTO thumbs(id, data) VALUES (?, ?)"),
    updateSequence: db.prepare(
      "UPDATE sequences SET count = ?, items = ?, first_step = ?, last_step = ?, last_time = ?, tail = ?, thumb = coalesce(?, thumb) WHERE id = ?",
    ),
  };
}

/**
 * The sequences of one open run: their summaries (kept current as objects
 * are tracked) and the objects waiting for the next flush.
 */
export class SequenceWriter {
  #sequences = new Map<string, _Sequence>();
  #dirty = new Set<_Sequence>();
  #nextId: number;
  #nextSequence: number;
  #objects = 0;
  #bytes = 0;
  /** Statements over the object tables, once they exist (committed). */
  #statements: _Statements | null = null;

  /**
   * The sequences stored in `db` (a run file of format 5, opened for
   * writing); their tables are created with the first object stored.
   */
  constructor(db: DatabaseSync) {
    this.#nextId = 1;
    this.#nextSequence = 1;
    if (!hasObjectTables(db)) return;
    this.#statements = _prepare(db);
    const next = db.prepare(
      "SELECT (SELECT coalesce(max(id), 0) + 1 FROM objects) AS object, (SELECT coalesce(max(id), 0) + 1 FROM sequences) AS sequence",
    ).get() as { object: number; sequence: number };
    this.#nextId = Number(next.object);
    this.#nextSequence = Number(next.sequence);
    for (
      const row of db.prepare(
        "SELECT id, kind, name, context, count, items, first_step, last_step, last_time, tail FROM sequences",
      ).all()
    ) {
      const sequence = new _Sequence(
        Number(row.id),
        String(row.kind) as SequenceKind,
        String(row.name),
        String(row.context),
      );
      sequence.stored = true;
      sequence.count = Number(row.count);
      sequence.items = Number(row.items);
      sequence.firstStep = row.first_step === null
        ? null
        : Number(row.first_step);
      sequence.lastStep = row.last_step === null ? null : Number(row.last_step);
      sequence.lastTime = row.last_time === null ? null : Number(row.last_time);
      sequence.tail = row.tail === null
        ? null
        : JSON.parse(String(row.tail)) as Tail;
      this.#sequences.set(
        _key(sequence.kind, sequence.name, sequence.contextKey),
        sequence,
      );
    }
  }

  /** Objects waiting for a flush. */
  get pending(): number {
    return this.#objects;
  }

  /** Bytes of payload waiting for a flush. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** The last step of a sequence (null when it has none yet). */
  lastStep(
    kind: SequenceKind,
    name: string,
    contextKey: string,
  ): number | null {
    return this.#sequences.get(_key(kind, name, contextKey))?.lastStep ?? null;
  }

  /**
   * Adds one point of a sequence: `objects` (all of `kind`, checked by the
   * caller) at `step`. Buffered until the next flush.
   */
  track(
    kind: SequenceKind,
    name: string,
    contextKey: string,
    objects: readonly TrackedObject[],
    step: number,
    epoch: number | null,
    time: number,
  ): void {
    const key = _key(kind, name, contextKey);
    let sequence = this.#sequences.get(key);
    if (sequence === undefined) {
      sequence = new _Sequence(this.#nextSequence++, kind, name, contextKey);
      this.#sequences.set(key, sequence);
    }
    const point = sequence.count++;
    if (sequence.firstStep === null) sequence.firstStep = step;
    const sameStep = sequence.tail !== null && sequence.lastStep === step;
    sequence.lastStep = step;
    sequence.lastTime = time;
    if (!sameStep) {
      sequence.tail = { step, epoch, time, objects: [] };
      if (kind === "images") sequence.thumbFrom = objects[0] as Image;
    } else {
      sequence.tail!.epoch = epoch;
      sequence.tail!.time = time;
    }
    objects.forEach((object, item) => {
      const id = this.#nextId++;
      const { meta, payload, thumb } = _describe(object);
      sequence.items++;
      const tail = sequence.tail!;
      if (tail.objects.length < TAIL_OBJECTS) {
        tail.objects.push(
          object instanceof Text
            ? { id, ...meta, excerpt: object.text.slice(0, EXCERPT) }
            : { id, ...meta },
        );
      }
      sequence.pending.push({
        id,
        step,
        epoch,
        time,
        point,
        item,
        meta: JSON.stringify(meta),
        payload,
        thumb,
      });
      this.#objects++;
      this.#bytes += payload.length + (thumb?.length ?? 0);
    });
    this.#dirty.add(sequence);
  }

  /**
   * Writes what is buffered into `db`, inside the caller's transaction;
   * nothing in memory changes until {@linkcode commit}.
   */
  write(db: DatabaseSync): SequenceWrites {
    let statements = this.#statements;
    if (statements === null) {
      // The first object of the run: its tables, in this flush's transaction.
      db.exec(OBJECT_SCHEMA);
      statements = _prepare(db);
    }
    const written: _Sequence[] = [];
    for (const sequence of this.#dirty) {
      if (!sequence.stored) {
        db.prepare(
          "INSERT INTO sequences(id, kind, name, context, count, items) VALUES (?, ?, ?, ?, 0, 0)",
        ).run(sequence.id, sequence.kind, sequence.name, sequence.contextKey);
      }
      for (const object of sequence.pending) {
        statements.insertObject.run(
          object.id,
          sequence.id,
          object.step,
          object.epoch,
          object.time,
          object.point,
          object.item,
          object.meta,
        );
        statements.insertPayload.run(object.id, object.payload);
        if (object.thumb !== null) {
          statements.insertThumb.run(object.id, object.thumb);
        }
      }
      statements.updateSequence.run(
        sequence.count,
        sequence.items,
        sequence.firstStep,
        sequence.lastStep,
        sequence.lastTime,
        sequence.tail === null ? null : JSON.stringify(sequence.tail),
        sequence.thumbFrom?.indexThumbnail() ?? null,
        sequence.id,
      );
      written.push(sequence);
    }
    return {
      sequences: written,
      objects: this.#objects,
      bytes: this.#bytes,
      statements,
    };
  }

  /** After the transaction of {@linkcode write} committed: forgets what it stored. */
  commit(writes: SequenceWrites): void {
    this.#statements = writes.statements;
    for (const sequence of writes.sequences) {
      sequence.stored = true;
      sequence.pending = [];
      sequence.thumbFrom = null;
      this.#dirty.delete(sequence);
    }
    this.#objects = 0;
    this.#bytes = 0;
  }
}

function _key(kind: string, name: string, contextKey: string): string {
  return `${kind}\u0000${name}\u0000${contextKey}`;
}

/** An object's metadata row, payload and thumbnail as stored. */
function _describe(
  object: TrackedObject,
): { meta: ObjectMeta; payload: Uint8Array; thumb: Uint8Array | null } {
  if (object instanceof Image) {
    return {
      meta: {
        format: object.format,
        width: object.width,
        height: object.height,
        bytes: object.bytes.length,
        ...(object.caption !== "" ? { caption: object.caption } : {}),
      },
      payload: object.bytes,
      thumb: object.thumbnail,
    };
  }
  if (object instanceof Distribution) {
    return {
      meta: {
        bins: object.bins,
        low: object.low,
        high: object.high,
        total: object.total,
        uniform: object.uniform,
      },
      payload: encodeDistribution(object),
      thumb: null,
    };
  }
  return {
    meta: {
      length: object.text.length,
      bytes: object.bytes.length,
      ...(object.caption !== "" ? { caption: object.caption } : {}),
    },
    payload: object.bytes,
    thumb: null,
  };
}
