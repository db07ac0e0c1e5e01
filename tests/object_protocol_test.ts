/**
 * Object lines of the tracking protocol through a real `aim track`: good
 * ones stored, bad ones (an undecodable image, an oversized one, a bad
 * histogram, a file that may not be taken) refused with a named error in
 * the run's log, and nothing else lost.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ROOT, tempRepo } from "./_helpers.ts";
import { Ingester, parseMessage } from "../lib/tracking/mod.ts";
import { encodePng } from "../lib/objects/mod.ts";
import { AimError, readObject, readSequence, type Repo } from "../lib/mod.ts";

async function track(repoPath: string, input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      join(ROOT, "main.ts"),
      "track",
      "--repo",
      repoPath,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

function warnings(repo: Repo, hash: string): string[] {
  const db = new DatabaseSync(join(repo.runDir(hash), "run.db"), {
    readOnly: true,
  });
  try {
    return db.prepare(
      "SELECT text FROM logs WHERE level = 'warning' ORDER BY seq",
    ).all()
      .map((row) => String(row.text));
  } finally {
    db.close();
  }
}

function base64(bytes: Uint8Array): string {
  return (bytes as unknown as { toBase64(): string }).toBase64();
}

function png(value: number, size = 4): Uint8Array {
  return encodePng({
    width: size,
    height: size,
    channels: 1,
    data: new Uint8Array(size * size).fill(value),
  });
}

Deno.test("aim track stores object lines and refuses bad ones whole, with a named error, losing nothing else", async () => {
  await using repo = await tempRepo();
  const good = png(7);
  const truncated = png(9, 64).subarray(0, 60);
  // Random bytes compress badly: over 1 MiB as base64, so over a line's limit.
  const noise = new Uint8Array(900_000);
  for (let i = 0; i < noise.length; i += 65536) {
    crypto.getRandomValues(noise.subarray(i, i + 65536));
  }
  const oversized = encodePng({
    width: 600,
    height: 500,
    channels: 3,
    data: noise.subarray(0, 900_000),
  });
  const notOurs = join(repo.dir, "dataset-image.png");
  Deno.writeFileSync(notOurs, good);
  const handed = join(repo.dir, "aim-upload-1.png");
  Deno.writeFileSync(handed, png(42));
  const huge = join(repo.dir, "aim-upload-huge.png");
  using file = Deno.openSync(huge, { write: true, create: true });
  file.truncateSync(17 << 20);
  const lines = [
    `{"image": {"data": "${
      base64(good)
    }", "caption": "first"}, "name": "samples", "step": 0}`,
    `{"image": {"data": "${
      base64(new TextEncoder().encode("GIF89a not a png"))
    }"}, "name": "samples", "step": 1}`,
    `{"image": [{"data": "${base64(good)}"}, {"data": "${
      base64(truncated)
    }"}], "name": "samples", "step": 2}`,
    `{"image": {"data": "${base64(oversized)}"}, "name": "samples", "step": 3}`,
    `{"image": {"data": "not base64!"}, "name": "samples", "step": 4}`,
    `{"distribution": {"counts": [1, -2, 3], "range": [0, 1]}, "name": "weights", "step": 0}`,
    `{"distribution": {"counts": [1, 2], "edges": [0, 2, 1]}, "name": "weights", "step": 1}`,
    `{"distribution": {"counts": [1, 2], "range": [1, 0]}, "name": "weights", "step": 2}`,
    `{"distribution": {"counts": [1, 2]}, "name": "weights", "step": 3}`,
    `{"distribution": {"counts": [1, 2, 1], "range": [-1, 1]}, "name": "weights", "step": 4}`,
    `{"text": 42, "name": "notes"}`,
    `{"text": ["fine", {"text": "also", "caption": 3}], "name": "notes"}`,
    `{"image": {"path": "${notOurs}", "remove": true}, "name": "samples", "step": 5}`,
    `{"image": {"path": "${handed}", "remove": true}, "name": "samples", "step": 6}`,
    `{"image": {"path": "relative.png"}, "name": "samples", "step": 7}`,
    `{"image": {"data": "${base64(good)}"}, "step": 8}`,
    `{"image": {"path": "${huge}", "remove": true}, "name": "samples", "step": 9}`,
    `{"text": "kept", "name": "notes", "step": 9}`,
    `{"track": 0.5, "name": "loss", "step": 1}`,
    `{"close": true}`,
  ];
  const out = await track(repo.path, lines.join("\n") + "\n");
  assert.equal(out.code, 0, out.stderr);
  const hash = out.stdout.trim();
  const logged = warnings(repo, hash);
  const expected: [number, RegExp][] = [
    [
      2,
      /line 2: "image": the bytes are not a PNG or a JPEG \(they start with 47 49 46 38/,
    ],
    [3, /line 3: "image" item 1: the PNG cannot be decoded: .*truncated/],
    [
      4,
      /line 4: line is \d+ characters long, more than 1048576 \(a line holds about 760 KiB of image as base64: give a larger image as a file, "path"\)/,
    ],
    [5, /line 5: "image": "data" is not base64/],
    [6, /line 6: "distribution": count 1 of the histogram is -2/],
    [
      7,
      /line 7: "distribution": edge 2 of the histogram \(1\) is not above edge 1 \(2\)/,
    ],
    [
      8,
      /line 8: "distribution": the histogram's range must be two finite numbers, low < high, got \[1,0\]/,
    ],
    [
      9,
      /line 9: "distribution": a histogram needs "range": \[low, high\] or "edges"/,
    ],
    [
      11,
      /line 11: "text": expected a string, or an object with "text", got 42/,
    ],
    [12, /line 12: "text" item 1: "caption" must be a string, got 3/],
    [
      13,
      /line 13: "image": "remove" is allowed only for files named aim-upload-\*, not "dataset-image.png"/,
    ],
    [15, /line 15: "image": "path" must be absolute/],
    [16, /line 16: "name" must be a non-empty string/],
    [
      17,
      /line 17: "image": .*aim-upload-huge.png is 17825792 bytes, more than the 16777216 an image may be/,
    ],
  ];
  assert.equal(logged.length, expected.length, logged.join("\n"));
  expected.forEach(([line, pattern], i) => {
    assert.match(logged[i]!, pattern, `warning ${i} (line ${line})`);
    assert.match(logged[i]!, /^malformed tracking line skipped: /);
  });
  // The first five are echoed on stderr too.
  assert.equal(
    out.stderr.split("\n").filter((l) => l.startsWith("warning: line")).length,
    5,
  );

  const record = repo.index().get(hash)!;
  assert.equal(record.status, "finished");
  const images = readSequence(repo, hash, "images", "samples", {});
  assert.deepEqual(images.objects.map((o) => [o.step, o.caption ?? null]), [[
    0,
    "first",
  ], [6, null]]);
  assert.equal(readObject(repo, hash, images.objects[1]!.id)[0], 0x89);
  assert.throws(
    () => Deno.statSync(handed),
    Deno.errors.NotFound,
    "a handed-over file is removed",
  );
  assert.ok(
    Deno.statSync(notOurs).isFile,
    "a file not handed over is left alone",
  );
  const weights = readSequence(repo, hash, "distributions", "weights", {});
  assert.deepEqual(weights.objects.map((o) => [o.step, o.counts]), [[4, [
    1,
    2,
    1,
  ]]]);
  const notes = readSequence(repo, hash, "texts", "notes", {});
  assert.deepEqual(notes.objects.map((o) => o.text), ["kept"]);
  assert.equal(record.metrics[0]!.last, 0.5);
});

Deno.test("an image may name a file only where the ingester allows it", async () => {
  await using repo = await tempRepo();
  const file = join(repo.dir, "a.png");
  Deno.writeFileSync(file, png(3));
  const line = `{"image": {"path": "${file}"}, "name": "samples"}`;
  assert.throws(
    () => parseMessage(line),
    (e: Error) =>
      e instanceof AimError && /"path" is not allowed here/.test(e.message),
  );
  const message = parseMessage(line, { allowPaths: true });
  assert.equal(message.type, "object");
  const run = await repo.startRun();
  const ingester = new Ingester(run);
  ingester.push(new TextEncoder().encode(line + "\n"));
  assert.equal(
    ingester.end().malformed,
    1,
    "an Ingester refuses paths unless told",
  );
  await run.close();
  assert.deepEqual(repo.index().get(run.hash)!.sequences, []);
});
