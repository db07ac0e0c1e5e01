/**
 * Changing a run from outside its writer: editing its attributes (recorded
 * beside the run, so a live run can be edited too) and deleting it (under
 * the run's lock, so that it excludes the indexer and a writer resuming the
 * run: docs/ARCHITECTURE.md, "Locks" and "Edits").
 *
 * @module
 */

import { join } from "node:path";
import { AimError, badRequest, writeFailure } from "../errors.ts";
import type { RunRecord } from "../types.ts";
import { indexRun } from "../index/indexing.ts";
import { RUNS_DIR } from "../storage/layout.ts";
import { type RunLock, TRASH_PREFIX, writerOf } from "../storage/run_spaces.ts";
import { writeEdits } from "../storage/run_edits.ts";
import type { Repo } from "./repo.ts";

/** Attributes that can be edited on a run, live or not. */
export interface RunPatch {
  /** New name; unchanged when absent. */
  name?: string;
  /** New description; unchanged when absent. */
  description?: string;
  /** New tags, replacing all old ones (non-empty strings; duplicates dropped). */
  tags?: string[];
  /** Archive or unarchive the run; unchanged when absent. */
  archived?: boolean;
}

const _CHECKS: [keyof RunPatch, (v: unknown) => boolean, string][] = [
  ["name", (v) => typeof v === "string", "a string"],
  ["description", (v) => typeof v === "string", "a string"],
  [
    "tags",
    (v) =>
      Array.isArray(v) && v.every((t) => typeof t === "string" && t !== ""),
    "an array of non-empty strings",
  ],
  ["archived", (v) => typeof v === "boolean", "true or false"],
];

/**
 * Checks an edit from a person or another program; throws `AimError`
 * `bad_request` naming the field and the rule.
 */
export function validatePatch(patch: unknown): RunPatch {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
    throw badRequest("An edit must be a JSON object");
  }
  for (const [key, value] of Object.entries(patch)) {
    const check = _CHECKS.find(([name]) => name === key);
    if (check === undefined) {
      throw badRequest(
        `Cannot edit ${
          JSON.stringify(key)
        }: editable are name, description, tags, archived`,
      );
    }
    if (!check[1](value)) throw badRequest(`${key} must be ${check[2]}`);
  }
  return patch as RunPatch;
}

/**
 * Edits a run's attributes, live or not: the edit is recorded beside the
 * run (`edits.json`, see `storage/run_edits.ts`), never in the file its
 * writer owns, and laid over every read of it. A run that is not live is
 * indexed again at once; a live one is marked, and indexed when its writer
 * finalizes it (or, stalled, by the indexer), with the edit.
 *
 * @example Tag a run while it trains
 * ```ts
 * import { updateRun } from "./edit.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "draft", tags: ["sweep"] });
 * run.track(0.5, { name: "loss" });
 *
 * const live = updateRun(repo, run.hash, { tags: ["sweep", "promising"] });
 * console.log(live.tags); // ["sweep", "promising"]
 * await run.close();
 * console.log(repo.index().get(run.hash)?.tags); // ["sweep", "promising"]
 *
 * const record = updateRun(repo, run.hash, { name: "final" });
 * console.log(record.name, repo.index().get(run.hash)?.name); // final final
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function updateRun(
  repo: Repo,
  hash: string,
  patch: RunPatch,
): RunRecord {
  validatePatch(patch);
  const dir = repo.runDir(hash);
  if (!_isDirectory(dir)) {
    throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
  }
  const changes = Object.fromEntries(
    Object.entries(patch).map(([key, value]) => [
      key,
      key === "tags" ? [...new Set(value as string[])] : value,
    ]),
  );
  try {
    writeEdits(dir, changes, repo.clock.now() / 1000);
  } catch (error) {
    throw writeFailure(error, `the edits of run ${hash}`) ?? error;
  }
  // After the edit is written: an indexer that read the run before it sees
  // the mark and indexes it again.
  repo.touchMarker(hash);
  const outcome = indexRun(repo, hash, { lockWaitMs: 2_000 });
  if (outcome.kind === "indexed") return outcome.record;
  if (outcome.kind === "missing") {
    throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
  }
  // Live: its writer indexes it, edits included, when it finalizes.
  return repo.loadRun(hash).record;
}

/**
 * Deletes a run: its space, its marker and its index rows, holding its lock
 * so that no indexing interleaves. Refuses a live run unless `force`. A
 * delete is complete or not done: the marker is made first (so the run
 * stays listed, unindexed, if the process dies here), then the index rows
 * go, then the space is renamed out of sight in one step and removed.
 *
 * @example A live run needs force
 * ```ts
 * import { AimError } from "../errors.ts";
 * import { removeRun } from "./edit.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun();
 * try {
 *   removeRun(repo, run.hash);
 * } catch (error) {
 *   console.log(error instanceof AimError && error.code); // run_live
 * }
 * await run.close();
 * removeRun(repo, run.hash);
 * console.log(repo.listRuns(), repo.index().get(run.hash)); // [] null
 * repo.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function removeRun(
  repo: Repo,
  hash: string,
  options: { force?: boolean } = {},
): void {
  const dir = repo.runDir(hash);
  // A file named like a run is junk, not a run: removed as it is.
  if (_isFile(dir)) return Deno.removeSync(dir);
  let lock: RunLock | null = null;
  try {
    lock = repo.lockRun(hash);
  } catch (error) {
    if (!(error instanceof AimError) || error.code !== "run_live") throw error;
    if (!repo.isLive(hash)) throw error; // busy for a moment, not live
    if (!options.force) {
      throw new AimError(
        "run_live",
        `Run ${hash} is live (${
          writerOf(dir)
        } is writing it): stop it first or pass --force`,
        { cause: error },
      );
    }
  }
  try {
    repo.touchMarker(hash);
    repo.index().remove(hash);
    const trash = join(
      repo.path,
      RUNS_DIR,
      `${TRASH_PREFIX}${hash}.${crypto.randomUUID().slice(0, 8)}`,
    );
    Deno.renameSync(dir, trash);
    repo.removeMarker(hash);
    lock?.release();
    try {
      Deno.removeSync(trash, { recursive: true });
    } catch {
      // Out of sight already; a later reindex sweeps what is left.
    }
  } finally {
    lock?.release();
  }
}

function _isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function _isFile(path: string): boolean {
  try {
    return !Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
