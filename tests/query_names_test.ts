import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import {
  checkNames,
  closestNames,
  editDistance,
  formatParamPath,
  knownParamPaths,
  orList,
  paramNameWarnings,
  parseQuery,
  searchRuns,
} from "../lib/query/mod.ts";
import { liveWriter, tempRepo } from "./_helpers.ts";

Deno.test("editDistance() counts insertions, deletions, substitutions and swaps of neighbours", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("runs", "runs"), 0);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("hparms", "hparams"), 1);
  assert.equal(editDistance("stauts", "status"), 1, "a swap is one edit");
  assert.equal(editDistance("kitten", "sitting"), 3);
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      const d = editDistance(a, b);
      assert.equal(d, editDistance(b, a));
      assert.ok(d <= Math.max(a.length, b.length));
      assert.ok(d >= Math.abs(a.length - b.length));
      assert.equal(d === 0, a === b);
    }),
  );
});

Deno.test("closestNames() keeps near names, closest first, within a third of the length", () => {
  const commands = ["init", "runs", "metrics", "track", "run", "reindex"];
  assert.deepEqual(closestNames("rnus", commands), ["runs"]);
  assert.deepEqual(closestNames("metric", commands), ["metrics"]);
  assert.deepEqual(closestNames("rn", commands), ["run"]);
  assert.deepEqual(
    closestNames("RUNS", commands),
    ["runs", "run"],
    "case is ignored",
  );
  assert.deepEqual(closestNames("runs", commands), ["run"], "never itself");
  assert.deepEqual(closestNames("zzzz", commands), []);
  assert.deepEqual(closestNames("x", ["a", "b", "c", "d"], 2), ["a", "b"]);
  assert.deepEqual(
    closestNames("hparams.lrr", ["hparams", "hparams.lr", "hparams.lr2"]),
    ["hparams.lr", "hparams.lr2"],
  );
  assert.deepEqual(
    closestNames("Lr", ["lx", "lr"]),
    ["lr", "lx"],
    "a change of case beats a changed letter",
  );
  assert.equal(orList([]), "");
  assert.equal(orList(["a"]), "a");
  assert.equal(orList(["a", "b", "c"]), "a, b or c");
});

Deno.test("formatParamPath() writes a param so that the query language reads back the same path", () => {
  assert.equal(formatParamPath(["hparams", "lr"]), "run.hparams.lr");
  assert.equal(formatParamPath(["status"]), 'run["status"]');
  assert.equal(formatParamPath(["a", "status"]), "run.a.status");
  assert.equal(formatParamPath(["x", "and", "None"]), 'run.x["and"]["None"]');
  assert.equal(formatParamPath(["l", 0, "a b"]), 'run.l[0]["a b"]');
  const key = fc.oneof(
    fc.constantFrom("lr", "status", "metrics", "and", "True", "inf", "_x1"),
    fc.string({ minLength: 1, maxLength: 6 }),
    fc.integer({ min: 0, max: 99 }),
  );
  fc.assert(
    fc.property(
      fc.tuple(
        fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom("tags", "hp")),
        fc.array(key, { maxLength: 4 }),
      ),
      ([first, rest]) => {
        const path = [first, ...rest];
        const expr = parseQuery(formatParamPath(path)).expr;
        assert.deepEqual(expr?.type === "param" ? expr.path : expr, path);
      },
    ),
  );
});

const KNOWN = [
  ["hparams", "lr"],
  ["hparams", "lr_decay"],
  ["hparams", "optimizer", "name"],
  ["hparams", "layers"],
  ["seed"],
  ["status_note"],
];

function warned(q: string, known: string[][] = KNOWN) {
  return paramNameWarnings(parseQuery(q), known).map((w) => [
    w.name,
    w.column,
    w.suggestions,
  ]);
}

Deno.test("paramNameWarnings() names each param no run has, where it is, with the closest that exist", () => {
  assert.deepEqual(warned("run.hparms.lr < 0.01"), [
    ["run.hparms.lr", 1, ["run.hparams.lr"]],
  ]);
  assert.deepEqual(warned('run.stauts == "failed"'), [
    ["run.stauts", 1, ["run.status"]],
  ]);
  assert.deepEqual(warned("run.hparams.lrr > 0"), [
    ["run.hparams.lrr", 1, ["run.hparams.lr"]],
  ]);
  assert.deepEqual(
    warned("run.lr > 0 or run.name"),
    [["run.lr", 1, ["run.hparams.lr"]]],
    "a missing parent: params that end with the name",
  );
  assert.deepEqual(warned("run.zzz == 1 and run.hparams.zzz"), [
    ["run.zzz", 1, []],
    ["run.hparams.zzz", 18, []],
  ]);
  assert.deepEqual(
    warned("run.hparms.lr > 0 and (run.hparms.lr < 1 or run['hparms']['lr'])"),
    [["run.hparms.lr", 1, ["run.hparams.lr"]]],
    "once, where it is first named",
  );
  const [message] = paramNameWarnings(
    parseQuery("0 < run.hparms.lr"),
    KNOWN,
  );
  assert.equal(
    message?.message,
    "No run has a param run.hparms.lr, so it is None in every run: did you mean run.hparams.lr?",
  );
  assert.equal(message?.column, 5);
});

Deno.test("paramNameWarnings() is quiet about params that exist, dicts above them, items of lists, and attributes", () => {
  for (
    const q of [
      "",
      "run.hparams.lr < 0.1",
      'run.hparams.optimizer == {"name": "adam"}',
      "run.hparams",
      "run.hparams.layers[0] == 64",
      "run.hparams.layers[0].width",
      'run["seed"] > 3 and run.status == "failed" and "x" in run.tags',
      'run.metrics["loss"].last < 1 and run.duration > 5',
      'metric.name == "loss" and metric.context.subset == "train"',
      'run.hparams.optimizer.name.startswith("ad")',
    ]
  ) {
    assert.deepEqual(warned(q), [], q);
  }
  assert.deepEqual(
    warned("run.hparams.lr", []),
    [["run.hparams.lr", 1, []]],
    "no params at all",
  );
});

Deno.test("checkNames() knows the params of indexed runs and of runs the index does not cover, and never changes the answer", async () => {
  await using repo = await tempRepo();
  assert.deepEqual(
    checkNames(repo, { q: "run.hparams.lr > 0" }),
    [],
    "no run: nothing to compare with",
  );
  const run = await repo.startRun({ handleSignals: false });
  run.set("hparams", { lr: 0.01, optimizer: { name: "adam" }, flag: true });
  run.set("seed", 7);
  await run.close();
  await using live = await liveWriter(repo.path);
  assert.ok(repo.hasMarker(live.hash), "the live run is not indexed");
  assert.deepEqual(
    knownParamPaths(repo).map((p) => p.join(".")).sort(),
    [
      "hparams.flag",
      "hparams.lr",
      "hparams.optimizer.name",
      "hparams.seed",
      "seed",
    ],
  );
  assert.deepEqual(
    checkNames(repo, { q: "run.hparams.seed > 0 and run.seed > 0" }),
    [],
  );
  const warnings = checkNames(repo, {
    q: "run.hparms.lr < 0.1",
    sort: "-run.sede",
    columns: ["run.hparams.lr", "run.hparams.flg"],
  });
  assert.deepEqual(
    warnings.map((w) => [w.field, w.name, w.suggestions]),
    [
      ["q", "run.hparms.lr", ["run.hparams.lr"]],
      ["sort", "run.sede", ["run.seed"]],
      ["columns", "run.hparams.flg", ["run.hparams.flag"]],
    ],
  );
  assert.equal(searchRuns(repo, "run.hparms.lr < 0.1").total, 0);
  assert.deepEqual(checkNames(repo, { q: 'run.status == "failed"' }), []);
  assert.throws(() => checkNames(repo, { q: "run.hparams.lr <" }), /column/);
});
