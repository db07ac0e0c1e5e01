import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fc } from "./_dev_deps.ts";
import {
  type CompiledQuery,
  compileMetricQuery,
  compileRunQuery,
  evalMetricQuery,
  evalRunQuery,
  parseQuery,
  type Query,
  QuerySyntaxError,
} from "../lib/query/mod.ts";
import { flattenParams } from "../lib/index/mod.ts";
import { canonicalJson } from "../lib/util/mod.ts";
import {
  type Context,
  type ParamValue,
  RUN_STATUSES,
  type RunRecord,
  type SeriesSummary,
} from "../lib/mod.ts";

const NOW = 5_000;

const SCHEMA = `
CREATE TABLE runs(hash TEXT PRIMARY KEY, name TEXT NOT NULL, experiment TEXT NOT NULL, description TEXT NOT NULL,
  status TEXT NOT NULL, signal TEXT, exit_code INTEGER, created_at REAL NOT NULL, ended_at REAL,
  archived INTEGER NOT NULL, data_version INTEGER NOT NULL, indexed_at REAL NOT NULL, record TEXT NOT NULL);
CREATE TABLE params(hash TEXT NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, num REAL, str TEXT);
CREATE INDEX params_path_num ON params(path, num); CREATE INDEX params_path_str ON params(path, str);
CREATE INDEX params_hash ON params(hash);
CREATE TABLE tags(hash TEXT NOT NULL, tag TEXT NOT NULL); CREATE INDEX tags_tag ON tags(tag, hash);
CREATE INDEX tags_hash ON tags(hash);
CREATE TABLE series(hash TEXT NOT NULL, name TEXT NOT NULL, context TEXT NOT NULL, count INTEGER NOT NULL,
  first_step INTEGER, last_step INTEGER, last REAL, min REAL, max REAL, last_time REAL);
CREATE INDEX series_name ON series(name, context); CREATE INDEX series_hash ON series(hash);
`;

/** An in-memory index holding `runs`, written the way the index writer does. */
class TestIndex implements Disposable {
  readonly db = new DatabaseSync(":memory:");

  constructor(runs: RunRecord[]) {
    this.db.exec(SCHEMA);
    const insertRun = this.db.prepare(
      `INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    const insertParam = this.db.prepare(
      `INSERT INTO params VALUES (?,?,?,?,?)`,
    );
    const insertTag = this.db.prepare(`INSERT INTO tags VALUES (?,?)`);
    const insertSeries = this.db.prepare(
      `INSERT INTO series VALUES (?,?,?,?,?,?,?,?,?,?)`,
    );
    const nanToNull = (x: number) => (Number.isNaN(x) ? null : x);
    for (const r of runs) {
      insertRun.run(
        r.hash,
        r.name,
        r.experiment,
        r.description,
        r.status,
        r.signal,
        r.exit_code,
        r.created_at,
        r.ended_at,
        r.archived ? 1 : 0,
        r.data_version,
        NOW,
        JSON.stringify(r),
      );
      for (const row of flattenParams(r.params)) {
        insertParam.run(r.hash, row.path, row.type, row.num, row.str);
      }
      for (const tag of r.tags) insertTag.run(r.hash, tag);
      for (const s of r.metrics) {
        insertSeries.run(
          r.hash,
          s.name,
          canonicalJson(s.context),
          s.count,
          s.first_step,
          s.last_step,
          nanToNull(s.last),
          nanToNull(s.min),
          nanToNull(s.max),
          s.last_time,
        );
      }
    }
  }

  runs(c: CompiledQuery): Set<string> {
    const rows = this.db.prepare(
      `SELECT r.hash AS hash FROM runs r WHERE ${c.where}`,
    ).all(...c.args);
    return new Set(rows.map((row) => String(row.hash)));
  }

  pairs(c: CompiledQuery): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT r.hash AS hash, s.name AS name, s.context AS context FROM runs r JOIN series s ON s.hash = r.hash WHERE ${c.where}`,
      )
      .all(...c.args);
    return new Set(
      rows.map((row) =>
        _pairKey(String(row.hash), String(row.name), String(row.context))
      ),
    );
  }

  [Symbol.dispose](): void {
    this.db.close();
  }
}

function _pairKey(hash: string, name: string, context: string): string {
  return `${hash}|${name}|${context}`;
}

function baseRun(hash: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    hash,
    name: "run",
    experiment: "base",
    description: "",
    tags: [],
    status: "finished",
    signal: null,
    exit_code: 0,
    created_at: 1000,
    ended_at: 2000,
    archived: false,
    params: {},
    metrics: [],
    data_version: 1,
    ...over,
  };
}

function summary(
  name: string,
  context: Context,
  over: Partial<SeriesSummary> = {},
): SeriesSummary {
  return {
    name,
    context,
    count: 3,
    first_step: 0,
    last_step: 2,
    last: 1,
    min: 0,
    max: 2,
    last_time: 1500,
    ...over,
  };
}

/** How many checks had an answer that was neither everything nor nothing. */
const stats = { splitting: 0 };

/**
 * Checks the compiled query against the evaluator on every run: the SQL
 * selects a superset, equal to the evaluator's answer when it says exact.
 * Returns whether it was exact.
 */
function agree(index: TestIndex, runs: RunRecord[], text: string): boolean {
  const q = parseQuery(text);
  return agreeParsed(index, runs, q, text);
}

function agreeParsed(
  index: TestIndex,
  runs: RunRecord[],
  q: Query,
  text: string,
): boolean {
  if (!q.usesMetric) {
    const c = compileRunQuery(q, NOW);
    const sql = index.runs(c);
    const expected = new Set(
      runs.filter((r) => evalRunQuery(q, r, NOW)).map((r) => r.hash),
    );
    for (const hash of expected) {
      assert.ok(
        sql.has(hash),
        `SQL misses run ${hash} for ${text}\n${c.where}\n${
          JSON.stringify(c.args)
        }`,
      );
    }
    if (expected.size > 0 && expected.size < runs.length) stats.splitting++;
    if (c.exact) {
      assert.deepEqual(
        sql,
        expected,
        `exact SQL selects extra runs for ${text}\n${c.where}`,
      );
    } else {
      const filtered = runs.filter((r) =>
        sql.has(r.hash) && evalRunQuery(q, r, NOW)
      ).map((r) => r.hash);
      assert.deepEqual(new Set(filtered), expected);
    }
    // A run query is also a metric query over every series of a match.
    checkPairs(index, runs, q, text);
    return c.exact;
  }
  return checkPairs(index, runs, q, text);
}

function checkPairs(
  index: TestIndex,
  runs: RunRecord[],
  q: Query,
  text: string,
): boolean {
  const c = compileMetricQuery(q, NOW);
  const sql = index.pairs(c);
  const expected = new Set<string>();
  for (const r of runs) {
    for (const s of r.metrics) {
      if (evalMetricQuery(q, r, s, NOW)) {
        expected.add(_pairKey(r.hash, s.name, canonicalJson(s.context)));
      }
    }
  }
  for (const key of expected) {
    assert.ok(
      sql.has(key),
      `SQL misses pair ${key} for ${text}\n${c.where}\n${
        JSON.stringify(c.args)
      }`,
    );
  }
  const pairs = runs.reduce((n, r) => n + r.metrics.length, 0);
  if (expected.size > 0 && expected.size < pairs) stats.splitting++;
  if (c.exact) {
    assert.deepEqual(
      sql,
      expected,
      `exact SQL selects extra pairs for ${text}\n${c.where}`,
    );
  }
  return c.exact;
}

Deno.test("flattenParams() writes one row per leaf, lists and empty dicts whole", () => {
  const rows = flattenParams({
    hparams: {
      lr: 0.1,
      nan: NaN,
      inf: -Infinity,
      opt: { name: "adam", on: true },
      none: null,
    },
    layers: [1, { a: NaN }],
    empty: {},
    'a"b': "q",
  });
  assert.deepEqual(rows, [
    { path: `["hparams","lr"]`, type: "n", num: 0.1, str: null },
    { path: `["hparams","nan"]`, type: "n", num: null, str: null },
    { path: `["hparams","inf"]`, type: "n", num: -Infinity, str: null },
    { path: `["hparams","opt","name"]`, type: "s", num: null, str: "adam" },
    { path: `["hparams","opt","on"]`, type: "b", num: 1, str: null },
    { path: `["hparams","none"]`, type: "z", num: null, str: null },
    { path: `["layers"]`, type: "j", num: null, str: `[1,{"a":{"$f":"NaN"}}]` },
    { path: `["empty"]`, type: "j", num: null, str: `{}` },
    { path: `["a\\"b"]`, type: "s", num: null, str: "q" },
  ]);
  assert.deepEqual(flattenParams({}), []);
});

Deno.test("compileRunQuery() pushes down the common predicates exactly", () => {
  const exact = [
    `run.experiment == "base" and run.hparams.lr < 0.01`,
    `run["hparams", "batch size"] >= 64`,
    `run.hparams.optimizer.name == "adam"`,
    `"best" in run.tags`,
    `"best" not in run.tags`,
    `run.name.startswith("res")`,
    `run.name.endswith("x") or run.name.contains("y")`,
    `run.status in ["failed", "crashed"]`,
    `run.duration > 3600`,
    `run.created_at >= "2026-11-01"`,
    `run.active`,
    `not run.archived`,
    `run.hparams.flag == True`,
    `run.hparams.missing == None`,
    `run.metrics["loss", {"subset": "train"}].min < 0.2`,
    `run.metrics["loss"] != None`,
    `0 < run.hparams.lr <= 1`,
    `run.hparams.opt`,
    `"a" in run.hparams.list`,
    `run.hparams.list == ["a", "b"]`,
    `not (run.hparams.lr > 1 or run.signal == "SIGTERM")`,
  ];
  for (const text of exact) {
    const c = compileRunQuery(parseQuery(text), NOW);
    assert.equal(c.exact, true, text);
    assert.notEqual(c.where, "1", text);
  }
  const c = compileRunQuery(parseQuery(`run.hparams.lr < 0.01`), NOW);
  assert.match(c.where, /FROM params p/);
  assert.deepEqual(c.args, [`["hparams","lr"]`, 0.01]);
  assert.deepEqual(compileRunQuery(parseQuery(""), NOW), {
    where: "1",
    args: [],
    exact: true,
  });
  assert.deepEqual(compileRunQuery(parseQuery("1 == 2"), NOW), {
    where: "0",
    args: [],
    exact: true,
  });
  // NaN is unequal to everything, whatever the run holds.
  assert.deepEqual(compileRunQuery(parseQuery("run.x != nan"), NOW), {
    where: "1",
    args: [],
    exact: true,
  });
  assert.deepEqual(compileRunQuery(parseQuery("run.x == nan"), NOW), {
    where: "0",
    args: [],
    exact: true,
  });
});

Deno.test("compileRunQuery() marks what it cannot push down as inexact, even under not", () => {
  const c = compileRunQuery(
    parseQuery(`run.hparams.lr < 0.1 and run.name.match("^res")`),
    NOW,
  );
  assert.equal(c.exact, false);
  assert.match(c.where, /FROM params p/, "the pushable half is still in SQL");

  for (
    const text of [
      `not run.name.match("^res")`,
      `not (run.hparams.lr < 0.1 and run.name.match("^res"))`,
      `run.hparams.a == run.hparams.b`,
      `run.hparams.lr * 2 < 0.1`,
      `run.hparams.layers[0] == 64`,
      `run.name.match("a") or run.hparams.x == 1`,
      `1 in run.hparams.list`,
    ]
  ) {
    const compiled = compileRunQuery(parseQuery(text), NOW);
    assert.deepEqual(compiled, { where: "1", args: [], exact: false }, text);
  }
  // An exact false conjunct decides the answer however the rest goes.
  assert.deepEqual(
    compileRunQuery(parseQuery(`run.name.match("a") and run.name == 1`), NOW),
    {
      where: "0",
      args: [],
      exact: true,
    },
  );
  assert.throws(
    () => compileRunQuery(parseQuery(`metric.last < 1`), NOW),
    TypeError,
  );
});

Deno.test("compiled SQL agrees with the evaluator on NaN, Infinity, None and nesting", () => {
  const runs = [
    baseRun("a", {
      params: {
        x: NaN,
        y: Infinity,
        o: { k: "v", n: { d: 1 } },
        l: ["a", null, 1],
        e: {},
        z: null,
        s: "hello",
      },
      tags: ["best"],
      metrics: [
        summary("loss", { subset: "train" }, { last: NaN, min: NaN, max: NaN }),
        summary("loss", { n: Infinity, t: true }),
      ],
    }),
    baseRun("b", {
      params: { x: 1, y: -Infinity, o: "str", l: [], e: { k: 0 }, s: "" },
      name: "resnet",
      status: "running",
      ended_at: null,
      signal: "SIGTERM",
      exit_code: null,
      metrics: [
        summary("loss", { subset: "val" }, {
          first_step: null,
          last_step: null,
          last_time: null,
        }),
      ],
    }),
    baseRun("c", {
      params: { x: true, o: { k: null } },
      archived: true,
      created_at: 4000,
      ended_at: 4000,
    }),
  ];
  using index = new TestIndex(runs);
  const queries = [
    `run.x == nan`,
    `run.x != nan`,
    `run.x != 1`,
    `run.x == 1`,
    `run.x == True`,
    `run.x < 2`,
    `run.x`,
    `not run.x`,
    `run.y > 1e308`,
    `run.y < 0`,
    `run.y == -inf`,
    `run.o == None`,
    `run.o != None`,
    `run.o`,
    `run.o.k == None`,
    `run.o.k == "v"`,
    `run.o.n`,
    `run.o.n.d == 1`,
    `run.o.k.x == None`,
    `"k" in run.o`,
    `"n" in run.o`,
    `"st" in run.o`,
    `"a" in run.l`,
    `None in run.l`,
    `nan in run.l`,
    `run.l`,
    `run.l == []`,
    `run.e == {}`,
    `run.e`,
    `run.z == None`,
    `run.z`,
    `run.s`,
    `run.s in "hello world"`,
    `run.s in ["", "x"]`,
    `run.s in {"hello": 1}`,
    `run.s.startswith("")`,
    `run.s.endswith("llo")`,
    `run.signal == None`,
    `run.signal`,
    `run.exit_code == None`,
    `run.exit_code == 0`,
    `run.exit_code`,
    `run.ended_at == None`,
    `run.duration > 2000`,
    `run.duration == 0`,
    `run.active`,
    `run.archived == 1`,
    `run.tags`,
    `not run.tags`,
    `run.tags == None`,
    `"res" in run.name`,
    `run.metrics["loss", {"subset": "train"}].last == None`,
    `run.metrics["loss", {"subset": "train"}].last != 1`,
    `run.metrics["loss", {"subset": "train"}].last`,
    `run.metrics["loss", {"subset": "val"}].first_step == None`,
    `run.metrics["loss", {"subset": "val"}]`,
    `run.metrics["loss", {"n": inf, "t": True}].count == 3`,
    `run.metrics["loss", {"n": inf, "t": 1}].count == 3`,
    `"count" in run.metrics["loss", {"subset": "val"}]`,
    `metric.last == None`,
    `metric.last != metric.last`,
    `metric.last`,
    `metric.context.subset == "train"`,
    `metric.context.subset == None`,
    `metric.context.subset`,
    `metric.context.n > 1e308`,
    `metric.context.n == inf`,
    `metric.context.n < 0`,
    `metric.context.t == 1`,
    `metric.context.t`,
    `metric.context == {"subset": "val"}`,
    `metric.context == {"n": inf, "t": True}`,
    `metric.context`,
    `"subset" in metric.context`,
    `metric.first_step == None`,
    `metric.last_time > "1970-01-01T00:20"`,
    `metric.name.startswith("lo") and metric.context.subset.endswith("in")`,
  ];
  let exact = 0;
  for (const text of queries) if (agree(index, runs, text)) exact++;
  assert.ok(
    exact >= queries.length - 3,
    `only ${exact} of ${queries.length} were exact`,
  );
});

// ---------------------------------------------------------------- property test

const KEYS = ["a", "b", "n", "c d", "x.y", "é", 'q"k', ""];
const STRINGS = [
  "",
  "a",
  "ab",
  "b",
  "A",
  "é",
  "😀",
  "ab😀",
  "1",
  "res",
  "resnet",
];
const NUMBERS = [0, 1, -1, 0.5, 2, 64, 1e300, -0, NaN, Infinity, -Infinity];
const SCALARS: ParamValue[] = [...NUMBERS, ...STRINGS, true, false, null];

const scalarArb = fc.constantFrom(...SCALARS);

function dictOf<T extends ParamValue>(
  entries: [string, T][],
): { [key: string]: T } {
  const out: { [key: string]: T } = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
}

const { value: valueArb } = fc.letrec<{ value: ParamValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 2, depthIdentifier: "value" },
    { arbitrary: scalarArb, weight: 6 },
    { arbitrary: fc.array(tie("value"), { maxLength: 3 }), weight: 1 },
    {
      arbitrary: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie("value")), {
        maxLength: 3,
      }).map(dictOf),
      weight: 2,
    },
  ),
}));

const dictArb = fc.array(fc.tuple(fc.constantFrom(...KEYS), valueArb), {
  maxLength: 4,
}).map(dictOf);

const CONTEXTS: Context[] = [
  {},
  { subset: "train" },
  { subset: "val" },
  { n: 1 },
  { n: true },
  { n: Infinity },
  { n: -Infinity },
  { n: NaN },
  { n: null },
  { n: "x" },
  { a: { b: "c" } },
  { l: [1, "x"] },
  { "c d": "x" },
  { 'q"k': "v" },
  { "x.y": "v", "": 1 },
];

const seriesArb = fc.record({
  name: fc.constantFrom("loss", "acc"),
  context: fc.constantFrom(...CONTEXTS),
  count: fc.constantFrom(0, 1, 10),
  first_step: fc.constantFrom(null, 0, 5),
  last_step: fc.constantFrom(null, 0, 9),
  last: fc.constantFrom(...NUMBERS),
  min: fc.constantFrom(...NUMBERS),
  max: fc.constantFrom(...NUMBERS),
  last_time: fc.constantFrom(null, 1000, 2000),
});

const runArb = fc.record({
  name: fc.constantFrom("resnet-50", "res", "", "a", "é😀"),
  experiment: fc.constantFrom("base", "", "exp"),
  description: fc.constantFrom("", "a", "ab"),
  tags: fc.uniqueArray(fc.constantFrom("best", "gpu", "a", "", "é"), {
    maxLength: 3,
  }),
  status: fc.constantFrom(...RUN_STATUSES),
  signal: fc.constantFrom(null, "SIGTERM", ""),
  exit_code: fc.constantFrom(null, 0, 1, -9),
  created_at: fc.constantFrom(1000, 2000, 2000.5),
  ended_delta: fc.constantFrom(null, 0, 3600, 7200.5),
  archived: fc.boolean(),
  params: fc.tuple(
    fc.record({ a: valueArb, b: valueArb, hparams: dictArb }, {
      requiredKeys: [],
    }),
    dictArb,
  ).map(([common, extra]) => ({ ...extra, ...common })),
  metrics: fc.uniqueArray(seriesArb, {
    maxLength: 4,
    selector: (s) => `${s.name}|${canonicalJson(s.context)}`,
  }),
});

const runsArb = fc.array(runArb, { minLength: 3, maxLength: 12 }).map((list) =>
  list.map(({ ended_delta, ...r }, i): RunRecord => ({
    ...r,
    hash: `h${i}`,
    ended_at: ended_delta === null ? null : r.created_at + ended_delta,
    data_version: 1,
  }))
);

/** Renders a constant in query syntax. */
function lit(v: ParamValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "false";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (v === Infinity) return "inf";
    if (v === -Infinity) return "-inf";
    return Object.is(v, -0) ? "-0" : String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(lit).join(", ")}]`;
  return `{${
    Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${lit(x)}`).join(
      ", ",
    )
  }}`;
}

const constArb = fc.oneof(
  { arbitrary: scalarArb, weight: 8 },
  {
    arbitrary: fc.constantFrom<ParamValue>([], {}, ["a", "b"], [1, "x"], {
      a: 1,
    }),
    weight: 1,
  },
  { arbitrary: valueArb, weight: 1 },
).map(lit);

const pathArb = fc.tuple(
  fc.constantFrom("a", "b", "hparams", "a", "b", "hparams", ...KEYS),
  fc.array(fc.constantFrom(...KEYS), { maxLength: 2 }),
).map(([first, rest]) => [first, ...rest]);

const paramArb = pathArb.map((keys) =>
  /^[A-Za-z_]\w*$/.test(keys[0]!) && keys.every((k) =>
      /^[A-Za-z_]\w*$/.test(k)
    ) &&
    !["hash", "name", "tags"].includes(keys[0]!)
    ? `run.${keys.join(".")}`
    : `run[${keys.map((k) => JSON.stringify(k)).join(", ")}]`
);

/** A reference in query syntax and values it often holds in the test runs. */
interface Ref {
  text: string;
  pool: ParamValue[];
}

const NAMES = ["resnet-50", "res", "", "a", "é😀"];
const TAGS = ["best", "gpu", "a", "", "é"];
const RUN_ATTR_POOLS: Record<string, ParamValue[]> = {
  hash: ["h0", "h1", "h2"],
  name: NAMES,
  experiment: ["base", "", "exp"],
  description: ["", "a", "ab"],
  tags: TAGS,
  status: [...RUN_STATUSES],
  signal: [null, "SIGTERM", ""],
  exit_code: [null, 0, 1, -9],
  created_at: [1000, 2000, 2000.5],
  ended_at: [null, 1000, 2000, 4600, 8200.5],
  archived: [true, false, 0, 1],
  duration: [0, 3600, 7200.5, 3000, 4000],
  active: [true, false],
};
const FIELD_POOLS: Record<string, ParamValue[]> = {
  name: ["loss", "acc"],
  count: [0, 1, 10],
  first_step: [null, 0, 5],
  last_step: [null, 0, 9],
  last: NUMBERS,
  min: NUMBERS,
  max: NUMBERS,
  last_time: [null, 1000, 2000],
  context: CONTEXTS,
  "": [null],
};
const FIELDS = Object.keys(FIELD_POOLS).filter((f) =>
  f !== "" && f !== "context"
);
const CONTEXT_VALUES: ParamValue[] = [
  "train",
  "val",
  1,
  true,
  null,
  "x",
  "c",
  "v",
  Infinity,
  NaN,
  { b: "c" },
];

const contextPathArb = fc.array(
  fc.constantFrom("subset", "n", "a", "b", "l", "c d", 'q"k', "x.y", ""),
  {
    minLength: 0,
    maxLength: 2,
  },
).map((keys): Ref => ({
  text: `metric.context${keys.map((k) => `[${JSON.stringify(k)}]`).join("")}`,
  pool: keys.length === 0 ? CONTEXTS : CONTEXT_VALUES,
}));

const runMetricArb = fc.tuple(
  fc.constantFrom("loss", "acc"),
  fc.constantFrom(...CONTEXTS.slice(0, 11)),
  fc.constantFrom(...Object.keys(FIELD_POOLS)),
).map(([name, ctx, field]): Ref => ({
  text: `run.metrics[${JSON.stringify(name)}, ${lit(ctx)}]${
    field === "" ? "" : `.${field}`
  }`,
  pool: FIELD_POOLS[field]!,
}));

function refArb(metric: boolean): fc.Arbitrary<Ref> {
  const run = [
    {
      arbitrary: fc.constantFrom(...Object.keys(RUN_ATTR_POOLS)).map((
        a,
      ): Ref => ({
        text: `run.${a}`,
        pool: RUN_ATTR_POOLS[a]!,
      })),
      weight: 3,
    },
    {
      arbitrary: paramArb.map((text): Ref => ({ text, pool: SCALARS })),
      weight: 4,
    },
    { arbitrary: runMetricArb, weight: 2 },
  ];
  if (!metric) return fc.oneof(...run);
  return fc.oneof(
    ...run,
    {
      arbitrary: fc.constantFrom(...FIELDS).map((f): Ref => ({
        text: `metric.${f}`,
        pool: FIELD_POOLS[f]!,
      })),
      weight: 3,
    },
    { arbitrary: contextPathArb, weight: 3 },
  );
}

/** A reference and a constant, usually one the reference may hold. */
function refConstArb(ref: fc.Arbitrary<Ref>): fc.Arbitrary<[string, string]> {
  return ref.chain((r) =>
    fc.oneof(
      { arbitrary: fc.constantFrom(...r.pool).map(lit), weight: 3 },
      { arbitrary: constArb, weight: 1 },
    ).map((c): [string, string] => [r.text, c])
  );
}

function atomArb(metric: boolean): fc.Arbitrary<string> {
  const ref = refArb(metric);
  const pair = refConstArb(ref);
  const refText = ref.map((r) => r.text);
  const op = fc.constantFrom("==", "!=", "<", "<=", ">", ">=");
  const strLit = fc.constantFrom(...STRINGS, ...NAMES, ...TAGS).map((s) =>
    JSON.stringify(s)
  );
  const inList = ref.chain((r) =>
    fc.array(
      fc.oneof(
        { arbitrary: fc.constantFrom(...r.pool).map(lit), weight: 3 },
        constArb,
      ),
      { maxLength: 3 },
    )
      .map((cs) => [r.text, `[${cs.join(", ")}]`] as const)
  );
  return fc.oneof(
    {
      arbitrary: fc.tuple(pair, op).map(([[r, c], o]) => `${r} ${o} ${c}`),
      weight: 8,
    },
    {
      arbitrary: fc.tuple(pair, op).map(([[r, c], o]) => `${c} ${o} ${r}`),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(pair, fc.constantFrom("in", "not in")).map((
        [[r, c], o],
      ) => `${c} ${o} ${r}`),
      weight: 3,
    },
    {
      arbitrary: fc.tuple(inList, fc.constantFrom("in", "not in")).map((
        [[r, list], o],
      ) => `${r} ${o} ${list}`),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(refText, strLit).map(([r, s]) => `${r} in ${s}`),
      weight: 1,
    },
    {
      arbitrary: pair.map(([r, c]) =>
        `${r} in {${c.startsWith('"') ? c : '"a"'}: 1}`
      ),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(
        refText,
        fc.constantFrom("startswith", "endswith", "contains", "match"),
        strLit,
      )
        .map(([r, m, s]) => `${r}.${m}(${m === "match" ? '"a|r"' : s})`),
      weight: 3,
    },
    { arbitrary: refText, weight: 2 },
    {
      arbitrary: fc.tuple(pair, constArb).map(([[r, a], b]) =>
        `${a} < ${r} <= ${b}`
      ),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(refText, op, refText).map(([a, o, b]) =>
        `${a} ${o} ${b}`
      ),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(pair, op).map(([[r, c], o]) => `${r} + 1 ${o} ${c}`),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(
        fc.constantFrom("created_at", "ended_at"),
        op,
        fc.constantFrom("1970-01-01T00:20", "1970-01-01T00:33:20Z"),
      ).map(([a, o, d]) => `run.${a} ${o} "${d}"`),
      weight: 1,
    },
  );
}

function queryArb(metric: boolean): fc.Arbitrary<string> {
  const atom = atomArb(metric);
  const { q } = fc.letrec<{ q: string }>((tie) => ({
    q: fc.oneof(
      { maxDepth: 3, depthIdentifier: metric ? "qm" : "qr" },
      { arbitrary: atom, weight: 4 },
      {
        arbitrary: fc.tuple(tie("q"), tie("q")).map(([a, b]) =>
          `(${a}) and (${b})`
        ),
        weight: 1,
      },
      {
        arbitrary: fc.tuple(tie("q"), tie("q")).map(([a, b]) =>
          `(${a}) or ${b}`
        ),
        weight: 1,
      },
      { arbitrary: tie("q").map((a) => `not (${a})`), weight: 1 },
    ),
  }));
  return q;
}

Deno.test("compiled SQL selects exactly what the evaluator selects, on random runs and queries", () => {
  let total = 0, exact = 0, notDates = 0, runQueryCount = 0;
  stats.splitting = 0;
  fc.assert(
    fc.property(
      runsArb,
      fc.array(queryArb(false), { minLength: 4, maxLength: 4 }),
      fc.array(queryArb(true), { minLength: 4, maxLength: 4 }),
      (runs, runQueries, metricQueries) => {
        using index = new TestIndex(runs);
        for (const text of [...runQueries, ...metricQueries]) {
          total++;
          let q: Query;
          try {
            q = parseQuery(text);
          } catch (error) {
            // The generator may compare a time attribute with a non-date.
            assert.ok(
              error instanceof QuerySyntaxError &&
                /as a date/.test(error.message),
              String(error),
            );
            notDates++;
            continue;
          }
          if (!q.usesMetric) runQueryCount++;
          if (agreeParsed(index, runs, q, text)) exact++;
        }
      },
    ),
    { numRuns: 150 },
  );
  assert.equal(total, 1200);
  // Most random queries should be answered by SQL alone.
  // Run queries are checked as run and as metric queries: 2 checks each.
  const checks = total - notDates + runQueryCount;
  assert.ok(
    stats.splitting > checks / 8,
    `only ${stats.splitting} of ${checks} checks split the runs`,
  );
  assert.ok(
    notDates < total / 4,
    `${notDates} of ${total} queries compared a time with a non-date`,
  );
  assert.ok(
    exact / (total - notDates) > 0.5,
    `only ${exact} of ${total - notDates} queries compiled exactly`,
  );
});

Deno.test("compiled SQL handles the longest and widest queries within SQLite's limits", () => {
  const runs = [
    baseRun("a", {
      params: { x: 5, s: "k5" },
      metrics: [summary("loss", { k5: 5 })],
    }),
    baseRun("b", {
      params: { x: 1999, s: "k1999" },
      metrics: [summary("loss", {})],
    }),
    baseRun("c", { params: { x: "5" } }),
  ];
  using index = new TestIndex(runs);
  const texts = [
    Array.from({ length: 600 }, (_, i) => `run.x == ${i}`).join(" or "),
    Array.from({ length: 550 }, (_, i) => `run.x != ${i}`).join(" and "),
    `run.x in [${Array.from({ length: 1500 }, (_, i) => i * 2 + 1).join(",")}]`,
    `run.s in [${Array.from({ length: 700 }, (_, i) => `"k${i}"`).join(",")}]`,
    `run.hash in ["a", "c"] and run.x not in [5, "x", None, [1]]`,
    `${"not (".repeat(30)}run.x == 5${")".repeat(30)}`,
    `run${".a".repeat(4900)} == None`,
    `metric.name == "loss" and (${
      Array.from({ length: 300 }, (_, i) => `metric.context.k${i} == ${i}`)
        .join(" or ")
    })`,
  ];
  for (const text of texts) {
    assert.ok(text.length <= 10_000, `${text.length} characters`);
    agree(index, runs, text);
  }
  const c = compileRunQuery(parseQuery(texts[2]!), NOW);
  assert.equal(c.exact, true);
  assert.equal(c.args.length, 1501, "one IN list, not one test per item");
});
