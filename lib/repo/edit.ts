/**
 * Changing a run from outside its writer: editing its attributes and
 * deleting it. Both hold the run's lock, so they exclude each other, the
 * indexer and a writer resuming the run (docs/ARCHITECTURE.md, "Locks").
 *
 * @module
 */

import { join } from "node:path";
import { AimError, badRequest } from "../errors.ts";
import type { RunRecord } from "../types.ts";
import { indexRun } from "../index/indexing.ts";
import { RUNS_DIR } from "../storage/layout.ts";
import { type RunLock, TRASH_PREFIX, writerOf } from "../storage/run_spaces.ts";
import type { Repo } from "./repo.ts";

/** Attributes that can be edited on a run whose writer is gone. */
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
 * Edits a run's attributes in its own space (a new data version), then
 * indexes it, holding its lock throughout. Refuses a live run (`run_live`):
 * its writer owns its attributes.
 *
 * @example Rename and tag a finished run
 * ```ts
 * import { updateRun } from "./edit.ts";
 * import { Repo } from "./repo.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const repo = await Repo.open(`${dir}/.aim`, { create: true });
 * const run = await repo.startRun({ name: "draft", tags: ["sweep"] });
 * await run.close();
 *
 * const record = updateRun(repo, run.hash, { name: "final", tags: ["sweep", "best"] });
 * console.log(record.name, record.tags); // final ["sweep", "best"]
 * console.log(repo.index().get(run.hash)?.name); // final: indexed at once
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
  const lock = _lockStalled(repo, hash);
  try {
    repo.writeRun(lock, hash, () =>
      new Map(
        Object.entries(patch).map(([key, value]) => [
          key,
          key === "tags" ? [...new Set(value as string[])] : value,
        ]),
      ));
    const outcome = indexRun(repo, hash, { heldLock: lock });
    if (outcome.kind !== "indexed") {
      throw new AimError("run_not_found", `No run ${hash} in ${repo.path}`);
    }
    return outcome.record;
  } finally {
    lock.release();
  }
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

/** The run's lock, refusing a live run with a message about editing. */
function _lockStalled(repo: Repo, hash: string): RunLock {
  try {
    return repo.lockRun(hash);
  } catch (error) {
    if (error instanceof AimError && error.code === "run_live") {
      throw new AimError(
        "run_live",
        `${error.message}: edit it when its writer has ended`,
        { cause: error },
      );
    }
    throw error;
  }
}

function _isFile(path: string): boolean {
  try {
    return !Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
