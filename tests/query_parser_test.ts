import assert from "node:assert/strict";
import { fc } from "./_dev_deps.ts";
import {
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  parseIsoDate,
  parseQuery,
  QuerySyntaxError,
} from "../lib/query/mod.ts";
import type { Expr } from "../lib/query/mod.ts";
import { AimError } from "../lib/mod.ts";

function expr(text: string): Expr {
  const q = parseQuery(text);
  assert.ok(q.expr !== null, `expected an expression from ${text}`);
  return q.expr;
}

function syntaxError(text: string): QuerySyntaxError {
  try {
    parseQuery(text);
  } catch (error) {
    assert.ok(
      error instanceof QuerySyntaxError,
      `expected QuerySyntaxError, got ${error}`,
    );
    // Bad input from a person: the project's own error class, with its code.
    assert.ok(error instanceof AimError);
    assert.equal(error.code, "query_syntax");
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

Deno.test("parseQuery() treats an empty or blank query as match-everything", () => {
  for (const text of ["", "   ", "\n\t "]) {
    const q = parseQuery(text);
    assert.equal(q.expr, null);
    assert.equal(q.usesMetric, false);
  }
});

Deno.test("parseQuery() resolves run attributes, params and precedence", () => {
  assert.deepEqual(expr(`run.experiment == "base" and run.hparams.lr < 0.01`), {
    type: "logical",
    op: "and",
    column: 1,
    operands: [
      {
        type: "compare",
        column: 1,
        ops: ["=="],
        operands: [
          { type: "run_attr", attr: "experiment", path: [], column: 1 },
          { type: "literal", value: "base", column: 19 },
        ],
      },
      {
        type: "compare",
        column: 30,
        ops: ["<"],
        operands: [
          { type: "param", path: ["hparams", "lr"], column: 30 },
          { type: "literal", value: 0.01, column: 47 },
        ],
      },
    ],
  });
});

Deno.test("parseQuery() reads every subscript form as the same nested param path", () => {
  const path = (text: string) => {
    const e = expr(text);
    assert.equal(e.type, "param");
    return e.type === "param" ? e.path : [];
  };
  assert.deepEqual(path(`run["hparams", "batch size"]`), [
    "hparams",
    "batch size",
  ]);
  assert.deepEqual(path(`run["hparams"]["lr"]`), ["hparams", "lr"]);
  assert.deepEqual(path(`run.hparams.optimizer.name`), [
    "hparams",
    "optimizer",
    "name",
  ]);
  assert.deepEqual(path(`run["name"]`), ["name"]);
  assert.deepEqual(path(`run.hparams.layers[-1]`), ["hparams", "layers", -1]);
  assert.deepEqual(path(`run.hparams["a",]`), ["hparams", "a"]);
  assert.deepEqual(path(`(run.hparams).lr`), ["hparams", "lr"]);
});

Deno.test("parseQuery() resolves metric fields and run.metrics selectors", () => {
  const q = parseQuery(
    `metric.name == "loss" and metric.context.subset == "train" and metric.last < 0.1`,
  );
  assert.equal(q.usesMetric, true);
  const e = expr(`run.metrics["loss", {"subset": "train", "n": -1}].min < 0.2`);
  assert.equal(e.type, "compare");
  if (e.type !== "compare") return;
  assert.deepEqual(e.operands[0], {
    type: "run_metric",
    name: "loss",
    context: { subset: "train", n: -1 },
    field: "min",
    path: [],
    column: 1,
  });
  const bare = expr(`run.metrics["loss"]`);
  assert.deepEqual(bare, {
    type: "run_metric",
    name: "loss",
    context: {},
    field: null,
    path: [],
    column: 1,
  });
  assert.equal(parseQuery(`run.metrics["loss"].last > 1`).usesMetric, false);
  const deep = expr(`metric.context["subset"]`);
  assert.deepEqual(deep, {
    type: "metric",
    field: "context",
    path: ["subset"],
    column: 1,
  });
});

Deno.test("parseQuery() reads literals: quotes, escapes, numbers and constants", () => {
  const value = (text: string) => {
    const e = expr(text);
    assert.equal(e.type, "literal", text);
    return e.type === "literal" ? e.value : undefined;
  };
  assert.equal(value(`"a\\"b"`), `a"b`);
  assert.equal(value(`'it\\'s'`), `it's`);
  assert.equal(value(`"tab\\there\\n"`), "tab\there\n");
  assert.equal(value(`"\\x41\\u00e9\\U0001F600"`), "Aé😀");
  assert.equal(value(`"^res\\d+"`), "^res\\d+");
  assert.equal(value(`r"\\d\\""`), `\\d\\"`);
  assert.equal(value(`1e-3`), 0.001);
  assert.equal(value(`2.5E+2`), 250);
  assert.equal(value(`.5`), 0.5);
  assert.equal(value(`7.`), 7);
  assert.equal(value(`True`), true);
  assert.equal(value(`false`), false);
  assert.equal(value(`None`), null);
  assert.equal(value(`null`), null);
  assert.ok(Number.isNaN(value(`NaN`)));
  assert.ok(Number.isNaN(value(`nan`)));
  assert.equal(value(`inf`), Infinity);
  assert.equal(value(`Infinity`), Infinity);
});

Deno.test("parseQuery() chains comparisons and parses not in / unary minus", () => {
  const e = expr(
    `0 < run.hparams.lr <= 1 and run.status not in ["failed"] and -run.x > -2`,
  );
  assert.equal(e.type, "logical");
  if (e.type !== "logical") return;
  const [chain, notIn, neg] = e.operands;
  assert.ok(
    chain?.type === "compare" && chain.ops.join() === "<,<=" &&
      chain.operands.length === 3,
  );
  assert.ok(notIn?.type === "compare" && notIn.ops[0] === "not in");
  assert.ok(neg?.type === "compare" && neg.operands[0]?.type === "unary");
  const arith = expr(`1 + 2 * 3 - 4 / 2`);
  assert.ok(arith.type === "binary" && arith.op === "-");
  assert.ok(
    arith.type === "binary" && arith.left.type === "binary" &&
      arith.left.op === "+",
  );
  const notNot = expr(`not not run.archived`);
  assert.ok(notNot.type === "unary" && notNot.operand.type === "unary");
  const orAnd = expr(`run.a or run.b and run.c`);
  assert.ok(
    orAnd.type === "logical" && orAnd.op === "or" &&
      orAnd.operands[1]?.type === "logical",
  );
});

Deno.test("parseQuery() parses string method calls", () => {
  for (const method of ["startswith", "endswith", "contains", "match"]) {
    const e = expr(`run.name.${method}("x")`);
    assert.ok(e.type === "call" && e.method === method);
    assert.ok(e.type === "call" && e.object.type === "run_attr");
  }
  const onParam = expr(`run.hparams.opt.startswith("ad")`);
  assert.ok(onParam.type === "call" && onParam.object.type === "param");
});

Deno.test("parseQuery() reads date strings compared with time attributes", () => {
  const e = expr(`run.created_at >= "2026-11-01"`);
  assert.ok(e.type === "compare");
  assert.deepEqual(e.type === "compare" && e.operands[1], {
    type: "literal",
    value: Date.UTC(2026, 10, 1) / 1000,
    column: 19,
  });
  const reversed = expr(`"2026-11-01T12:00:00+02:00" > run.ended_at`);
  assert.ok(
    reversed.type === "compare" && reversed.operands[0]?.type === "literal",
  );
  assert.equal(
    reversed.type === "compare" && reversed.operands[0]?.type === "literal" &&
      reversed.operands[0].value,
    Date.UTC(2026, 10, 1, 10) / 1000,
  );
  // Other strings stay strings.
  const other = expr(`run.name >= "2026-11-01"`);
  assert.ok(other.type === "compare" && other.operands[1]?.type === "literal");
  assert.equal(
    other.type === "compare" && other.operands[1]?.type === "literal" &&
      other.operands[1].value,
    "2026-11-01",
  );
  const err = syntaxError(`run.created_at >= "yesterday"`);
  assert.equal(err.column, 19);
  assert.match(err.message, /cannot read "yesterday" as a date/);
  syntaxError(`metric.last_time < "2026-02-30"`);
});

Deno.test("parseIsoDate() reads ISO 8601 dates, UTC by default, and rejects others", () => {
  assert.equal(parseIsoDate("2026-11-01"), Date.UTC(2026, 10, 1) / 1000);
  assert.equal(
    parseIsoDate("2026-11-01T12:30"),
    Date.UTC(2026, 10, 1, 12, 30) / 1000,
  );
  assert.equal(
    parseIsoDate("2026-11-01 12:30:15.25"),
    Date.UTC(2026, 10, 1, 12, 30, 15) / 1000 + 0.25,
  );
  assert.equal(
    parseIsoDate("2026-11-01T12:30:15Z"),
    Date.UTC(2026, 10, 1, 12, 30, 15) / 1000,
  );
  assert.equal(
    parseIsoDate("2026-11-01T00:00-05:30"),
    Date.UTC(2026, 10, 1, 5, 30) / 1000,
  );
  assert.equal(
    new Date(parseIsoDate("0050-01-01")! * 1000).getUTCFullYear(),
    50,
  );
  for (
    const bad of [
      "2026-13-01",
      "2026-02-29",
      "2026-11-01T24:00",
      "2026-11-1",
      "11/01/2026",
      "",
      "2026-11-01T12:60",
    ]
  ) {
    assert.equal(parseIsoDate(bad), null, bad);
  }
  assert.equal(parseIsoDate("2024-02-29"), Date.UTC(2024, 1, 29) / 1000);
});

Deno.test("QuerySyntaxError names the column and shows the query", () => {
  const err = syntaxError(`run.hparams.lr >`);
  assert.equal(err.column, 17);
  assert.equal(err.query, `run.hparams.lr >`);
  assert.equal(
    err.message,
    `expected an operand, found the end of the query at column 17 of: run.hparams.lr >`,
  );
  assert.equal(err.name, "QuerySyntaxError");

  const cases: [string, number, RegExp][] = [
    [`foo == 1`, 1, /unknown name foo/],
    [`run.name == bar`, 13, /unknown name bar/],
    [`run.x = 1`, 7, /use == to compare/],
    [`run.x == "abc`, 10, /unterminated string/],
    [`run.x == 1 2`, 12, /expected an operator or the end/],
    [`run.x is None`, 7, /'is' is not supported/],
    [`run`, 4, /after run/],
    [`metric.nme == "x"`, 8, /unknown metric field "nme"/],
    [`metric == 1`, 8, /after metric/],
    [`run.metrics.loss`, 13, /run\.metrics/],
    [`run.metrics[1]`, 13, /metric name string/],
    [`run.metrics["loss", 3]`, 21, /context dict/],
    [`run.metrics["loss"].foo`, 21, /unknown metric field/],
    [`run.name.upper()`, 10, /unknown method upper/],
    [`run.name.startswith()`, 21, /needs one argument/],
    [`run.name.startswith("a", "b")`, 26, /takes one argument/],
    [`run.name("a")`, 5, /unknown method name\(\)/],
    [`(run.name)("a")`, 11, /can be called/],
    [`run[run.x]`, 5, /subscript keys must be/],
    [`run[1.5]`, 5, /subscript keys must be/],
    [`{1: 2}`, 2, /dict keys must be string literals/],
    [`run.x in [1, 2`, 15, /to close the '\['/],
    [`(run.x`, 7, /to close the '\('/],
    [`run.name.match("(")`, 16, /invalid regular expression/],
    [`1e`, 2, /malformed number exponent/],
    [`12abc`, 1, /malformed number/],
    [`run.x == $`, 10, /unexpected character "\$"/],
    [`run. == 1`, 6, /expected an attribute name/],
    [`and`, 1, /expected an operand, found 'and'/],
    [`"\\x4"`, 2, /malformed \\x escape/],
  ];
  for (const [text, column, pattern] of cases) {
    const e = syntaxError(text);
    assert.equal(e.column, column, `column for ${text}: ${e.message}`);
    assert.match(e.message, pattern, text);
    assert.ok(e.message.endsWith(`of: ${text}`), e.message);
  }
});

Deno.test("parseQuery() limits query length and nesting depth", () => {
  const long = `run.name == "${"x".repeat(MAX_QUERY_LENGTH)}"`;
  const e1 = syntaxError(long);
  assert.match(e1.message, /over the limit of 10000/);
  assert.ok(e1.message.length < 400, "the message excerpts a long query");

  const ok = `${"(".repeat(MAX_QUERY_DEPTH - 1)}run.x${
    ")".repeat(MAX_QUERY_DEPTH - 1)
  }`;
  assert.equal(parseQuery(ok).expr?.type, "param");
  const deep = `${"(".repeat(MAX_QUERY_DEPTH + 1)}run.x${
    ")".repeat(MAX_QUERY_DEPTH + 1)
  }`;
  assert.match(syntaxError(deep).message, /nesting is deeper than 64/);
  assert.match(
    syntaxError(`${"not ".repeat(100)}run.x`).message,
    /nesting is deeper/,
  );
  assert.match(syntaxError(`${"-".repeat(100)}1`).message, /nesting is deeper/);
  assert.match(syntaxError(`${"[".repeat(100)}`).message, /nesting is deeper/);
  assert.match(
    syntaxError(`run${"[".repeat(100)}`).message,
    /nesting is deeper/,
  );

  // Long flat chains are fine: they do not nest.
  const flat = Array.from({ length: 600 }, (_, i) => `run.x == ${i}`).join(
    " or ",
  );
  assert.equal(parseQuery(flat).expr?.type, "logical");
  const chain = Array.from({ length: 800 }, (_, i) => `run.x${i}`).join(" < ");
  assert.equal(parseQuery(chain).expr?.type, "compare");
  // Arithmetic nests: each operator is one level deeper.
  const sum = (terms: number) =>
    `run.x == ${Array(terms).fill("1").join(" + ")}`;
  assert.equal(parseQuery(sum(60)).expr?.type, "compare");
  assert.match(syntaxError(sum(2000)).message, /nesting is deeper than 64/);
});

Deno.test("parseQuery() on random input only ever throws QuerySyntaxError", () => {
  const pieces = fc.constantFrom(
    "run",
    "metric",
    ".",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ":",
    " ",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "and",
    "or",
    "not",
    "in",
    "is",
    '"',
    "'",
    "\\",
    "1",
    "2.5e",
    "e3",
    "x",
    "name",
    "metrics",
    "hparams",
    "startswith",
    "match",
    "None",
    "True",
    "nan",
    "inf",
    "=",
    "%",
    "\n",
    "😀",
    "r'",
    '"a"',
    "'b'",
  );
  const garbage = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.array(pieces, { maxLength: 40 }).map((a) => a.join("")),
  );
  fc.assert(
    fc.property(garbage, (text) => {
      try {
        const q = parseQuery(text);
        assert.equal(typeof q.usesMetric, "boolean");
      } catch (error) {
        if (!(error instanceof QuerySyntaxError)) throw error;
        assert.ok(
          error.column >= 1 && error.column <= text.length + 1,
          `column ${error.column} in ${text}`,
        );
      }
    }),
    { numRuns: 3000 },
  );
});

Deno.test("parseQuery() rejects a non-string with TypeError", () => {
  assert.throws(() => parseQuery(42 as unknown as string), TypeError);
});
