/**
 * A real PyTorch training logs images, weight distributions and texts
 * through the Python client, under `aim run` and alone, and the API
 * answers them; a SIGKILL mid-training loses nothing that was flushed.
 *
 * These tests need Debian's `/usr/bin/python3` with torch and numpy (the
 * `python3` first on PATH may lack them); without them they are skipped,
 * saying so.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { aim, tempRepo, waitFor } from "./_helpers.ts";
import {
  AIM_BIN,
  aimArgs,
  PYTHON_CLIENT,
  Spawned,
} from "./fixtures/spawned.ts";
import { createApp } from "../server/app.ts";
import { answer } from "../server/query_worker.ts";
import { decodePng } from "../lib/objects/mod.ts";
import { MISSING, PYTHON, TRAINING } from "./fixtures/torch_training.ts";
import {
  readObject,
  readSequence,
  type Repo,
  type StoredObject,
} from "../lib/mod.ts";

const TOKEN = "python-objects-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

function appFor(repo: Repo) {
  return createApp({
    repo,
    token: TOKEN,
    query: (request) => Promise.resolve(answer(repo, request)),
  });
}

/** What the API answers of a trained run, checked against what the training tracked. */
async function checkTrainingThroughApi(
  repo: Repo,
  hash: string,
  steps: number,
) {
  const app = appFor(repo);
  const points = Math.ceil(steps / 5);
  const search = await app.request("/api/sequences/search", {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({
      q: 'images.name == "reconstructions" and images.context.subset == "train"',
      thumbs: true,
    }),
  });
  assert.equal(search.status, 200);
  const found = await search.json();
  assert.equal(found.total, 1);
  const [match] = found.sequences;
  assert.equal(match.run.hash, hash);
  assert.deepEqual(
    [match.sequence.count, match.sequence.items, match.sequence.last_step],
    [points, 16 * points, 5 * (points - 1)],
  );
  assert.equal(match.tail.objects.length, 16);
  assert.match(match.thumb, /^data:image\/png;base64,/);

  const inputs = await (await app.request(
    `/api/runs/${hash}/sequences/images?name=inputs&from=0&to=0`,
    { headers: AUTH },
  )).json();
  assert.equal(inputs.total, 16);
  assert.deepEqual(
    inputs.steps,
    Array.from({ length: points }, (_, i) => 5 * i),
  );
  assert.deepEqual(
    inputs.objects.map((o: StoredObject) => o.caption),
    Array.from({ length: 16 }, (_, i) => `input ${i}`),
  );
  const image = await app.request(
    `/api/runs/${hash}/objects/${inputs.objects[3].id}`,
    { headers: AUTH },
  );
  assert.equal(image.headers.get("content-type"), "image/png");
  assert.match(image.headers.get("cache-control")!, /immutable/);
  const pixels = decodePng(new Uint8Array(await image.arrayBuffer()));
  assert.deepEqual([pixels.width, pixels.height, pixels.channels], [16, 16, 1]);
  // A bright 4×4 square on black, as the training drew it.
  assert.equal(pixels.data.filter((v) => v === 255).length, 16);
  assert.equal(pixels.data.filter((v) => v === 0).length, 256 - 16);

  for (const param of ["1.weight", "1.bias", "3.weight", "3.bias"]) {
    const matrix = await (await app.request(
      `/api/runs/${hash}/distributions?name=weights&context=${
        encodeURIComponent(JSON.stringify({ param }))
      }`,
      { headers: AUTH },
    )).json();
    assert.equal(matrix.total, points, param);
    assert.equal(matrix.bins, 64);
    const size = {
      "1.weight": 256 * 32,
      "1.bias": 32,
      "3.weight": 32 * 256,
      "3.bias": 256,
    }[param]!;
    for (const row of matrix.counts) {
      assert.ok(
        Math.abs(row.reduce((a: number, b: number) => a + b, 0) - size) < 1e-6,
      );
    }
  }

  const notes = await (await app.request(
    `/api/runs/${hash}/sequences/texts?name=notes&search=${
      encodeURIComponent("STEP 10:")
    }`,
    { headers: AUTH },
  )).json();
  assert.equal(notes.total, 1);
  assert.match(notes.objects[0].text, /^step 10: loss \d+\.\d{4}$/);
  assert.equal(notes.objects[0].caption, "note");
}

Deno.test({
  name:
    "a PyTorch training under aim run logs image batches, weight distributions and texts, and the API answers them",
  ignore: MISSING !== null,
  fn: async () => {
    await using repo = await tempRepo();
    await using child = new Spawned(
      Deno.execPath(),
      aimArgs([
        "run",
        "--repo",
        repo.path,
        "--system-interval",
        "0",
        "--",
        PYTHON,
        "-c",
        TRAINING,
        "30",
      ]),
      { env: { PYTHONPATH: PYTHON_CLIENT } },
    );
    const status = await child.finished();
    assert.equal(status.code, 0, child.stderr);
    assert.equal(child.lines.at(-1), "done");
    const [hash] = repo.listRuns();
    assert.equal(repo.index().get(hash!)!.status, "finished");
    await checkTrainingThroughApi(repo, hash!, 30);
  },
});

Deno.test({
  name: "a PyTorch training without aim run logs the same through aim track",
  ignore: MISSING !== null,
  fn: async () => {
    await using repo = await tempRepo();
    await using child = new Spawned(PYTHON, ["-c", TRAINING, "30"], {
      env: { PYTHONPATH: PYTHON_CLIENT, AIM_BIN, AIM_REPO: repo.path },
    });
    const status = await child.finished();
    assert.equal(status.code, 0, child.stderr);
    const hash = child.lines[0]!.split(" ")[3]!;
    assert.equal(repo.index().get(hash)!.status, "finished");
    await checkTrainingThroughApi(repo, hash, 30);
  },
});

Deno.test({
  name:
    "SIGKILL of aim run mid-training: every flushed image and histogram is there after aim reindex, byte for byte",
  ignore: MISSING !== null,
  fn: async () => {
    await using repo = await tempRepo();
    await using child = new Spawned(
      Deno.execPath(),
      aimArgs([
        "run",
        "--repo",
        repo.path,
        "--system-interval",
        "0",
        "--",
        PYTHON,
        "-c",
        TRAINING,
        "-1",
      ]),
      { env: { PYTHONPATH: PYTHON_CLIENT } },
    );
    const [, pid, , hash] = (await child.waitForLine(/^pid \d+ hash /)).split(
      " ",
    );
    let flushed: ReturnType<typeof snapshot>;
    try {
      // Wait until the writer has committed several batches, as a reader sees them.
      await waitFor(
        () => {
          const record = repo.loadRun(hash!).record;
          const items = record.sequences?.find((q) =>
            q.name === "reconstructions"
          )?.items ?? 0;
          return items >= 16 * 4;
        },
        "four batches of reconstructions flushed",
        60_000,
      );
      // What the live writer has committed: a later flush may add to it before the kill.
      flushed = snapshot(repo, hash!);
      assert.ok(flushed.images.size >= 2 * 16 * 4);
      child.child.kill("SIGKILL");
      assert.equal((await child.finished()).signal, "SIGKILL");
    } finally {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    assert.ok(
      repo.listMarkers().includes(hash!),
      "the killed run keeps its marker",
    );
    const reindexed = await aim(["reindex", "--repo", repo.path]);
    assert.equal(reindexed.code, 0, reindexed.stderr);
    const record = repo.index().get(hash!)!;
    assert.equal(record.status, "crashed");
    const after = snapshot(repo, hash!);
    for (const [id, digest] of flushed.images) {
      assert.equal(after.images.get(id), digest, `image ${id}`);
    }
    for (const [id, digest] of flushed.histograms) {
      assert.equal(after.histograms.get(id), digest, `histogram ${id}`);
    }
    const summary = (name: string) =>
      record.sequences!.find((q) => q.name === name)!;
    assert.equal(summary("inputs").items, after.images.size / 2);
    assert.equal(summary("reconstructions").items, after.images.size / 2);
    // Four parameters each have one histogram per point.
    assert.equal(after.histograms.size, 4 * summary("notes").count);
  },
});

/** Every image's and histogram's bytes (as SHA-256) in a run's own space, by object id. */
function snapshot(repo: Repo, hash: string) {
  const images = new Map<number, string>();
  const histograms = new Map<number, string>();
  const digest = (bytes: Uint8Array) =>
    createHash("sha256").update(bytes).digest("hex");
  for (
    const [name, context] of [["inputs", {}], ["reconstructions", {
      subset: "train",
    }]] as const
  ) {
    for (
      const object of readSequence(repo, hash, "images", name, context, {
        limit: 10_000,
      }).objects
    ) {
      images.set(object.id, digest(readObject(repo, hash, object.id)));
    }
  }
  for (const param of ["1.weight", "1.bias", "3.weight", "3.bias"]) {
    for (
      const object of readSequence(repo, hash, "distributions", "weights", {
        param,
      }, { limit: 10_000 }).objects
    ) {
      histograms.set(object.id, digest(readObject(repo, hash, object.id)));
    }
  }
  return { images, histograms };
}

Deno.test("the Python client encodes images with the standard library alone, and hands a large one over as a file", async () => {
  await using repo = await tempRepo();
  // The client's own temporary folder, so that its files can be counted.
  const tmp = await Deno.makeTempDir({ dir: repo.dir });
  // The python3 first on PATH, with or without NumPy and PIL.
  await using child = new Spawned(
    "python3",
    [
      "-c",
      `
import glob, os, random, tempfile
import aim_client
from aim_client import Run, Image, Distribution, Text
random.seed(1)
run = Run()
print("hash", run.hash, flush=True)
gray = [[(x * 16 + y) % 256 for x in range(16)] for y in range(8)]
rgb = [[[1.0, 0.5, 0.0] for x in range(4)] for y in range(2)]
run.track([Image(gray, caption="gray"), Image(rgb)], name="small", step=0)
noise = [[[random.randrange(256) for c in range(3)] for x in range(600)] for y in range(600)]
big = Image(noise)
print("big", len(big.data) > aim_client.INLINE_IMAGE_BYTES, flush=True)
run.track(big, name="big", step=0)
run.track(Distribution([1, 2, 2, 3, float("nan")], bin_count=3), name="d", step=0)
run.track(Text("plain"), name="t", step=0)
run.close()
print("left", len(glob.glob(os.path.join(tempfile.gettempdir(), "aim-upload-*"))), flush=True)
`,
    ],
    {
      env: {
        PYTHONPATH: PYTHON_CLIENT,
        AIM_BIN,
        AIM_REPO: repo.path,
        TMPDIR: tmp,
      },
    },
  );
  const status = await child.finished();
  assert.equal(status.code, 0, child.stderr);
  const hash = child.lines[0]!.split(" ")[1]!;
  assert.equal(child.lines[1], "big True");
  assert.equal(child.lines[2], "left 0", "aim removed the file it was handed");
  const small = readSequence(repo, hash, "images", "small", {});
  const gray = decodePng(readObject(repo, hash, small.objects[0]!.id));
  assert.deepEqual([gray.width, gray.height, gray.channels], [16, 8, 1]);
  assert.equal(gray.data[17], (1 * 16 + 1) % 256);
  const rgb = decodePng(readObject(repo, hash, small.objects[1]!.id));
  assert.deepEqual([...rgb.data.subarray(0, 3)], [255, 128, 0]);
  const big = readSequence(repo, hash, "images", "big", {}).objects[0]!;
  assert.deepEqual([big.width, big.height], [600, 600]);
  const d = readSequence(repo, hash, "distributions", "d", {}).objects[0]!;
  assert.deepEqual([d.counts, d.low, d.high], [[1, 2, 1], 1, 3]);
});
