/**
 * Local versus network filesystem: decides the SQLite journal mode and how
 * liveness is judged (docs/ARCHITECTURE.md, "Network filesystems").
 *
 * @module
 */

import { AimError } from "../errors.ts";

/** `local` uses WAL; `network` uses a rollback journal and heartbeats. */
export type FsMode = "local" | "network";

const NETWORK_TYPES = new Set([
  "nfs",
  "nfs4",
  "lustre",
  "gpfs",
  "beegfs",
  "cifs",
  "smb3",
  "smbfs",
  "ceph",
  "fuse.sshfs",
  "fuse.glusterfs",
  "glusterfs",
  "9p",
]);

/**
 * The mode for a path: `AIM_FS_MODE=local|network` overrides; otherwise the
 * filesystem type of the longest mount point containing `path`, read from
 * `/proc/self/mountinfo` (no file there: local).
 */
export function detectFsMode(path: string): FsMode {
  const forced = Deno.env.get("AIM_FS_MODE");
  if (forced === "local" || forced === "network") return forced;
  if (forced) {
    throw new AimError(
      "bad_request",
      `AIM_FS_MODE must be "local" or "network", not ${JSON.stringify(forced)}`,
    );
  }
  let mountinfo: string;
  try {
    mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return "local";
  }
  const type = mountTypeOf(Deno.realPathSync(path), mountinfo);
  return type !== null && NETWORK_TYPES.has(type) ? "network" : "local";
}

/** The filesystem type of the longest mount point in `mountinfo` that contains `path`. */
export function mountTypeOf(path: string, mountinfo: string): string | null {
  let best = "";
  let bestType: string | null = null;
  for (const line of mountinfo.split("\n")) {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superopts
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    const mountPoint = fields[4];
    const type = fields[dash + 1];
    if (dash < 0 || mountPoint === undefined || type === undefined) continue;
    const point = _unescapeMount(mountPoint);
    const inside = point === "/" ||
      path === point || path.startsWith(point + "/");
    if (inside && point.length >= best.length) {
      best = point;
      bestType = type;
    }
  }
  return bestType;
}

function _unescapeMount(text: string): string {
  return text.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}
