/**
 * Helper process of the storage benchmark: creates runs with params and
 * series, flushes them, prints `done` and waits. The benchmark then SIGKILLs
 * it, which leaves every run stalled: data flushed, marker present, writer
 * gone (lock released, pid dead), not indexed.
 *
 * Usage: `deno run -A scripts/_bench_stalled_writer.ts '{"repo":…,"runs":…,
 * "params":…,"series":…,"points":…}'`. Reads stdin until it closes, so a
 * benchmark that dies does not leave it behind.
 *
 * @module
 */

import { Repo } from "../lib/mod.ts";
import type { ParamValue } from "../lib/mod.ts";

/** What to generate. */
export interface StalledSpec {
  /** The repository folder (`…/.aim`); must exist. */
  repo: string;
  runs: number;
  /** Param leaves per run, nested under `hparams` in groups of 10. */
  params: number;
  /** Series per run, each with context `{subset: "train"}`. */
  series: number;
  /** Points per series. */
  points: number;
}

/** `count` param leaves of mixed types, nested two levels under their groups. */
export function nestedParams(
  count: number,
  seed: number,
): { [key: string]: ParamValue } {
  const root: { [key: string]: { [key: string]: ParamValue } } = {};
  for (let i = 0; i < count; i++) {
    const group = (root[`group_${Math.floor(i / 10)}`] ??= {});
    const key = `key_${i % 10}`;
    const kind = i % 4;
    group[key] = kind === 0
      ? seed * 1e-4 + i
      : kind === 1
      ? `value-${(seed + i) % 7}`
      : kind === 2
      ? (seed + i) % 2 === 0
      : Math.floor(seed / (i + 1));
  }
  return root;
}

async function main(spec: StalledSpec): Promise<void> {
  const repo = Repo.openSync(spec.repo);
  const names = Array.from({ length: spec.series }, (_, i) => `metric_${i}`);
  const context = { subset: "train" };
  const runs = [];
  for (let r = 0; r < spec.runs; r++) {
    const run = await repo.startRun({
      experiment: "bench",
      name: `stalled-${r}`,
      tags: ["bench"],
    });
    run.set("hparams", nestedParams(spec.params, r));
    run.set("seed", r);
    for (let p = 0; p < spec.points; p++) {
      for (const name of names) run.track(Math.random(), { name, context });
    }
    run.flush();
    runs.push(run);
  }
  console.log("done");
  // Wait for SIGKILL; a closed stdin (the benchmark is gone) ends the wait.
  for await (const _ of Deno.stdin.readable) {
    // Nothing to read; only the end matters.
  }
}

if (import.meta.main) {
  await main(JSON.parse(Deno.args[0] ?? "{}") as StalledSpec);
}
