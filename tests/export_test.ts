import assert from "node:assert/strict";
import { join } from "node:path";
import { aim, tempRepo } from "./_helpers.ts";
import type { Repo } from "../lib/mod.ts";

/** Parses CSV as written by aim (quoted cells may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"', i++);
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") (row.push(cell), cell = "");
    else if (c === "\n") (row.push(cell), rows.push(row), row = [], cell = "");
    else cell += c;
  }
  return rows;
}

async function seed(repo: Repo): Promise<[string, string]> {
  const first = await repo.startRun({
    experiment: "exp",
    name: 'a "quoted", name\nover two lines',
    tags: ["best", "x"],
  });
  first.set("hparams", { lr: 0.01, layers: [64, 64], opt: { name: "adam" } });
  first.set("name", "a param named like a column");
  first.set("odd", NaN);
  for (let step = 0; step < 1000; step++) {
    first.track(step === 500 ? 100 : step / 1000, {
      name: "loss",
      step,
      epoch: Math.floor(step / 100),
      context: { subset: "train" },
    });
  }
  first.track(0.5, { name: "acc", step: 0 });
  await first.close();
  const second = await repo.startRun({ experiment: "exp", name: "second" });
  second.set("hparams", { lr: 0.1 });
  second.track(Infinity, { name: "acc", step: 3 });
  await second.close();
  return [first.hash, second.hash];
}

Deno.test("aim runs export writes CSV with params as dotted paths and series summaries, and JSON lines as runs ls --json", async () => {
  await using repo = await tempRepo();
  const [first, second] = await seed(repo);
  const csv = await aim(["runs", "export", "--repo", repo.path]);
  assert.equal(csv.code, 0, csv.stderr);
  const [header, ...rows] = parseCsv(csv.stdout);
  assert.deepEqual(header!.slice(0, 15), [
    "hash",
    "name",
    "experiment",
    "description",
    "tags",
    "status",
    "signal",
    "exit_code",
    "live",
    "indexed",
    "archived",
    "created_at",
    "ended_at",
    "duration",
    "data_version",
  ]);
  assert.deepEqual(header!.slice(15), [
    "hparams.layers",
    "hparams.lr",
    "hparams.opt.name",
    "params.name",
    "odd",
    'metrics.loss{"subset":"train"}.last',
    'metrics.loss{"subset":"train"}.min',
    'metrics.loss{"subset":"train"}.max',
    'metrics.loss{"subset":"train"}.count',
    'metrics.loss{"subset":"train"}.last_step',
    "metrics.acc.last",
    "metrics.acc.min",
    "metrics.acc.max",
    "metrics.acc.count",
    "metrics.acc.last_step",
  ]);
  assert.equal(rows.length, 2);
  const cell = (row: string[], column: string) => row[header!.indexOf(column)];
  const [a, b] = rows as [string[], string[]];
  assert.equal(cell(a, "hash"), first);
  assert.equal(cell(a, "name"), 'a "quoted", name\nover two lines');
  assert.equal(cell(a, "tags"), '["best","x"]');
  assert.equal(cell(a, "status"), "finished");
  assert.equal(cell(a, "hparams.layers"), "[64,64]");
  assert.equal(cell(a, "hparams.lr"), "0.01");
  assert.equal(cell(a, "params.name"), "a param named like a column");
  assert.equal(cell(a, "odd"), "NaN");
  assert.equal(cell(a, 'metrics.loss{"subset":"train"}.max'), "100");
  assert.equal(cell(a, 'metrics.loss{"subset":"train"}.count'), "1000");
  assert.equal(cell(b, "hash"), second);
  assert.equal(cell(b, "hparams.opt.name"), "", "a param the run lacks");
  assert.equal(cell(b, "metrics.acc.last"), "Infinity");
  assert.equal(cell(b, "metrics.acc.last_step"), "3");

  const jsonl = await aim([
    "runs",
    "export",
    "--repo",
    repo.path,
    "--format",
    "jsonl",
    "--query",
    "run.hparams.lr > 0.05",
  ]);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  const ls = await aim([
    "runs",
    "ls",
    "--repo",
    repo.path,
    "--json",
    "--query",
    "run.hparams.lr > 0.05",
  ]);
  const lines = jsonl.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  const listed = JSON.parse(ls.stdout);
  for (const run of [...lines, ...listed]) delete run.duration;
  assert.deepEqual(lines, listed);
});

Deno.test("aim metrics export writes every point, or downsampled buckets, of the matching series as CSV or JSON lines", async () => {
  await using repo = await tempRepo();
  const [first] = await seed(repo);
  const query = 'metric.name == "loss"';
  const csv = await aim([
    "metrics",
    "export",
    "--repo",
    repo.path,
    "--query",
    query,
  ]);
  assert.equal(csv.code, 0, csv.stderr);
  const [header, ...rows] = parseCsv(csv.stdout);
  assert.deepEqual(header, [
    "hash",
    "run_name",
    "experiment",
    "name",
    "context",
    "step",
    "epoch",
    "time",
    "value",
  ]);
  assert.equal(rows.length, 1000);
  assert.deepEqual(rows[500]!.slice(0, 7), [
    first,
    'a "quoted", name\nover two lines',
    "exp",
    "loss",
    '{"subset":"train"}',
    "500",
    "5",
  ]);
  assert.equal(rows[500]![8], "100");
  assert.ok(Number(rows[0]![7]) > 1e9, "time in seconds since the epoch");

  const out = join(repo.dir, "points.jsonl");
  const jsonl = await aim([
    "metrics",
    "export",
    "--repo",
    repo.path,
    "--format",
    "jsonl",
    "--points",
    "10",
    "--output",
    out,
  ]);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  assert.equal(jsonl.stdout, "");
  const series = Deno.readTextFileSync(out).trimEnd().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(
    series.map((s) => `${s.run.hash === first ? "first" : "second"} ${s.name}`)
      .sort(),
    ["first acc", "first loss", "second acc"],
  );
  const loss = series.find((s) => s.name === "loss");
  assert.equal(loss.total, 1000);
  assert.equal(loss.resolution.kind, "buckets");
  assert.ok(loss.steps.length <= 40);
  assert.ok(loss.values.includes(100), "the spike survives downsampling");
  assert.deepEqual(
    series.find((s) => s.run.hash !== first).values,
    ["Infinity"],
  );

  const ranged = await aim([
    "metrics",
    "export",
    "--repo",
    repo.path,
    "--query",
    query,
    "--from",
    "10",
    "--to",
    "12",
  ]);
  assert.deepEqual(
    parseCsv(ranged.stdout).slice(1).map((r) => r[5]),
    ["10", "11", "12"],
  );
});

Deno.test("the export commands refuse a bad format, points or output with a clear error", async () => {
  await using repo = await tempRepo();
  for (
    const [args, code, message] of [
      [
        ["runs", "export", "--format", "xlsx"],
        2,
        /--format must be csv or jsonl, got "xlsx"/,
      ],
      [
        ["metrics", "export", "--points=-1"],
        2,
        /--points must be a non-negative integer/,
      ],
      [
        ["metrics", "export", "--from", "x"],
        2,
        /--from must be an integer, got "x"/,
      ],
      [
        ["runs", "export", "--output", "/nonexistent/folder/runs.csv"],
        1,
        /Cannot write --output \/nonexistent\/folder\/runs.csv/,
      ],
      [["runs", "export", "--query", "run.x >"], 1, /expected an operand/],
    ] as const
  ) {
    const out = await aim([...args, "--repo", repo.path]);
    assert.equal(out.code, code, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, message);
  }
});
