/**
 * Edits of a run's attributes made from outside its writer (the web UI, the
 * API, the CLI), live or not (docs/ARCHITECTURE.md, "Edits"). A run's
 * space keeps one writer: editors never touch `run.db`. Each edit is kept
 * beside it in `edits.json` (written whole, by rename, under `edits.lock`,
 * which only editors take), with the time it was made; every read of the
 * run's record lays the edits over what its writer stored. A field the
 * writer set after the edit (`meta.set_at`) keeps the writer's value.
 *
 * @module
 */

import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { RunRecord } from "../types.ts";
import { readRecord, RunFileError } from "./run_file.ts";

/** The file of a run's edits, in its space. */
export const EDITS_FILE = "edits.json";
/** The lock editors take while they change {@linkcode EDITS_FILE}. */
export const EDITS_LOCK = "edits.lock";

/** Attributes an edit can change. */
export const EDITABLE = ["name", "description", "tags", "archived"] as const;

/** One of {@linkcode EDITABLE}. */
export type EditableField = typeof EDITABLE[number];

/** A run's edits as stored. */
export interface RunEdits {
  /** Bumped by every edit: a reader compares it to tell whether edits came since. */
  version: number;
  /** Each edited field's latest value and when it was set (seconds since the epoch). */
  fields: Partial<Record<EditableField, { value: unknown; at: number }>>;
}

const NONE: RunEdits = { version: 0, fields: {} };

/** The edits of the run in `runDir`; none when there is no file. */
export function readEdits(runDir: string): RunEdits {
  const path = join(runDir, EDITS_FILE);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return NONE;
    throw error;
  }
  let edits: unknown;
  try {
    edits = JSON.parse(text);
  } catch (cause) {
    throw new RunFileError(`${path} is not JSON`, { cause });
  }
  if (!_isEdits(edits)) {
    throw new RunFileError(`${path} does not hold a run's edits`);
  }
  return edits;
}

/**
 * Records `patch` (already validated) as made at `at`, under the editors'
 * lock; returns the edits' new version.
 */
export function writeEdits(
  runDir: string,
  patch: Partial<Record<EditableField, unknown>>,
  at: number,
): number {
  const lock = Deno.openSync(join(runDir, EDITS_LOCK), {
    read: true,
    write: true,
    create: true,
  });
  try {
    lock.lockSync(true);
    const edits = readEdits(runDir);
    const fields = { ...edits.fields };
    for (const [key, value] of Object.entries(patch)) {
      fields[key as EditableField] = { value, at };
    }
    const next: RunEdits = { version: edits.version + 1, fields };
    // Whole or not at all: a reader sees the old file or the new one.
    const temporary = join(
      runDir,
      `${EDITS_FILE}.${crypto.randomUUID().slice(0, 8)}.tmp`,
    );
    Deno.writeTextFileSync(temporary, JSON.stringify(next));
    Deno.renameSync(temporary, join(runDir, EDITS_FILE));
    return next.version;
  } finally {
    lock.close();
  }
}

/**
 * `record` with `edits` laid over it: an edited field takes the edit's value
 * unless the writer set it later (`setAt`, from `meta.set_at`).
 */
export function applyEdits(
  record: RunRecord,
  edits: RunEdits,
  setAt: Partial<Record<string, number>>,
): RunRecord {
  const out = { ...record };
  for (const field of EDITABLE) {
    const edit = edits.fields[field];
    if (edit === undefined) continue;
    const writerAt = setAt[field];
    if (writerAt !== undefined && writerAt > edit.at) continue;
    (out as Record<string, unknown>)[field] = edit.value;
  }
  return out;
}

/**
 * The record of the run in `runDir` from its open file `db`, with its
 * edits laid over it: what every reader of a run's own space sees.
 */
export function readEditedRecord(
  db: DatabaseSync,
  hash: string,
  runDir: string,
): RunRecord {
  const record = readRecord(db, hash);
  const edits = readEdits(runDir);
  if (edits.version === 0) return record;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'set_at'").get() as
    | { value: string }
    | undefined;
  let setAt: Record<string, number> = {};
  if (row !== undefined) {
    try {
      setAt = JSON.parse(row.value);
    } catch (cause) {
      throw new RunFileError("meta.set_at is not JSON", { cause });
    }
  }
  return applyEdits(record, edits, setAt);
}

/** What each editable field's value must be. */
const _VALID: Record<EditableField, (v: unknown) => boolean> = {
  name: (v) => typeof v === "string",
  description: (v) => typeof v === "string",
  tags: (v) => Array.isArray(v) && v.every((t) => typeof t === "string"),
  archived: (v) => typeof v === "boolean",
};

function _isEdits(value: unknown): value is RunEdits {
  if (value === null || typeof value !== "object") return false;
  const { version, fields } = value as Partial<RunEdits>;
  if (typeof version !== "number" || fields === null) return false;
  if (typeof fields !== "object") return false;
  return Object.entries(fields).every(([key, edit]) =>
    (EDITABLE as readonly string[]).includes(key) && edit !== null &&
    typeof edit === "object" && typeof edit.at === "number" &&
    _VALID[key as EditableField](edit.value)
  );
}
