/**
 * Sequences of objects in run spaces: what the writer stores and flushes,
 * what readers and the index see, resuming, older run files, and a writer
 * SIGKILLed mid-flush.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  AimError,
  Distribution,
  Image,
  readDistributionMatrix,
  readObject,
  readSequence,
  reindex,
  type Repo,
  Text,
} from "../lib/mod.ts";
import { decodePng } from "../lib/objects/mod.ts";
import { RUN_FILE_VERSION } from "../lib/storage/mod.ts";
import { readTailsOf } from "../lib/repo/mod.ts";
import { searchSequences } from "../lib/query/mod.ts";
import { tempRepo, WriterProcess } from "./_helpers.ts";

function grayImage(value: number, size = 8, caption?: string): Image {
  return Image.fromPixels(
    new Uint8Array(size * size).fill(value),
    size,
    size,
    1,
    caption === undefined ? {} : { caption },
  );
}

function runDb(repo: Repo, hash: string): DatabaseSync {
  return new DatabaseSync(join(repo.runDir(hash), "run.db"));
}

Deno.test("a run stores images, distributions and texts by step, flushed with its points, and lists them without opening its file", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "vision" });
  const before = run.dataVersion;
  for (let step = 0; step < 5; step++) {
    run.track(
      [grayImage(step, 8, `a${step}`), grayImage(200 - step)],
      { name: "samples", step, epoch: step >> 1, context: { subset: "val" } },
    );
    run.track(
      Distribution.fromSamples([step, step + 1, step + 2, step + 3], 4),
      { name: "weights", step, context: { layer: "fc1" } },
    );
    run.track(new Text(`sample ${step}`, { caption: "greedy" }), {
      name: "generated",
    });
  }
  run.track(1, { name: "loss" });
  run.flush();
  assert.equal(run.dataVersion, before + 1, "one flush, one data version");
  // A reader of the run's own space sees it at once.
  const live = repo.loadRun(run.hash).record.sequences!;
  assert.deepEqual(
    live.map((
      q,
    ) => [q.kind, q.name, q.count, q.items, q.first_step, q.last_step]),
    [
      ["images", "samples", 5, 10, 0, 4],
      ["distributions", "weights", 5, 5, 0, 4],
      ["texts", "generated", 5, 5, 0, 4],
    ],
  );
  await run.close();
  const indexed = repo.index().get(run.hash)!.sequences!;
  assert.deepEqual(
    indexed,
    live.map((q) => ({ ...q, last_time: q.last_time })),
  );

  const images = readSequence(repo, run.hash, "images", "samples", {
    subset: "val",
  }, { from: 2, to: 3 });
  assert.equal(images.total, 4);
  assert.deepEqual(images.steps, [0, 1, 2, 3, 4]);
  assert.deepEqual(
    images.objects.map((o) => [o.step, o.epoch, o.item, o.caption ?? null]),
    [[2, 1, 0, "a2"], [2, 1, 1, null], [3, 1, 0, "a3"], [3, 1, 1, null]],
  );
  const bytes = readObject(repo, run.hash, images.objects[0]!.id);
  assert.deepEqual(decodePng(bytes).data, new Uint8Array(64).fill(2));

  const texts = readSequence(repo, run.hash, "texts", "generated", {}, {
    search: "SAMPLE 3",
  });
  assert.deepEqual(texts.objects.map((o) => [o.step, o.text]), [[
    3,
    "sample 3",
  ]]);
  const histograms = readSequence(repo, run.hash, "distributions", "weights", {
    layer: "fc1",
  }, { from: 4, to: 4 });
  assert.deepEqual(histograms.objects[0]!.counts, [1, 1, 1, 1]);
  assert.deepEqual(histograms.objects[0]!.edges, [4, 4.75, 5.5, 6.25, 7]);

  // The index keeps each sequence's last step and its thumbnail.
  const page = searchSequences(repo, 'images.name == "samples"');
  const tails = readTailsOf(repo, "images", page.matches);
  const [tail] = [...tails.values()];
  assert.equal(tail!.tail!.step, 4);
  assert.deepEqual(tail!.tail!.objects.map((o) => o.caption ?? null), [
    "a4",
    null,
  ]);
  assert.deepEqual(decodePng(tail!.thumb!).data, new Uint8Array(64).fill(4));
  assert.throws(
    () => readSequence(repo, run.hash, "images", "samples", {}),
    (e: Error) => e instanceof AimError && e.code === "run_not_found",
    "the context names a sequence exactly",
  );
});

Deno.test("reading one step of images reads only that step's rows: the payloads of other steps may be gone", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  for (let step = 0; step < 10; step++) {
    run.track([grayImage(step, 200), grayImage(step, 200)], {
      name: "samples",
      step,
    });
  }
  await run.close();
  const seven = readSequence(repo, run.hash, "images", "samples", {}, {
    from: 7,
    to: 7,
  });
  const keep = seven.objects.map((o) => o.id);
  const db = runDb(repo, run.hash);
  db.exec(
    `DELETE FROM payloads WHERE id NOT IN (${
      keep.join(",")
    }); DELETE FROM thumbs WHERE id NOT IN (${keep.join(",")})`,
  );
  db.close();
  const again = readSequence(repo, run.hash, "images", "samples", {}, {
    from: 7,
    to: 7,
  });
  assert.deepEqual(again.objects.map((o) => o.id), keep);
  for (const id of keep) {
    const image = decodePng(readObject(repo, run.hash, id));
    assert.equal(image.width, 200);
    const thumb = decodePng(readObject(repo, run.hash, id, true));
    assert.deepEqual([thumb.width, thumb.height], [128, 128]);
    assert.equal(thumb.data[0], 7);
  }
  assert.throws(
    () => readObject(repo, run.hash, keep[0]! - 2),
    /has no object/,
  );
});

Deno.test("a resumed run appends to its sequences: ids stay unique, steps default to the last + 1", async () => {
  await using repo = await tempRepo();
  const first = await repo.startRun();
  first.track(grayImage(1), { name: "samples", step: 10 });
  first.track(new Text("a"), { name: "texts" });
  await first.close();
  const again = await repo.resumeRun(first.hash);
  again.track(grayImage(2), { name: "samples" });
  again.track([new Text("b"), new Text("c")], { name: "texts" });
  await again.close();
  const record = repo.index().get(first.hash)!;
  assert.deepEqual(
    record.sequences!.map((q) => [q.name, q.count, q.items, q.last_step]),
    [["samples", 2, 2, 11], ["texts", 2, 3, 1]],
  );
  const texts = readSequence(repo, first.hash, "texts", "texts", {});
  assert.deepEqual(texts.objects.map((o) => [o.step, o.item, o.text]), [
    [0, 0, "a"],
    [1, 0, "b"],
    [1, 1, "c"],
  ]);
  const ids = [
    ...readSequence(repo, first.hash, "images", "samples", {}).objects,
    ...texts.objects,
  ].map((o) => o.id);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("track() refuses a list mixing kinds, an empty list and a bad step, storing nothing", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  const bad: [() => void, RegExp][] = [
    [
      () => run.track([grayImage(1), new Text("x")], { name: "mixed" }),
      /one kind of them/,
    ],
    [() => run.track([], { name: "empty" }), /non-empty list/],
    [
      () => run.track(grayImage(1), { name: "samples", step: 1.5 }),
      /step for images "samples" must be an integer/,
    ],
    [() => run.track(grayImage(1), { name: "" }), /non-empty string name/],
  ];
  for (const [call, message] of bad) assert.throws(call, message);
  await run.close();
  assert.deepEqual(repo.index().get(run.hash)!.sequences, []);
});

Deno.test("a distribution sequence reads as a matrix of steps × common bins", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun();
  for (let step = 0; step < 1000; step++) {
    const samples = Array.from({ length: 100 }, (_, i) => step / 100 + i / 50);
    run.track(Distribution.fromSamples(samples, 64), { name: "w", step });
  }
  await run.close();
  const matrix = readDistributionMatrix(repo, run.hash, "w", {}, {
    rows: 1000,
  });
  assert.equal(matrix.total, 1000);
  assert.equal(matrix.steps.length, 1000);
  assert.equal(matrix.bins, 64);
  assert.equal(matrix.low, 0);
  assert.ok(Math.abs(matrix.high - (9.99 + 99 / 50)) < 1e-9);
  for (const row of matrix.counts) {
    const total = row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 100) < 1e-6);
  }
  // The mass drifts right as steps go on.
  const centre = (row: number[]) =>
    row.reduce((sum, c, i) => sum + c * i, 0) / 100;
  assert.ok(centre(matrix.counts[999]!) > centre(matrix.counts[0]!) + 20);
  const fewer = readDistributionMatrix(repo, run.hash, "w", {}, {
    rows: 10,
    bins: 8,
    from: 100,
    to: 199,
  });
  assert.equal(fewer.total, 100);
  assert.deepEqual(fewer.steps, [
    100,
    111,
    122,
    133,
    144,
    155,
    166,
    177,
    188,
    199,
  ]);
  assert.equal(fewer.counts[0]!.length, 8);
});

Deno.test("a run file of format 4 is read as it is (no sequences), and a writer resuming it upgrades it to format 5", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "old" });
  for (let step = 0; step < 100; step++) {
    run.track(step, { name: "loss", step });
  }
  await run.close();
  // The file as aim wrote it before objects: format 4, and no object tables
  // (a run without objects never has them).
  const db = runDb(repo, run.hash);
  assert.equal(
    db.prepare(
      "SELECT count(*) AS n FROM sqlite_master WHERE name IN ('sequences', 'objects', 'payloads', 'thumbs')",
    ).get()!.n,
    0,
  );
  db.exec("PRAGMA user_version = 4");
  db.close();
  repo.touchMarker(run.hash);
  const loaded = repo.loadRun(run.hash).record;
  assert.deepEqual(loaded.sequences, []);
  assert.equal(loaded.metrics[0]!.count, 100);
  assert.equal(reindex(repo).indexed, 1);
  assert.deepEqual(repo.index().get(run.hash)!.sequences, []);
  assert.throws(
    () => readSequence(repo, run.hash, "images", "samples", {}),
    /has no images sequence/,
  );
  const again = await repo.resumeRun(run.hash);
  again.track(grayImage(9), { name: "samples" });
  again.track(100, { name: "loss" });
  await again.close();
  const check = runDb(repo, run.hash);
  const version = check.prepare("PRAGMA user_version").get() as {
    user_version: number;
  };
  check.close();
  assert.equal(version.user_version, RUN_FILE_VERSION);
  const record = repo.index().get(run.hash)!;
  assert.deepEqual(record.sequences!.map((q) => [q.name, q.items]), [[
    "samples",
    1,
  ]]);
  assert.equal(record.metrics[0]!.count, 101);
});

Deno.test("SIGKILL mid-training: every flushed image, histogram and text is there after reindex, whole", async () => {
  await using repo = await tempRepo();
  await using writer = new WriterProcess(repo.path, [
    "--forever",
    "--objects",
    "--batch",
    "7",
  ]);
  const hash = (await writer.waitForLine(/^started /)).split(" ")[1]!;
  await writer.waitForFlushed(70);
  writer.child.kill("SIGKILL");
  const status = await writer.finished();
  assert.equal(status.signal, "SIGKILL");
  const flushed = Number(
    writer.lines.findLast((l) => l.startsWith("flushed "))!.split(" ")[1],
  );
  assert.ok(
    repo.listMarkers().includes(hash),
    "the killed run keeps its marker",
  );
  const summary = reindex(repo);
  assert.deepEqual([summary.indexed, summary.crashed], [1, 1]);
  const record = repo.index().get(hash)!;
  const byName = new Map(record.sequences!.map((q) => [q.name, q]));
  // Steps below `flushed` were committed; the kill may have landed after more.
  assert.ok(byName.get("samples")!.count >= flushed);
  assert.equal(byName.get("samples")!.items, 2 * byName.get("samples")!.count);
  assert.ok(byName.get("weights")!.count >= flushed);
  assert.ok(byName.get("texts")!.count >= flushed);
  const images = readSequence(repo, hash, "images", "samples", {
    subset: "val",
  }, { limit: 10_000 });
  assert.equal(images.total, byName.get("samples")!.items);
  for (const object of images.objects) {
    const pixels = decodePng(readObject(repo, hash, object.id));
    const expected = object.item === 0
      ? object.step % 256
      : 255 - (object.step % 256);
    assert.equal(pixels.data[0], expected, `image ${object.id}`);
  }
  const steps = images.steps;
  assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i));
  const matrix = readDistributionMatrix(repo, hash, "weights", {}, {
    rows: 10_000,
  });
  assert.equal(matrix.total, byName.get("weights")!.count);
  assert.ok(
    matrix.counts.every((row) =>
      Math.abs(row.reduce((a, b) => a + b) - 10) < 1e-9
    ),
  );
  const texts = readSequence(repo, hash, "texts", "texts", {}, {
    limit: 10_000,
  });
  assert.ok(texts.objects.every((o) => o.text === `step ${o.step}`));
});
