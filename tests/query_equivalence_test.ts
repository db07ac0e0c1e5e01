/**
 * The index must never change a query's answer: random repositories are
 * queried all-indexed, all-unindexed and half-and-half, with random queries,
 * and the three answers must be identical.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Context,
  Distribution,
  Image,
  type ParamValue,
  reindex,
  Repo,
  runFields,
  searchMetrics,
  searchRuns,
  searchSequences,
  SEQUENCE_KINDS,
  type SequenceKind,
  Text,
} from "../lib/mod.ts";
import { evalValue, parseQuery } from "../lib/query/mod.ts";
import { WriterProcess } from "./_helpers.ts";

/** A small seeded generator, so a failure can be replayed from its seed. */
class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYS = [
  "lr",
  "batch size",
  "ß-unicode",
  "opt",
  "layers",
  "flag",
  "seed",
  "note",
  "10",
  "9",
  "__proto__",
] as const;
const STRINGS = ["adam", "sgd", "Adam", "", "résumé", 'a"quote', "x.y"];
const NUMBERS = [
  0,
  1,
  -1,
  0.5,
  0.01,
  1e-3,
  64,
  128,
  NaN,
  Infinity,
  -Infinity,
  2.5e10,
];
const NAMES = ["loss", "accuracy", "lr"];
const CONTEXTS: Context[] = [
  {},
  { subset: "train" },
  { subset: "val" },
  { subset: "train", gpu: 1 },
  { "10": 1, "9": 2 },
];
const TAGS = ["best", "baseline", "ünïcode", "x"];
/** Sequence names; "loss" is a series name too, so kinds must not mix. */
const SEQUENCE_NAMES = ["samples", "grid", "loss"];

/** One object of `kind`, small: the test is about summaries, not payloads. */
function randomObject(r: Random, kind: SequenceKind) {
  switch (kind) {
    case "images":
      return Image.fromPixels(new Uint8Array(4).fill(r.int(256)), 2, 2, 1);
    case "distributions":
      return Distribution.fromSamples([r.next(), r.next(), r.next()], 3);
    case "texts":
      return new Text(r.pick(STRINGS));
  }
}

function randomValue(r: Random, depth = 0): ParamValue {
  switch (r.int(depth > 1 ? 5 : 7)) {
    case 0:
      return r.pick(NUMBERS);
    case 1:
      return r.pick(STRINGS);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4:
      return r.int(200) - 50;
    case 5:
      return Array.from({ length: r.int(3) }, () => r.pick(NUMBERS));
    default: {
      const out: Record<string, ParamValue> = {};
      for (const key of KEYS) {
        if (r.chance(0.3)) out[key] = randomValue(r, depth + 1);
      }
      return out;
    }
  }
}

async function buildRepo(r: Random, path: string): Promise<Repo> {
  const repo = Repo.openSync(path, { create: true });
  const runs = 24;
  for (let i = 0; i < runs; i++) {
    const run = await repo.startRun({
      experiment: r.pick(["base", "wide", "Base", ""]),
      name: r.pick(["resnet-18", "resnet-50", "vit", "mlp", ""]) +
        (r.chance(0.5) ? `-${i}` : ""),
      tags: TAGS.filter(() => r.chance(0.3)),
    });
    const hparams: Record<string, ParamValue> = {};
    for (const key of KEYS) if (r.chance(0.7)) hparams[key] = randomValue(r);
    run.set("hparams", hparams);
    if (r.chance(0.5)) run.set("seed", r.int(5));
    if (r.chance(0.3)) run.set("name", r.pick(STRINGS));
    for (const name of NAMES) {
      for (const context of CONTEXTS) {
        if (!r.chance(0.4)) continue;
        const n = 1 + r.int(20);
        for (let step = 0; step < n; step++) {
          run.track(
            r.chance(0.05) ? r.pick([NaN, Infinity, -Infinity]) : r.next() * 2,
            { name, step, context },
          );
        }
      }
    }
    for (const kind of SEQUENCE_KINDS) {
      for (const name of SEQUENCE_NAMES) {
        for (const context of CONTEXTS) {
          if (!r.chance(0.15)) continue;
          const points = 1 + r.int(4);
          for (let point = 0; point < points; point++) {
            const list = Array.from(
              { length: 1 + r.int(3) },
              () => randomObject(r, kind),
            );
            run.track(r.chance(0.5) ? list[0]! : list, {
              name,
              context,
              ...(r.chance(0.7) ? { step: r.int(10) } : {}),
            });
          }
        }
      }
    }
    run.finalize(
      r.pick(
        [{ status: "finished" }, { status: "failed", exitCode: 1 }, {
          status: "terminated",
          signal: "SIGTERM",
        }] as const,
      ),
    );
  }
  // Two runs whose writer is SIGKILLed: crashed, with end time = last heartbeat.
  for (let i = 0; i < 2; i++) {
    await using writer = new WriterProcess(repo.path, [
      "--forever",
      "--batch",
      "5",
      "--series",
      "2",
      ...(i === 0 ? ["--objects"] : []),
    ]);
    await writer.waitForFlushed(5);
    writer.child.kill("SIGKILL");
    await writer.finished();
  }
  reindex(repo);
  return repo;
}

function randomOperand(r: Random): string {
  return r.pick([
    () =>
      `run.hparams.${
        r.pick(["lr", "opt", "flag", "seed", "note", "layers", "missing"])
      }`,
    () => `run["hparams", "${r.pick(KEYS)}"]`,
    () => `run.hparams.opt.${r.pick(["lr", "opt", "seed"])}`,
    () =>
      `run.${
        r.pick([
          "name",
          "experiment",
          "status",
          "signal",
          "exit_code",
          "hash",
          "archived",
          "seed",
        ])
      }`,
    () => `run.${r.pick(["created_at", "ended_at", "duration"])}`,
    () =>
      `run.metrics["${r.pick(NAMES)}", ${JSON.stringify(r.pick(CONTEXTS))}].${
        r.pick(["last", "min", "max", "count", "last_step"])
      }`,
    () => `run.metrics["${r.pick(NAMES)}"].${r.pick(["last", "min", "count"])}`,
    () =>
      String(r.pick(NUMBERS)).replace("Infinity", "inf").replace("NaN", "nan"),
    () => JSON.stringify(r.pick(STRINGS)),
    () => r.pick(["True", "False", "None", "null"]),
  ])();
}

function randomAtom(r: Random, metric: boolean): string {
  const op = () => r.pick(["==", "!=", "<", "<=", ">", ">="]);
  const choices = [
    () => `${randomOperand(r)} ${op()} ${randomOperand(r)}`,
    () =>
      `${randomOperand(r)} ${op()} ${
        r.pick(NUMBERS).toString().replace("Infinity", "inf").replace(
          "NaN",
          "nan",
        )
      }`,
    () => `"${r.pick(TAGS)}" ${r.pick(["in", "not in"])} run.tags`,
    () => `run.status ${r.pick(["in", "not in"])} ["failed", "crashed"]`,
    () =>
      `run.name.${r.pick(["startswith", "endswith", "contains"])}("${
        r.pick(["res", "-1", "vit", ""])
      }")`,
    () =>
      `run.name.match("${
        r.pick(["res.*-\\\\d", "^v", "mlp$", "(?i)RES", "[a-z]+-\\\\d+$"])
      }")`,
    () => `${randomOperand(r)} * 2 ${op()} ${randomOperand(r)}`,
    () => `run.created_at ${op()} "2000-01-01"`,
    () =>
      r.pick(["run.active", "run.archived", "run.hparams.flag", "run.hparams"]),
    () =>
      `${randomOperand(r)} in ${
        r.pick(['[0.5, 1, "adam"]', "run.hparams.layers", '"adam sgd"'])
      }`,
  ];
  if (metric) {
    choices.push(
      () => `metric.name == "${r.pick(NAMES)}"`,
      () =>
        `metric.context.subset ${r.pick(["==", "!="])} "${
          r.pick(["train", "val"])
        }"`,
      () =>
        `metric.${
          r.pick(["last", "min", "max", "count", "first_step", "last_step"])
        } ${op()} ${r.pick(["0.5", "1", "nan", "inf", "10"])}`,
      () => `metric.context == ${JSON.stringify(r.pick(CONTEXTS))}`,
    );
  }
  return r.pick(choices)();
}

/** An atom about the sequence being tested, of `kind`. */
function randomSequenceAtom(r: Random, kind: SequenceKind): string {
  const op = () => r.pick(["==", "!=", "<", "<=", ">", ">="]);
  return r.pick([
    () => `${kind}.name == "${r.pick(SEQUENCE_NAMES)}"`,
    () => `${kind}.name ${op()} "${r.pick(SEQUENCE_NAMES)}"`,
    () =>
      `${kind}.context.subset ${r.pick(["==", "!="])} "${
        r.pick(["train", "val"])
      }"`,
    () => `${kind}.context == ${JSON.stringify(r.pick(CONTEXTS))}`,
    () => `${kind}.context.gpu ${op()} ${r.pick(["1", "True", "0"])}`,
    () =>
      `${kind}.${
        r.pick(["count", "items", "first_step", "last_step"])
      } ${op()} ${r.pick(["0", "1", "2", "5", "9", "nan", "inf"])}`,
    () => `${kind}.last_time ${op()} "2000-01-01"`,
    () => `"subset" in ${kind}.context`,
    () => `${kind}.name.startswith("${r.pick(["s", "g", "lo", ""])}")`,
    () => `${kind}.items > ${kind}.count`,
    () => `${kind}.context`,
  ])();
}

function randomQuery(
  r: Random,
  metric: boolean,
  depth = 0,
  kind: SequenceKind | null = null,
): string {
  if (depth > 2 || r.chance(0.35)) {
    return kind !== null && r.chance(0.6)
      ? randomSequenceAtom(r, kind)
      : randomAtom(r, metric);
  }
  switch (r.int(3)) {
    case 0:
      return `not ${randomQuery(r, metric, depth + 1, kind)}`;
    case 1:
      return `(${randomQuery(r, metric, depth + 1, kind)}) and (${
        randomQuery(r, metric, depth + 1, kind)
      })`;
    default:
      return `(${randomQuery(r, metric, depth + 1, kind)}) or ${
        randomQuery(r, metric, depth + 1, kind)
      }`;
  }
}

/** Fields of every kind the index answers (and some it leaves to records). */
const FIELDS = [
  "run.hparams.lr",
  "run.hparams.opt",
  "run.hparams.seed",
  "run.hparams.note",
  "run.hparams.flag",
  "run.hparams.layers",
  "run.hparams.opt.lr",
  'run["hparams", "batch size"]',
  'run["hparams", "__proto__"]',
  "run.seed",
  'run["name"]',
  "run.name",
  "run.experiment",
  "run.status",
  "run.signal",
  "run.exit_code",
  "run.archived",
  "run.created_at",
  "run.ended_at",
  "run.duration",
  "run.tags",
  'run.metrics["loss"].last',
  'run.metrics["loss", {"subset": "train"}].min',
  'run.metrics["accuracy", {"subset": "val"}].max',
  'run.metrics["lr", {"subset": "train"}].count',
  'run.metrics["loss", {"subset": "val"}].last_step',
  'run.metrics["accuracy"].first_step',
  'run.metrics["loss"].last_time',
  "run.hparams.lr * 2",
];

/** Sort keys: params of every kind (numbers, strings, None, NaN), attributes and summaries. */
const SORTS = [
  "run.hparams.lr",
  "-run.hparams.lr",
  "run.hparams.note",
  "-run.hparams.note",
  "run.hparams.seed",
  "-run.hparams.seed",
  "run.name",
  "-run.name",
  'run.metrics["loss"].last',
  '-run.metrics["loss"].last',
  "-run.created_at",
];

/** None and NaN keys come after every other key, whichever the direction. */
function assertSortedMissingLast(
  repo: Repo,
  hashes: string[],
  sort: string,
  now: number,
  context: string,
): void {
  const query = parseQuery(sort.replace(/^-/, ""));
  const missing = hashes.map((hash) => {
    const record = searchRuns(repo, `run.hash == "${hash}"`, { now }).runs[0]!
      .record;
    const key = evalValue(query, record, now);
    return key === null || (typeof key === "number" && Number.isNaN(key));
  });
  const firstMissing = missing.indexOf(true);
  if (firstMissing >= 0) {
    assert.ok(
      missing.slice(firstMissing).every((m) => m),
      `a present key sorts after a missing one (${context})`,
    );
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("a query gives the same answer over indexed, unindexed and half-indexed copies of a random repository", async () => {
  const seed = Number(Deno.env.get("AIM_TEST_SEED") ?? Date.now() % 100000);
  const r = new Random(seed);
  const dir = await Deno.makeTempDir({ prefix: "aim-equiv-" });
  try {
    const indexed = await buildRepo(r, join(dir, "indexed", ".aim"));
    indexed.close();
    await copyTree(join(dir, "indexed"), join(dir, "unindexed"));
    await copyTree(join(dir, "indexed"), join(dir, "mixed"));
    const unindexed = Repo.openSync(join(dir, "unindexed", ".aim"));
    const mixed = Repo.openSync(join(dir, "mixed", ".aim"));
    const hashes = unindexed.listRuns();
    for (const hash of hashes) unindexed.touchMarker(hash);
    hashes.forEach((hash, i) => i % 2 === 0 && mixed.touchMarker(hash));
    const repos = [
      Repo.openSync(join(dir, "indexed", ".aim")),
      unindexed,
      mixed,
    ];
    assert.equal(repos[0]!.listMarkers().length, 0);
    assert.equal(repos[1]!.listMarkers().length, hashes.length);

    const now = Date.now() / 1000 + 3600;
    let nonEmpty = 0;
    let partial = 0;
    let sorted = 0;
    const queries = 300;
    for (let i = 0; i < queries; i++) {
      const metric = i % 3 === 2;
      const text = randomQuery(r, metric);
      const sort = r.chance(0.4) ? r.pick(SORTS) : undefined;
      const answers = repos.map((repo) => {
        try {
          return metric
            ? searchMetrics(repo, text, { now, limit: 100_000, sort }).matches
              .map((m) =>
                `${m.run.record.hash}/${m.series.name}/${
                  JSON.stringify(m.series.context)
                }`
              )
            : searchRuns(repo, text, { now, limit: 100_000, sort }).runs.map((
              run,
            ) => run.record.hash);
        } catch (error) {
          return [`error: ${(error as Error).message}`];
        }
      });
      const context = `seed ${seed}, query ${i}: ${text}, sort ${sort}`;
      if (
        sort !== undefined && !metric && !answers[0]![0]?.startsWith("error")
      ) {
        sorted++;
        assertSortedMissingLast(repos[0]!, answers[0]!, sort, now, context);
      }
      assert.deepEqual(
        answers[1],
        answers[0],
        `unindexed differs from indexed (${context})`,
      );
      assert.deepEqual(
        answers[2],
        answers[0],
        `half-indexed differs from indexed (${context})`,
      );
      if (answers[0]!.length > 0 && !answers[0]![0]!.startsWith("error")) {
        nonEmpty++;
        // A page is the slice of the whole answer, with the same total, on every copy.
        const offset = r.int(answers[0]!.length + 1);
        const limit = r.int(5);
        for (const [n, repo] of repos.entries()) {
          const page = metric
            ? searchMetrics(repo, text, { now, limit, offset, sort })
            : searchRuns(repo, text, { now, limit, offset, sort });
          const keys = "matches" in page
            ? page.matches.map((m) =>
              `${m.run.record.hash}/${m.series.name}/${
                JSON.stringify(m.series.context)
              }`
            )
            : page.runs.map((run) => run.record.hash);
          assert.deepEqual(
            keys,
            answers[0]!.slice(offset, offset + limit),
            `copy ${n}: page at ${offset}+${limit} (${context})`,
          );
          assert.equal(page.total, answers[0]!.length, `copy ${n}: total`);
        }
      }
      const total = metric ? Infinity : hashes.length;
      if (answers[0]!.length > 0 && answers[0]!.length < total) partial++;
    }
    // Guard against a generator whose queries all match nothing (or everything).
    assert.ok(
      nonEmpty > queries / 5,
      `only ${nonEmpty} of ${queries} queries matched anything`,
    );
    assert.ok(
      partial > queries / 10,
      `only ${partial} of ${queries} queries split the runs`,
    );
    assert.ok(sorted > queries / 10, `only ${sorted} sorted run queries`);
    // Fields of the matching runs: the index's tables on one copy, the
    // evaluator on run spaces on another, and both equal to evaluating
    // each field on the runs' records.
    let answered = 0;
    let valued = 0;
    for (let i = 0; i < 150; i++) {
      const text = r.chance(0.3) ? "" : randomQuery(r, false);
      const fields = Array.from(
        { length: 1 + r.int(4) },
        () => r.chance(0.2) ? randomOperand(r) : r.pick(FIELDS),
      );
      const answers = repos.map((repo) => {
        try {
          const table = runFields(repo, text, fields, { now });
          return { rows: table.rows.map((row) => [row.hash, ...row.values]) };
        } catch (error) {
          return { error: (error as Error).message };
        }
      });
      const context = `seed ${seed}, fields ${i}: ${text} → ${
        JSON.stringify(fields)
      }`;
      assert.deepEqual(answers[1], answers[0], `unindexed fields (${context})`);
      assert.deepEqual(
        answers[2],
        answers[0],
        `half-indexed fields (${context})`,
      );
      const rows = answers[0]!.rows;
      if (rows === undefined) continue;
      answered++;
      const queries = fields.map((f) => parseQuery(f));
      const expected = searchRuns(repos[0]!, text, { now, limit: 100_000 })
        .runs.map((run) => [
          run.record.hash,
          ...queries.map((q) => evalValue(q, run.record, now)),
        ]);
      assert.deepEqual(
        rows,
        expected,
        `fields against the evaluator (${context})`,
      );
      if (rows.some((row) => row.slice(1).some((v) => v !== null))) valued++;
    }
    assert.ok(
      answered > 100,
      `only ${answered} of 150 field requests answered`,
    );
    assert.ok(valued > 75, `only ${valued} of 150 field requests had a value`);
    for (const repo of repos) repo.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sequence query gives the same answer over indexed, unindexed and half-indexed copies of a random repository", async () => {
  const seed = Number(Deno.env.get("AIM_TEST_SEED") ?? Date.now() % 100000);
  const r = new Random(seed);
  const dir = await Deno.makeTempDir({ prefix: "aim-equiv-seq-" });
  try {
    const built = await buildRepo(r, join(dir, "indexed", ".aim"));
    built.close();
    await copyTree(join(dir, "indexed"), join(dir, "unindexed"));
    await copyTree(join(dir, "indexed"), join(dir, "mixed"));
    const repos = ["indexed", "unindexed", "mixed"].map((name) =>
      Repo.openSync(join(dir, name, ".aim"))
    );
    const hashes = repos[1]!.listRuns();
    for (const hash of hashes) repos[1]!.touchMarker(hash);
    hashes.forEach((hash, i) => i % 2 === 1 && repos[2]!.touchMarker(hash));
    const now = Date.now() / 1000 + 3600;
    const key = (
      m: {
        run: { record: { hash: string } };
        sequence: { name: string; context: Context };
      },
    ) =>
      `${m.run.record.hash}/${m.sequence.name}/${
        JSON.stringify(m.sequence.context)
      }`;
    let nonEmpty = 0, partial = 0;
    const queries = 240;
    for (let i = 0; i < queries; i++) {
      const kind = SEQUENCE_KINDS[i % 3]!;
      // Some queries name no sequence field: the kind comes from the options.
      const text = i % 8 === 7
        ? randomQuery(r, false)
        : randomQuery(r, false, 0, kind);
      const sort = r.chance(0.3) ? r.pick(SORTS) : undefined;
      const answers = repos.map((repo) => {
        try {
          return searchSequences(repo, text, {
            now,
            limit: 100_000,
            sort,
            kind,
          }).matches.map(key);
        } catch (error) {
          return [`error: ${(error as Error).message}`];
        }
      });
      const context =
        `seed ${seed}, sequence query ${i} (${kind}): ${text}, sort ${sort}`;
      assert.deepEqual(
        answers[1],
        answers[0],
        `unindexed differs (${context})`,
      );
      assert.deepEqual(
        answers[2],
        answers[0],
        `half-indexed differs (${context})`,
      );
      const all = answers[0]!;
      if (all.length > 0 && !all[0]!.startsWith("error")) {
        nonEmpty++;
        const offset = r.int(all.length + 1);
        const limit = r.int(5);
        for (const [n, repo] of repos.entries()) {
          const page = searchSequences(repo, text, {
            now,
            limit,
            offset,
            sort,
            kind,
          });
          assert.deepEqual(
            page.matches.map(key),
            all.slice(offset, offset + limit),
            `copy ${n}: page at ${offset}+${limit} (${context})`,
          );
          assert.equal(page.total, all.length, `copy ${n}: total (${context})`);
        }
        const every = searchSequences(repos[0]!, "", { kind, limit: 100_000 });
        if (all.length < every.total) partial++;
      }
    }
    assert.ok(
      nonEmpty > queries / 4,
      `only ${nonEmpty} of ${queries} sequence queries matched anything`,
    );
    assert.ok(
      partial > queries / 8,
      `only ${partial} of ${queries} sequence queries split the sequences`,
    );
    for (const repo of repos) repo.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
