/**
 * Is a run's writer still alive? A writer holds `lock` in its run space and
 * rewrites `heartbeat` on an interval (docs/ARCHITECTURE.md, "Liveness").
 *
 * @module
 */

import { hostname } from "node:os";
import { join } from "node:path";
import { AimError } from "../errors.ts";
import type { FsMode } from "../util/fs_mode.ts";
import { HEARTBEAT_FILE, LOCK_FILE } from "./layout.ts";
import { MAX_TIME } from "./run_file.ts";

/** What a writer says about itself, rewritten every heartbeat interval. */
export interface Heartbeat {
  /** Host name of the writer ({@linkcode hostName}). */
  host: string;
  /** Kernel boot id: the same pid after a reboot is another process. */
  boot_id: string;
  /** Process id of the writer on its host. */
  pid: number;
  /** Process start time in clock ticks since boot (`/proc/PID/stat` field 22). */
  pid_start: string;
  /** Seconds since the epoch. */
  time: number;
  /** Written by the last heartbeat of a finalized writer: the run is no longer live. */
  ended?: boolean;
}

/** Seconds between heartbeats (`AIM_HEARTBEAT_INTERVAL`, default 10). */
export function heartbeatInterval(): number {
  return _positiveEnv("AIM_HEARTBEAT_INTERVAL", 10);
}

/**
 * Seconds after which another host's silent writer counts as gone
 * (`AIM_HEARTBEAT_TIMEOUT`, default 120: generous, since clocks and caches
 * of a shared filesystem drift).
 */
export function heartbeatTimeout(): number {
  return _positiveEnv("AIM_HEARTBEAT_TIMEOUT", 120);
}

/** This host's name; `AIM_HOSTNAME` overrides it so tests can play another host. */
export function hostName(): string {
  return Deno.env.get("AIM_HOSTNAME") ?? hostname();
}

let _bootId: string | undefined;

function bootId(): string {
  if (_bootId === undefined) {
    try {
      _bootId = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
    } catch {
      _bootId = "";
    }
  }
  return _bootId;
}

/** Start time of process `pid`, or `null` when no such process exists. */
export function processStart(pid: number): string | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name in field 2 may hold spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}

/** The heartbeat this process writes now; `ended` for a finalized writer's last one. */
export function currentHeartbeat(ended = false): Heartbeat {
  return {
    host: hostName(),
    boot_id: bootId(),
    pid: Deno.pid,
    pid_start: processStart(Deno.pid) ?? "",
    time: Date.now() / 1000,
    ...(ended ? { ended: true } : {}),
  };
}

/** Writes the heartbeat atomically (temp file, then rename). */
export function writeHeartbeat(runDir: string, ended = false): void {
  const tmp = join(runDir, `${HEARTBEAT_FILE}.${Deno.pid}.tmp`);
  Deno.writeTextFileSync(tmp, JSON.stringify(currentHeartbeat(ended)));
  Deno.renameSync(tmp, join(runDir, HEARTBEAT_FILE));
}

/** The run's last heartbeat, or `null` when it has none or it is unreadable. */
export function readHeartbeat(runDir: string): Heartbeat | null {
  try {
    const value = JSON.parse(
      Deno.readTextFileSync(join(runDir, HEARTBEAT_FILE)),
    );
    if (
      typeof value?.host === "string" && typeof value?.pid === "number" &&
      typeof value?.time === "number"
    ) {
      return value as Heartbeat;
    }
  } catch {
    // A missing or half-written heartbeat tells nothing.
  }
  return null;
}

/**
 * Whether the run's writer is alive. A finalized writer's last heartbeat
 * says it ended. Same host: its process exists (same pid and start time).
 * Another host: its heartbeat is fresher than {@linkcode heartbeatTimeout}.
 *
 * On a local filesystem a held lock also means live (it is what a writer in
 * another container of the same kernel shows), except when the heartbeat
 * names a process of this host that is gone or a writer that ended: then
 * the holder is someone indexing, editing or deleting the stalled run for a
 * moment (see `RunSpaces.lockRun`).
 */
export function isLive(runDir: string, mode: FsMode): boolean {
  const beat = readHeartbeat(runDir);
  const local = beat !== null && beat.host === hostName() &&
    beat.boot_id === bootId();
  const writerGone = beat !== null &&
    (beat.ended === true ||
      (local && processStart(beat.pid) !== beat.pid_start));
  if (mode === "local" && !writerGone && lockHeldIn(runDir)) return true;
  if (beat === null || writerGone) return false;
  if (local) return true;
  return Date.now() / 1000 - beat.time < heartbeatTimeout();
}

/**
 * Whether someone holds the lock file in `dir` (a run's writer, or a run
 * being created or deleted). Needs a filesystem whose locks work (local).
 */
export function lockHeldIn(dir: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(join(dir, LOCK_FILE), { read: true });
  } catch {
    return false;
  }
  try {
    const acquired = file.tryLockSync(true);
    if (acquired) file.unlockSync();
    return !acquired;
  } finally {
    file.close();
  }
}

function _positiveEnv(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!(value > 0)) {
    throw new AimError(
      "bad_request",
      `${name} must be a positive number of seconds, not ${
        JSON.stringify(text)
      }`,
    );
  }
  return value;
}

/**
 * When a crashed run ended, as far as anyone can tell: its last heartbeat or
 * its last tracked point, whichever is later (seconds since the epoch).
 */
export function crashEndTime(
  runDir: string,
  record: { created_at: number; metrics: { last_time: number | null }[] },
): number {
  let end = readHeartbeat(runDir)?.time ?? record.created_at;
  for (const series of record.metrics) {
    // A point stamped in the far future by a bad clock is no sign of life.
    if (
      series.last_time !== null && series.last_time > end &&
      series.last_time <= MAX_TIME
    ) {
      end = series.last_time;
    }
  }
  return end;
}
