/**
 * A run as listings show it, and its JSON shape.
 *
 * @module
 */

import type { ListedRun } from "../types.ts";

/**
 * `seconds` since the epoch as ISO 8601, or null when it is no valid date
 * (a writer's clock gone wrong must not break a listing).
 */
export function isoTime(seconds: number): string | null {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * The JSON shape of a run in `aim runs ls --json` and the API. Times are ISO
 * 8601; `duration` is in seconds, up to `now` (seconds since the epoch) for
 * a run that has not ended.
 */
export function runToJson(
  run: ListedRun,
  now: number = Date.now() / 1000,
): Record<string, unknown> {
  const r = run.record;
  return {
    hash: r.hash,
    name: r.name,
    experiment: r.experiment,
    description: r.description,
    tags: r.tags,
    status: r.status,
    signal: r.signal,
    exit_code: r.exit_code,
    live: run.live,
    indexed: run.indexed,
    archived: r.archived,
    created_at: isoTime(r.created_at),
    ended_at: r.ended_at === null ? null : isoTime(r.ended_at),
    duration: (r.ended_at ?? now) - r.created_at,
    data_version: r.data_version,
    params: r.params,
    metrics: r.metrics.map((m) => ({
      name: m.name,
      context: m.context,
      count: m.count,
      first_step: m.first_step,
      last_step: m.last_step,
      last: m.last,
      min: m.min,
      max: m.max,
    })),
    sequences: (r.sequences ?? []).map((q) => ({
      kind: q.kind,
      name: q.name,
      context: q.context,
      count: q.count,
      items: q.items,
      first_step: q.first_step,
      last_step: q.last_step,
      last_time: q.last_time,
    })),
  };
}
