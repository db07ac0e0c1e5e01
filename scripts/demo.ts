/**
 * `deno task demo`: a throw-away repository with a few dozen realistic runs
 * (finished, failed, and SIGKILLed ones left unindexed), then `aim reindex`
 * and `aim status`. The repository is kept so it can be explored.
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TRAINER = join(ROOT, "scripts", "_demo_trainer.ts");
const MAIN = join(ROOT, "main.ts");
const RUNS = 30;

function ending(i: number): "finish" | "diverge" | "hang" {
  if (i % 10 === 3) return "diverge";
  if (i % 10 === 7) return "hang";
  return "finish";
}

async function aim(...args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error(`aim ${args.join(" ")} failed with code ${out.code}`);
  }
}

const dir = await Deno.makeTempDir({ prefix: "aim-demo-" });
const repo = join(dir, ".aim");
await aim("init", "--repo", repo);
console.log(
  `\nTraining ${RUNS} pretend models (4 at a time); every tenth diverges, some get SIGKILLed...`,
);
for (let start = 0; start < RUNS; start += 4) {
  const batch = [];
  for (let i = start; i < Math.min(RUNS, start + 4); i++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", TRAINER, repo, String(i + 1), ending(i)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    batch.push((async () => {
      if (ending(i) === "hang") {
        const reader = child.stdout.pipeThrough(new TextDecoderStream())
          .getReader();
        while (!(await reader.read()).value?.includes("hung"));
        child.kill("SIGKILL");
        reader.releaseLock();
      }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    })());
  }
  await Promise.all(batch);
}
console.log(
  "\n$ aim status   # before: the SIGKILLed runs are stalled, not indexed",
);
await aim("status", "--repo", repo);
console.log("\n$ aim reindex");
await aim("reindex", "--repo", repo);
console.log("\n$ aim status");
await aim("status", "--repo", repo);
const query = 'run.status in ["failed", "crashed"]';
console.log(`\n$ aim runs ls --query '${query}'`);
await aim("runs", "ls", "--repo", repo, "--query", query);
/** How to run aim here: `aim` once `deno task install` put it on the PATH. */
const AIM = onPath("aim") ? "aim" : "deno task aim";
console.log(
  [
    "\nExplore it:",
    `  ${AIM} runs ls --repo ${repo} --query 'run.hparams.lr < 0.01' --sort=-run.hparams.lr`,
    `  ${AIM} metrics ls --repo ${repo} --query 'metric.name == "loss" and metric.last < 0.5'`,
    `  ${AIM} up --repo ${repo}     # the web UI; open the printed URL`,
    ...(AIM === "aim"
      ? []
      : ["(`deno task install` puts `aim` on your PATH.)"]),
  ].join("\n"),
);

/** Whether a command `name` is found on the PATH. */
function onPath(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return dir !== "" && Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}
