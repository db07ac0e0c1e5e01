/**
 * The terminal as people read it, through the real CLI: `runs ls` and
 * `metrics ls` tables (newest first, value columns, rounding, system
 * series on request), messages for common slips (no `--`, a value that
 * starts with a dash, a misspelled command or option), and warnings for a
 * query that names a param no run has.
 */

import assert from "node:assert/strict";
import type { Repo } from "../lib/mod.ts";
import { aim, tempRepo } from "./_helpers.ts";
import { ManualClock } from "./_clock.ts";

/** Four runs a minute apart: lr, a loss ending at `loss`, a system series. */
async function sweep(repo: Repo, clock: ManualClock): Promise<string[]> {
  const hashes: string[] = [];
  for (const [i, lr] of [0.001, 0.003, 0.01, 0.03].entries()) {
    clock.advance(60_000);
    const run = await repo.startRun({
      experiment: "sweep",
      name: `lr-${lr}`,
      handleSignals: false,
    });
    run.set("hparams", { lr, batch: 32, optimizer: { name: "adam" } });
    run.set("seed", 7);
    run.set("__aim", { command: ["python3", "train.py"] });
    for (let step = 0; step < 10; step++) {
      run.track(0.123456789 * (i + 1) + 1 / (step + 1), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
    }
    run.track(12.5, { name: "cpu_percent", context: { system: true } });
    await run.close();
    hashes.push(run.hash);
  }
  return hashes;
}

/** The table's lines split into cells at runs of two or more spaces. */
function cells(stdout: string): string[][] {
  return stdout.trimEnd().split("\n").map((line) => line.split(/ {2,}/));
}

Deno.test("runs ls lists newest first, with the params that differ and the last loss, rounded; --json keeps every digit", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  const hashes = await sweep(repo, clock);
  const out = await aim(["runs", "ls", "--repo", repo.path]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  const [header, ...rows] = cells(out.stdout);
  assert.deepEqual(header, [
    "HASH",
    "STATUS",
    "INDEXED",
    "EXPERIMENT",
    "NAME",
    "CREATED (UTC)",
    "hparams.lr",
    "loss{subset=train}.last",
  ], "params equal in every run (batch, seed) and __aim are left out");
  assert.deepEqual(
    rows.map((row) => row[0]),
    [...hashes].reverse(),
    "newest first",
  );
  assert.deepEqual(rows.map((row) => row.slice(6)), [
    ["0.03", "0.5938"],
    ["0.01", "0.4704"],
    ["0.003", "0.3469"],
    ["0.001", "0.2235"],
  ]);
  // Numbers line up on the right: every row ends at the same column.
  const widths = new Set(out.stdout.trimEnd().split("\n").map((l) => l.length));
  assert.equal(widths.size, 1, out.stdout);

  const oldest = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--sort",
    "run.created_at",
  ]);
  assert.deepEqual(cells(oldest.stdout).slice(1).map((r) => r[0]), hashes);

  const json = JSON.parse(
    (await aim(["runs", "ls", "--repo", repo.path, "--json"])).stdout,
  );
  assert.deepEqual(
    json.map((r: { hash: string }) => r.hash),
    [...hashes].reverse(),
  );
  assert.equal(json[0].metrics[0].last, 0.123456789 * 4 + 0.1);
  assert.equal("columns" in json[0], false);
});

Deno.test("runs ls shows what --sort and --query name; --columns takes run expressions, comma-separated or repeated", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  await sweep(repo, clock);
  const sorted = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--sort=-run.seed",
    "--query",
    'run.hparams.optimizer.name == "adam" and run.metrics["loss", {"subset": "train"}].min < 1',
  ]);
  assert.equal(sorted.code, 0, sorted.stderr);
  assert.deepEqual(cells(sorted.stdout)[0]!.slice(6), [
    "seed",
    "hparams.optimizer.name",
    "loss{subset=train}.min",
    "loss{subset=train}.last",
  ]);
  const chosen = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--columns",
    'run.hparams.batch, run.metrics["loss", {"subset": "train"}].count',
    "--columns",
    "run.hparams.lr * 1000",
    "--limit",
    "1",
  ]);
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.deepEqual(cells(chosen.stdout), [
    [
      "HASH",
      "STATUS",
      "INDEXED",
      "EXPERIMENT",
      "NAME",
      "CREATED (UTC)",
      "hparams.batch",
      "loss{subset=train}.count",
      "hparams.lr * 1000",
    ],
    [
      cells(chosen.stdout)[1]![0]!,
      "finished",
      "yes",
      "sweep",
      "lr-0.03",
      cells(chosen.stdout)[1]![5]!,
      "32",
      "10",
      "30",
    ],
  ]);
  // A param path or a series may leave out run.
  const short = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--columns",
    'hparams.lr, metric["loss", {"subset": "train"}].max',
    "--limit",
    "1",
  ]);
  assert.deepEqual(cells(short.stdout).map((row) => row.slice(6)), [
    ["hparams.lr", "loss{subset=train}.max"],
    ["0.03", "1.494"],
  ]);
  const json = JSON.parse(
    (await aim([
      "runs",
      "ls",
      "--repo",
      repo.path,
      "--json",
      "--columns",
      'run.metrics["loss", {"subset": "train"}].last,hparams.lr',
      "--limit",
      "1",
    ])).stdout,
  );
  assert.deepEqual(json[0].columns, {
    'run.metrics["loss", {"subset": "train"}].last': 0.123456789 * 4 + 0.1,
    "hparams.lr": 0.03,
  });
  for (
    const [columns, pattern] of [
      [
        "run.hparams.lr <",
        /--columns "run\.hparams\.lr <": expected an operand/,
      ],
      [
        "hparams.lr <",
        /--columns "hparams\.lr <" \(read as run\.hparams\.lr <\): expected an operand/,
      ],
      ["metric.last", /--columns "metric\.last" mentions metric/],
    ] as const
  ) {
    const bad = await aim([
      "runs",
      "ls",
      "--repo",
      repo.path,
      "--columns",
      columns,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, pattern);
  }
});

Deno.test("metrics ls: an aligned table with the run's name and rounded values; system series only with --system", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  const hashes = await sweep(repo, clock);
  const out = await aim(["metrics", "ls", "--repo", repo.path]);
  assert.equal(out.code, 0, out.stderr);
  const [header, ...rows] = cells(out.stdout);
  assert.deepEqual(header, [
    "HASH",
    "RUN",
    "METRIC",
    "CONTEXT",
    "COUNT",
    "LAST",
    "MIN",
    "MAX",
    "LAST STEP",
  ]);
  assert.deepEqual(rows[0], [
    hashes[3],
    "lr-0.03",
    "loss",
    "subset=train",
    "10",
    "0.5938",
    "0.5938",
    "1.494",
    "9",
  ]);
  assert.equal(rows.length, 4, "no system series");
  const widths = new Set(out.stdout.trimEnd().split("\n").map((l) => l.length));
  assert.equal(widths.size, 1, out.stdout);

  const all = await aim(["metrics", "ls", "--repo", repo.path, "--system"]);
  const system = cells(all.stdout).filter((row) => row[2] === "cpu_percent");
  assert.equal(system.length, 4);
  assert.equal(system[0]![3], "system=true");
  const named = await aim([
    "metrics",
    "ls",
    "--repo",
    repo.path,
    "--query",
    "metric.context.system == True",
  ]);
  assert.equal(cells(named.stdout).length - 1, 4, "a query about it shows it");

  const hidden = await aim([
    "metrics",
    "ls",
    "--repo",
    repo.path,
    "--query",
    'metric.name == "cpu_percent"',
  ]);
  assert.equal(hidden.code, 0);
  assert.match(hidden.stdout, /\(no series\)/);
  assert.match(
    hidden.stderr,
    /note: 4 system metric series match: add --system to list them/,
  );
  const json = JSON.parse(
    (await aim(["metrics", "ls", "--repo", repo.path, "--json"])).stdout,
  );
  assert.equal(json[0].last, 0.123456789 * 4 + 0.1);
  assert.equal(json[0].run_name, "lr-0.03");
});

Deno.test("common slips get the line to write: -- before aim run's command, a dash value joined with =, and did you mean", async () => {
  await using repo = await tempRepo();
  for (
    const [args, message] of [
      [
        ["run", "--name", "a b", "python3", "train.py", "--epochs", "3"],
        "error: put -- before the command, so that its own options are not read as aim's: aim run --name 'a b' -- python3 train.py --epochs 3",
      ],
      [
        ["runs", "ls", "--sort", "-run.hparams.lr"],
        `error: --sort's value "-run.hparams.lr" starts with a dash, so it reads as an option: write it joined with =, as in --sort=-run.hparams.lr`,
      ],
      [
        ["runs", "ls", "--limit", "-1"],
        "error: --limit must be 0 or more, got -1",
      ],
      [
        ["runs", "ls", "--limit=-1"],
        'error: --limit must be a non-negative integer, got "-1"',
      ],
      [["rnus", "ls"], 'error: unknown command "rnus": did you mean runs?'],
      [["runs", "lss"], 'error: unknown subcommand "lss": did you mean ls?'],
      [
        ["metrics", "ls", "--qurey", "x"],
        "error: Unknown option '--qurey': did you mean --query?",
      ],
    ] as const
  ) {
    const out = await aim([...args], { env: { AIM_REPO: repo.path } });
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.equal(out.stderr.split("\n")[0], message);
    assert.match(out.stderr, /Run 'aim[^']*--help' for usage\./);
    assert.equal(out.stdout, "");
  }
  assert.deepEqual(repo.listRuns(), [], "aim run started nothing");
});

Deno.test("a query or sort naming a param no run has warns on stderr with the closest names; the answer is unchanged", async () => {
  const clock = new ManualClock();
  await using repo = await tempRepo({ clock });
  await sweep(repo, clock);
  const typo = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--json",
    "--query",
    'run.hparms.lr < 0.01 or run.stauts == "failed"',
    "--sort=-run.hparams.l",
  ]);
  assert.equal(typo.code, 0, typo.stderr);
  assert.deepEqual(JSON.parse(typo.stdout), []);
  assert.deepEqual(typo.stderr.trimEnd().split("\n"), [
    "warning: --query: No run has a param run.hparms.lr, so it is None in every run: did you mean run.hparams.lr?",
    "warning: --query: No run has a param run.stauts, so it is None in every run: did you mean run.status?",
    "warning: --sort: No run has a param run.hparams.l, so it is None in every run: did you mean run.hparams.lr?",
  ]);
  const fine = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--query",
    "run.hparams.lr < 0.01",
  ]);
  assert.equal(fine.stderr, "");
  const metrics = await aim([
    "metrics",
    "ls",
    "--repo",
    repo.path,
    "--query",
    'metric.name == "loss" and run.sed == 7',
  ]);
  assert.match(
    metrics.stderr,
    /warning: --query: No run has a param run\.sed, .*did you mean run\.seed\?/,
  );
});
