import assert from "node:assert/strict";
import { canonicalJson } from "../lib/util/mod.ts";
import { parseQuery } from "../lib/query/mod.ts";
import {
  compareCodePoints,
  evalMetricQuery,
  evalRunQuery,
  evalValue,
} from "../lib/query/mod.ts";
import type { RunRecord, SeriesSummary } from "../lib/mod.ts";

const NOW = 1_800_000_000;

function series(over: Partial<SeriesSummary> = {}): SeriesSummary {
  return {
    name: "loss",
    context: {},
    count: 10,
    first_step: 0,
    last_step: 9,
    last: 0.05,
    min: 0.01,
    max: 2,
    last_time: 1_790_000_100,
    ...over,
  };
}

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    hash: "abc123",
    name: "resnet-50",
    experiment: "base",
    description: "",
    tags: ["best", "gpu"],
    status: "finished",
    signal: null,
    exit_code: 0,
    created_at: 1_790_000_000,
    ended_at: 1_790_007_200,
    archived: false,
    params: {
      hparams: {
        lr: 0.001,
        "batch size": 64,
        optimizer: { name: "adam", betas: [0.9, 0.999] },
        layers: [64, 128, 256],
        flag: true,
        none: null,
        empty: {},
        weird: NaN,
        big: Infinity,
      },
      seed: 7,
      name: "param-name",
      note: "hello world",
    },
    metrics: [
      series({ context: { subset: "train" } }),
      series({ context: { subset: "val" }, last: 0.3, min: 0.25, max: NaN }),
      series({
        name: "acc",
        context: {},
        last: 0.9,
        first_step: null,
        last_step: null,
        last_time: null,
      }),
    ],
    data_version: 3,
    ...over,
  };
}

/** Evaluates a run query against the default run with overrides. */
function matches(text: string, over: Partial<RunRecord> = {}): boolean {
  return evalRunQuery(parseQuery(text), run(over), NOW);
}

function check(
  cases: [string, boolean][],
  over: Partial<RunRecord> = {},
): void {
  for (const [text, expected] of cases) {
    assert.equal(matches(text, over), expected, text);
  }
}

Deno.test("evalRunQuery() matches the documented examples", () => {
  check([
    [`run.experiment == "base" and run.hparams.lr < 0.01`, true],
    [`run.experiment == "base" and run.hparams.lr < 0.0001`, false],
    [`run["hparams", "batch size"] >= 64`, true],
    [`run["hparams"]["lr"] == 0.001`, true],
    [`run.hparams.optimizer.name == "adam"`, true],
    [`"best" in run.tags`, true],
    [`"worst" in run.tags`, false],
    [`run.name.startswith("resnet")`, true],
    [`run.name.endswith("50")`, true],
    [`run.name.contains("net")`, true],
    [`run.name.match("^res.*")`, true],
    [`run.name.match("net")`, false],
    [`run.name.match("res")`, true],
    [`run.status in ["failed", "crashed"]`, false],
    [`run.status in ["finished", "crashed"]`, true],
    [`run.duration > 3600`, true],
    [`run.duration == 7200`, true],
    [`run.created_at >= "2026-01-01"`, true],
    [`run.created_at >= "2027-01-01"`, false],
    [`run.active`, false],
    [`not run.archived`, true],
    [`run.metrics["loss", {"subset": "train"}].min < 0.2`, true],
    [`run.metrics["loss", {"subset": "val"}].min < 0.2`, false],
    [`run.metrics["acc"].last > 0.5`, true],
    [`run.metrics["acc", {}].last > 0.5`, true],
  ]);
});

Deno.test("evalRunQuery() reads run[...] as params and run.X as attributes", () => {
  check([
    [`run.name == "resnet-50"`, true],
    [`run["name"] == "param-name"`, true],
    [`run.seed == 7`, true],
    [`run["seed"] == 7`, true],
    [`run.hash == "abc123"`, true],
    [`run.description == ""`, true],
    [`run.signal == None`, true],
    [`run.exit_code == 0`, true],
    [`run.ended_at - run.created_at == 7200`, true],
    [`run.data_version == None`, true],
    [`run.params == None`, true],
  ]);
});

Deno.test("evalRunQuery() gives None for missing keys, never an error", () => {
  check([
    [`run.nope == None`, true],
    [`run.hparams.nope.deeper == None`, true],
    [`run.hparams.lr.x == None`, true],
    [`run.name.x == None`, true],
    [`run.hparams.layers[0] == 64`, true],
    [`run.hparams.layers[-1] == 256`, true],
    [`run.hparams.layers[3] == None`, true],
    [`run.hparams.layers["0"] == None`, true],
    [`run.hparams[0] == None`, true],
    [`run.tags[0] == "best"`, true],
    [`run.hparams.optimizer.betas[1] > 0.99`, true],
    [`run.hparams.none == None`, true],
    [`run.hparams.none < 1`, false],
    [`run.metrics["missing"] == None`, true],
    [`run.metrics["missing"].last == None`, true],
    [`run.metrics["loss"] == None`, true],
    [`run.metrics["loss", {"subset": "train"}] != None`, true],
    [`run.toString == None`, true],
    [`run.hparams.constructor == None`, true],
    [`run.hparams.__proto__ == None`, true],
  ]);
});

Deno.test("evalRunQuery() follows Python equality and ordering across types", () => {
  check([
    [`1 == 1.0`, true],
    [`True == 1`, true],
    [`False == 0`, true],
    [`True < 2`, true],
    [`run.hparams.flag == 1`, true],
    [`run.hparams.flag > 0.5`, true],
    [`1 == "1"`, false],
    [`1 != "1"`, true],
    [`None == None`, true],
    [`None != None`, false],
    [`None == 0`, false],
    [`None < 1`, false],
    [`None >= 1`, false],
    [`"a" < 1`, false],
    [`"a" >= 1`, false],
    [`"a" < "b"`, true],
    [`"B" < "a"`, true],
    [`"\\uffff" < "\\U0001F600"`, true],
    [`[1, 2] == [1, 2.0]`, true],
    [`[1, 2] == [2, 1]`, false],
    [`[1] < [2]`, false],
    [`{"a": 1, "b": [True]} == {"b": [1], "a": 1.0}`, true],
    [`{"a": 1} == {"a": 1, "b": 2}`, false],
    [`run.hparams.empty == {}`, true],
    [`run.hparams.optimizer == {"name": "adam", "betas": [0.9, 0.999]}`, true],
    [`run.hparams.layers == [64, 128, 256]`, true],
    [`1 < 2 < 3`, true],
    [`1 < 3 < 2`, false],
    [`3 > 2 == 2`, true],
  ]);
});

Deno.test("evalRunQuery() treats NaN as unequal and unordered, Infinity as a number", () => {
  check([
    [`run.hparams.weird == run.hparams.weird`, false],
    [`run.hparams.weird != run.hparams.weird`, true],
    [`run.hparams.weird < 1`, false],
    [`run.hparams.weird >= 1`, false],
    [`run.hparams.weird != 1`, true],
    [`nan == nan`, false],
    [`NaN != NaN`, true],
    [`[nan] == [nan]`, false],
    [`nan in [nan]`, false],
    [`run.hparams.weird`, true],
    [`run.hparams.big > 1e308`, true],
    [`run.hparams.big == inf`, true],
    [`-inf < -1e308`, true],
    [`inf - inf != inf - inf`, true],
    [`run.metrics["loss", {"subset": "val"}].max > 0`, false],
    [`run.metrics["loss", {"subset": "val"}].max != 0`, true],
    [`run.metrics["loss", {"subset": "val"}].max == None`, false],
  ]);
});

Deno.test("evalRunQuery() implements in for lists, substrings and dict keys", () => {
  check([
    [`1 in [1.0, 2]`, true],
    [`True in [1]`, true],
    [`None in [None]`, true],
    [`[1] in [[1], 2]`, true],
    [`"lo w" in run.note`, true],
    [`"" in run.note`, true],
    [`"xyz" in run.note`, false],
    [`"name" in run.hparams.optimizer`, true],
    [`"adam" in run.hparams.optimizer`, false],
    [`1 in run.hparams.optimizer`, false],
    [`1 in "123"`, false],
    [`1 in 123`, false],
    [`"a" in None`, false],
    [`"a" not in None`, true],
    [`"best" not in run.tags`, false],
    [`run.name in "xx resnet-50 yy"`, true],
    [`run.name in {"resnet-50": 1}`, true],
    [`64 in run.hparams.layers`, true],
    [`"subset" in run.metrics["loss", {"subset": "train"}].context`, true],
  ]);
});

Deno.test("evalRunQuery() does arithmetic on numbers and gives None otherwise", () => {
  check([
    [`run.hparams.lr * 1000 == 1`, true],
    [`run.seed + True == 8`, true],
    [`run.seed / 2 == 3.5`, true],
    [`run.seed - -3 == 10`, true],
    [`-run.seed == -7`, true],
    [`+run.seed == 7`, true],
    [`run.seed / 0 == None`, true],
    [`0 / 0 == None`, true],
    [`"a" + "b" == "ab"`, true],
    [`[1] + [2] == [1, 2]`, true],
    [`"a" + 1 == None`, true],
    [`"a" * 2 == None`, true],
    [`-"a" == None`, true],
    [`None + 1 == None`, true],
    [`2 * 3 + 1 == 7`, true],
    [`2 * (3 + 1) == 8`, true],
  ]);
});

Deno.test("evalRunQuery() uses Python truthiness and value-returning and/or", () => {
  check([
    [`None`, false],
    [`0`, false],
    [`0.0`, false],
    [`""`, false],
    [`[]`, false],
    [`{}`, false],
    [`nan`, true],
    [`"x"`, true],
    [`[0]`, true],
    [`run.hparams.empty`, false],
    [`run.hparams.optimizer`, true],
    [`run.description`, false],
    [`run.tags`, true],
    [`(run.hparams.missing or 0.5) == 0.5`, true],
    [`(run.hparams.lr or 0.5) == 0.001`, true],
    [`(run.seed and "yes") == "yes"`, true],
    [`(0 and "yes") == 0`, true],
    [`not None`, true],
    [`not run.tags`, false],
  ]);
  check([[`run.tags`, false]], { tags: [] });
});

Deno.test("evalRunQuery() string methods are false on non-strings", () => {
  check([
    [`run.seed.startswith("7")`, false],
    [`run.name.startswith(1)`, false],
    [`run.hparams.none.endswith("")`, false],
    [`not run.tags.contains("best")`, true],
    [`run.hparams.optimizer.name.match("a.a")`, true],
    [`run.name.match(run.hparams.optimizer.name)`, false],
    [`run.name.startswith("")`, true],
  ]);
  // An invalid pattern that comes from data is simply false.
  check([[`run.name.match(run.pattern)`, false]], { params: { pattern: "(" } });
});

Deno.test("evalRunQuery() computes duration and active against now", () => {
  const running = { status: "running" as const, ended_at: null };
  check([
    [`run.active`, true],
    [`run.duration == ${NOW - 1_790_000_000}`, true],
    [`run.ended_at == None`, true],
    [`run.ended_at < 1`, false],
  ], running);
  check([[`run.status == "crashed" and not run.active`, true]], {
    status: "crashed",
  });
});

Deno.test("evalRunQuery() compares created_at with dates in UTC", () => {
  const at = Date.UTC(2026, 10, 1, 12) / 1000;
  check([
    [`run.created_at >= "2026-11-01"`, true],
    [`run.created_at < "2026-11-02"`, true],
    [`run.created_at == "2026-11-01T12:00:00Z"`, true],
    [`run.created_at == "2026-11-01T13:00:00+01:00"`, true],
    [`run.created_at > "2026-11-01T12:00"`, false],
    [`"2026-11-01" <= run.created_at < "2026-11-02"`, true],
  ], { created_at: at });
});

Deno.test("evalRunQuery() matches series contexts exactly, types included", () => {
  const metrics = [
    series({ name: "m", context: { flag: true, n: 1, sub: { a: "b" } } }),
  ];
  check([
    [
      `run.metrics["m", {"flag": True, "n": 1, "sub": {"a": "b"}}].count == 10`,
      true,
    ],
    [
      `run.metrics["m", {"sub": {"a": "b"}, "n": 1.0, "flag": true}].count == 10`,
      true,
    ],
    [`run.metrics["m", {"flag": 1, "n": 1, "sub": {"a": "b"}}] == None`, true],
    [`run.metrics["m", {"flag": True}] == None`, true],
    [`run.metrics["m"] == None`, true],
    [
      `run.metrics["m", {"flag": True, "n": 1, "sub": {"a": "b"}}].context.sub.a == "b"`,
      true,
    ],
    [
      `run.metrics["m", {"flag": True, "n": 1, "sub": {"a": "b"}}]["last_step"] == 9`,
      true,
    ],
  ], { metrics });
});

Deno.test("evalMetricQuery() evaluates per series with run attributes available", () => {
  const r = run();
  const q = parseQuery(
    `metric.name == "loss" and metric.context.subset == "train" and metric.last < 0.1`,
  );
  assert.equal(q.usesMetric, true);
  const hits = r.metrics.filter((s) => evalMetricQuery(q, r, s, NOW));
  assert.deepEqual(hits, [r.metrics[0]]);

  const mixed = parseQuery(
    `run.experiment == "base" and metric.max != metric.max`,
  );
  assert.deepEqual(r.metrics.filter((s) => evalMetricQuery(mixed, r, s, NOW)), [
    r.metrics[1],
  ]);

  const empty = parseQuery(
    `metric.first_step == None and metric.last_time == None`,
  );
  assert.deepEqual(r.metrics.filter((s) => evalMetricQuery(empty, r, s, NOW)), [
    r.metrics[2],
  ]);

  const ctx = parseQuery(
    `metric.context == {} or metric.context == {"subset": "val"}`,
  );
  assert.deepEqual(r.metrics.filter((s) => evalMetricQuery(ctx, r, s, NOW)), [
    r.metrics[1],
    r.metrics[2],
  ]);

  const time = parseQuery(`metric.last_time > "2026-01-01"`);
  assert.equal(evalMetricQuery(time, r, r.metrics[0]!, NOW), true);
  assert.equal(evalMetricQuery(time, r, r.metrics[2]!, NOW), false);

  const runOnly = parseQuery(`run.name == "resnet-50"`);
  assert.equal(evalMetricQuery(runOnly, r, r.metrics[0]!, NOW), true);
  assert.equal(evalMetricQuery(parseQuery(""), r, r.metrics[0]!, NOW), true);
});

Deno.test("evalRunQuery() refuses a metric query", () => {
  assert.throws(
    () => evalRunQuery(parseQuery(`metric.last < 1`), run(), NOW),
    TypeError,
  );
  assert.equal(evalRunQuery(parseQuery(""), run(), NOW), true);
});

Deno.test("compareCodePoints() orders like UTF-8 bytes, not UTF-16 units", () => {
  const strings = [
    "",
    "a",
    "ab",
    "b",
    "é",
    "\uffff",
    "😀",
    "😁",
    "\ue000",
    "a😀",
    "aé",
  ];
  const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));
  const byBytes = (a: string, b: string) => {
    const x = utf8(a), y = utf8(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i]! - y[i]!;
    }
    return x.length - y.length;
  };
  for (const a of strings) {
    for (const b of strings) {
      assert.equal(
        Math.sign(compareCodePoints(a, b)),
        Math.sign(byBytes(a, b)),
        `${a} vs ${b}`,
      );
    }
  }
});

Deno.test("canonicalJson() sorts keys recursively and spells out non-finite numbers", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [NaN, Infinity], c: -Infinity } }),
    `{"a":{"c":{"$f":"-Infinity"},"d":[{"$f":"NaN"},{"$f":"Infinity"}]},"b":1}`,
  );
  assert.equal(canonicalJson({ subset: "train" }), `{"subset":"train"}`);
  assert.equal(canonicalJson([true, null, 'x"y', -0]), `[true,null,"x\\"y",0]`);
  assert.equal(canonicalJson({}), `{}`);
  assert.notEqual(canonicalJson({ a: true }), canonicalJson({ a: 1 }));
});

Deno.test("evalValue() gives the value of an expression, for sorting", () => {
  const r = run();
  assert.equal(evalValue(parseQuery(`run.hparams.lr`), r, NOW), 0.001);
  assert.equal(evalValue(parseQuery(`run.duration / 3600`), r, NOW), 2);
  assert.deepEqual(evalValue(parseQuery(`run.tags`), r, NOW), ["best", "gpu"]);
  assert.equal(evalValue(parseQuery(`run.nope`), r, NOW), null);
  assert.equal(evalValue(parseQuery(``), r, NOW), null);
  assert.equal(evalValue(parseQuery(`run.metrics["acc"].last`), r, NOW), 0.9);
  const last = parseQuery(`metric.last`);
  assert.equal(evalValue(last, r, NOW, r.metrics[1]), 0.3);
  assert.throws(() => evalValue(last, r, NOW), TypeError);
});
