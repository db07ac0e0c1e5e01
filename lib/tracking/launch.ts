/**
 * What a run records about how it was launched (the `__aim` param of `aim
 * run`): command, working folder, host, user, git state, and the SLURM and
 * CUDA environment.
 *
 * @module
 */

import { userInfo } from "node:os";
import type { ParamValue } from "../types.ts";
import { hostName } from "../storage/liveness.ts";

/** Longest wait for git, in milliseconds (a huge work tree must not delay the start much). */
const GIT_TIMEOUT = 3_000;

/** What `__aim` holds besides the child's pid. */
export async function launchInfo(
  command: string[],
): Promise<Record<string, ParamValue>> {
  const cwd = Deno.cwd();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(Deno.env.toObject()).sort()) {
    if (key.startsWith("SLURM_") || key === "CUDA_VISIBLE_DEVICES") {
      env[key] = value;
    }
  }
  const git = await _git(cwd);
  return {
    command,
    cwd,
    host: hostName(),
    user: _user(),
    ...(git !== null ? { git } : {}),
    env,
  };
}

/** Commit, branch, dirty flag and root of the git work tree holding `cwd`, or `null`. */
async function _git(cwd: string): Promise<Record<string, ParamValue> | null> {
  const git = async (args: string[]): Promise<string | null> => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        // Never take index.lock: the user may be running git at the same time.
        env: { GIT_OPTIONAL_LOCKS: "0" },
        signal: AbortSignal.timeout(GIT_TIMEOUT),
      }).output();
      return out.success ? new TextDecoder().decode(out.stdout) : null;
    } catch {
      return null; // no git, or too slow
    }
  };
  const [head, status] = await Promise.all([
    git(["rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD"]),
    git(["status", "--porcelain", "--untracked-files=no"]),
  ]);
  if (head === null) return null;
  const [root, commit, branch] = head.trim().split("\n");
  if (!commit) return null;
  return {
    commit,
    branch: branch === "HEAD" || branch === undefined ? null : branch,
    // Untracked files do not count, as for `git describe --dirty`; null when git status timed out.
    dirty: status === null ? null : status.trim() !== "",
    root: root ?? null,
  };
}

function _user(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid with no passwd entry, as in some containers.
    return Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ??
      String(Deno.uid());
  }
}
