/**
 * Where a repository lives and what is inside it (docs/ARCHITECTURE.md,
 * "Repository layout"): `VERSION`, `runs/<hash>/` (with `run.db`, `lock`,
 * `heartbeat`), `progress/<hash>` markers and `index.db`. Every part names
 * these paths through this module.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { AimError } from "../errors.ts";

/** On-disk format version this aim writes and reads up to. */
export const FORMAT_VERSION = 1;

/** The format version file at the repository's top. */
export const VERSION_FILE = "VERSION";
/** The folder of run spaces, one `<hash>/` each. */
export const RUNS_DIR = "runs";
/** The folder of unindexed markers, one empty file `<hash>` each. */
export const PROGRESS_DIR = "progress";
/** The repository's SQLite index. */
export const INDEX_DB = "index.db";
/** The run's database inside its space. */
export const RUN_DB = "run.db";
/** The file a writer holds locked for its lifetime, inside the run's space. */
export const LOCK_FILE = "lock";
/** The writer's heartbeat (host, pid, time), inside the run's space. */
export const HEARTBEAT_FILE = "heartbeat";

/** Run hashes: lower-case hex, 8 to 64 characters; anything else is refused. */
export const HASH_PATTERN = /^[0-9a-f]{8,64}$/;

/**
 * Returns `hash` when it looks like a run hash; refuses anything else (so
 * no path can be smuggled in) with `AimError` `bad_hash`.
 */
export function validateHash(hash: string): string {
  if (typeof hash !== "string" || !HASH_PATTERN.test(hash)) {
    throw new AimError(
      "bad_hash",
      `Invalid run hash ${
        JSON.stringify(String(hash).slice(0, 80))
      }: a run hash is 8 to 64 lower-case hex characters`,
    );
  }
  return hash;
}

/** A new random run hash: 20 hex characters. */
export function newHash(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The repository folder `path` designates: a path that ends in `.aim` or
 * holds a `VERSION` file is the repository itself; any other path means its
 * `.aim` subfolder.
 */
export function repoPathFor(path: string): string {
  const full = resolve(path);
  if (basename(full) === ".aim" || _isFile(join(full, VERSION_FILE))) {
    return full;
  }
  return join(full, ".aim");
}

/**
 * Finds the repository like git: `explicit` (from `--repo`), then `AIM_REPO`,
 * then the nearest `.aim` upward from `cwd`.
 */
export function discoverRepo(explicit?: string, cwd = Deno.cwd()): string {
  const given = explicit ?? Deno.env.get("AIM_REPO");
  if (given !== undefined && given !== "") {
    const path = repoPathFor(given);
    if (!_isFile(join(path, VERSION_FILE))) {
      throw new AimError(
        "repo_not_found",
        `No aim repository at ${path}: run \`aim init --repo ${given}\` to create one`,
      );
    }
    return path;
  }
  let dir = resolve(cwd);
  while (true) {
    const candidate = join(dir, ".aim");
    if (_isFile(join(candidate, VERSION_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new AimError(
    "repo_not_found",
    `No aim repository found in ${
      resolve(cwd)
    } or any parent: run \`aim init\`, pass --repo PATH or set AIM_REPO`,
  );
}

/** Creates the repository at `path` (see {@linkcode repoPathFor}); returns whether it was new. */
export function initRepo(path: string): { path: string; created: boolean } {
  const repo = repoPathFor(path);
  if (_isFile(join(repo, VERSION_FILE))) {
    checkVersion(repo);
    return { path: repo, created: false };
  }
  try {
    Deno.mkdirSync(join(repo, RUNS_DIR), { recursive: true });
    Deno.mkdirSync(join(repo, PROGRESS_DIR), { recursive: true });
    // Written last and atomically: a folder without VERSION is not a repository yet.
    const tmp = join(repo, `${VERSION_FILE}.${Deno.pid}.tmp`);
    Deno.writeTextFileSync(tmp, `${FORMAT_VERSION}\n`);
    Deno.renameSync(tmp, join(repo, VERSION_FILE));
  } catch (cause) {
    throw new AimError(
      "repo_not_found",
      `Cannot create a repository at ${repo}: ${
        cause instanceof Error ? cause.message : cause
      }`,
      { cause },
    );
  }
  return { path: repo, created: true };
}

/** Throws unless the repository's format version is one this aim reads. */
export function checkVersion(repo: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(repo, VERSION_FILE)).trim();
  } catch (cause) {
    throw new AimError(
      "repo_not_found",
      `No aim repository at ${repo}: ${VERSION_FILE} is missing`,
      { cause },
    );
  }
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1) {
    throw new AimError(
      "repo_version",
      `Cannot open repository ${repo}: ${VERSION_FILE} holds ${
        JSON.stringify(text)
      }, not a format version`,
    );
  }
  if (version > FORMAT_VERSION) {
    throw new AimError(
      "repo_version",
      `Cannot open repository ${repo} as its format version is ${version}: this aim reads up to ${FORMAT_VERSION}`,
    );
  }
}

function _isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
