/**
 * `runFields` and `listFields`: the values the explorers draw, with None,
 * NaN, dicts and missing series kept apart, alike from the index and from
 * run spaces; and the errors for a field that names nothing.
 */

import assert from "node:assert/strict";
import {
  AimError,
  listFields,
  type ParamValue,
  type Repo,
  runFields,
} from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";

async function sweep(repo: Repo): Promise<void> {
  const runs: [string, Record<string, ParamValue>, number[]][] = [
    ["a", { lr: 0.1, opt: { name: "adam", beta: 0.9 }, flag: true }, [3, 2]],
    ["b", { lr: NaN, opt: "sgd", flag: false, layers: [64, 64] }, [1, NaN]],
    ["c", { lr: null }, []],
  ];
  for (const [name, hparams, losses] of runs) {
    const run = await repo.startRun({ name, handleSignals: false });
    run.set("hparams", hparams);
    losses.forEach((v, step) =>
      run.track(v, { name: "loss", step, context: { subset: "val" } })
    );
    await run.close();
  }
}

/** The rows from the index, then again from the run spaces, which must agree. */
function both(repo: Repo, q: string, fields: string[]): ParamValue[][] {
  const indexed = runFields(repo, q, fields, { now: 0 }).rows;
  assert.ok(indexed.every((row) => row.indexed));
  for (const hash of repo.listRuns()) repo.touchMarker(hash);
  const unindexed = runFields(repo, q, fields, { now: 0 }).rows;
  for (const hash of repo.listRuns()) repo.removeMarker(hash);
  assert.ok(unindexed.every((row) => !row.indexed));
  const values = indexed.map((row) => row.values);
  assert.deepEqual(unindexed.map((row) => row.values), values);
  return values;
}

Deno.test("runFields() keeps None, NaN, booleans, dicts, lists and missing series apart", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  const values = both(repo, "", [
    "run.name",
    "run.hparams.lr",
    "run.hparams.opt",
    "run.hparams.flag",
    "run.hparams.layers",
    'run.metrics["loss", {"subset": "val"}].last',
    'run.metrics["loss", {"subset": "val"}].min',
    'run.metrics["loss", {"subset": "val"}].count',
  ]);
  assert.deepEqual(values, [
    ["a", 0.1, { name: "adam", beta: 0.9 }, true, null, 2, 2, 2],
    ["b", NaN, "sgd", false, [64, 64], NaN, 1, 2],
    ["c", null, null, null, null, null, null, null],
  ]);
});

Deno.test("runFields() answers only the runs the query matches, oldest first, up to the limit", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  assert.deepEqual(both(repo, 'run.name != "b"', ["run.name"]), [
    ["a"],
    ["c"],
  ]);
  const table = runFields(repo, "", ["run.name"], { limit: 1 });
  assert.equal(table.total, 3);
  assert.deepEqual(table.rows.map((row) => row.values), [["a"]]);
});

Deno.test("runFields() refuses a field that names no param or no series, saying which and where", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  const refused = (fields: string[], message: RegExp) =>
    assert.throws(
      () => runFields(repo, "", fields),
      (error) =>
        error instanceof AimError && error.code === "bad_request" &&
        message.test(error.message),
    );
  refused(
    ["run.name", "run.hparms.lr"],
    /^fields\[1\]: No run has a param run\.hparms\.lr.*did you mean run\.hparams\.lr\?/,
  );
  refused(
    ['run.metrics["los", {"subset": "val"}].min'],
    /^fields\[0\]: no run has a series "los": did you mean "loss"\?/,
  );
  refused(
    ['run.metrics["loss"].min'],
    /^fields\[0\]: no run has a series "loss" with the context \{\}; its contexts are \{"subset":"val"\}/,
  );
  refused(["run.name ==="], /^fields\[0\] "run.name ===": /);
  refused(["metric.last"], /^fields\[0\] "metric.last" mentions metric/);
  refused([""], /^fields\[0\] is empty/);
  assert.throws(
    () => runFields(repo, "run.name ==", ["run.name"]),
    (error) => error instanceof AimError && error.code === "query_syntax",
  );
});

Deno.test("listFields() offers every param path and series, indexed or not", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  const [first] = repo.listRuns();
  repo.touchMarker(first!);
  const catalog = listFields(repo);
  assert.deepEqual(catalog.params, [
    "run.hparams.flag",
    "run.hparams.layers",
    "run.hparams.lr",
    "run.hparams.opt",
    "run.hparams.opt.beta",
    "run.hparams.opt.name",
  ]);
  assert.deepEqual(catalog.series, [{
    name: "loss",
    context: { subset: "val" },
  }]);
  assert.ok(catalog.attributes.includes("run.name"));
});

Deno.test("runFields() answers the most fields a request may ask, more than SQLite joins in one statement", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  const kinds = [
    "run.hparams.lr",
    "run.hparams.opt",
    "run.name",
    "run.duration",
    'run.metrics["loss", {"subset": "val"}].min',
    "run.tags",
  ];
  const fields = Array.from({ length: 64 }, (_, i) => kinds[i % kinds.length]!);
  const values = both(repo, "", fields);
  assert.deepEqual(values.map((row) => row.length), [64, 64, 64]);
  // Every repetition of a field has the value of its first occurrence.
  for (const row of values) {
    row.forEach((value, i) =>
      assert.deepEqual(value, row[i % kinds.length], `fields[${i}]`)
    );
  }
  assert.deepEqual(values[0]!.slice(0, 6), [
    0.1,
    { name: "adam", beta: 0.9 },
    "a",
    values[0]![3],
    2,
    [],
  ]);
});
