/**
 * The API over sequences of objects: searches with last steps and
 * thumbnails, one sequence's objects, objects' bytes one at a time and
 * packed, a step across sequences, a distribution matrix; their errors;
 * and the same answers through a real `aim up` and its Workers.
 */

import assert from "node:assert/strict";
import { createApp } from "../server/app.ts";
import { answer } from "../server/query_worker.ts";
import { OBJECTS_BINARY_TYPE } from "../server/object_answers.ts";
import { Distribution, Image, type Repo, Text } from "../lib/mod.ts";
import { decodePng } from "../lib/objects/mod.ts";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";

const TOKEN = "objects-api-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, "content-type": "application/json" };

/** An 8×8 baseline JPEG (made by PIL). */
const JPEG =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwBkfhwAQ2ek6ADkLIb7SNE6dQYyLqT6E/J6YPWiiirSsS3c/9k=";

function gray(value: number, size = 8): Image {
  return Image.fromPixels(
    new Uint8Array(size * size).fill(value),
    size,
    size,
    1,
  );
}

/** Two finished runs and one left unindexed, each with images (one run with a JPEG), histograms and texts. */
async function seed(repo: Repo): Promise<string[]> {
  const hashes: string[] = [];
  for (let r = 0; r < 3; r++) {
    const run = await repo.startRun({ name: `run-${r}` });
    run.set("hparams", { lr: 0.1 / (r + 1) });
    for (let step = 0; step < 10; step += 2) {
      run.track([gray(step * 10 + r, 200), gray(255 - step)], {
        name: "samples",
        step,
        epoch: step >> 2,
        context: { subset: r === 2 ? "train" : "val" },
      });
      run.track(Distribution.fromSamples([step, step + 1, step + 2], 3), {
        name: "weights",
        step,
      });
      run.track(new Text(step === 4 ? "a Cat sat" : `text ${step}`), {
        name: "notes",
        step,
      });
    }
    if (r === 0) {
      const jpeg = (Uint8Array as unknown as {
        fromBase64(t: string): Uint8Array;
      }).fromBase64(JPEG);
      run.track(new Image(jpeg, { caption: "photo" }), { name: "photos" });
    }
    await run.close();
    hashes.push(run.hash);
  }
  // The last one as if its writer had been killed: read from its own space.
  repo.touchMarker(hashes[2]!);
  return hashes;
}

function appFor(repo: Repo) {
  return createApp({
    repo,
    token: TOKEN,
    query: (request) => Promise.resolve(answer(repo, request)),
  });
}

async function post(
  app: ReturnType<typeof appFor>,
  path: string,
  body: unknown,
) {
  return await app.request(path, {
    method: "POST",
    headers: JSON_AUTH,
    body: JSON.stringify(body),
  });
}

/** The parts of a packed answer of `POST /api/objects/batch`. */
function unpack(bytes: Uint8Array) {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(
    0,
    true,
  );
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(4, 4 + length)),
  );
  const body = bytes.subarray(4 + length);
  return header.objects.map((entry: Record<string, unknown>) => ({
    ...entry,
    bytes: entry.error === undefined
      ? body.subarray(
        entry.offset as number,
        (entry.offset as number) + (entry.length as number),
      )
      : null,
  }));
}

Deno.test("POST /api/sequences/search answers matches of one kind with their last step and thumbnail, indexed or not", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  const app = appFor(repo);
  const res = await post(app, "/api/sequences/search", {
    q: 'images.name == "samples" and run.hparams.lr > 0.04',
    thumbs: true,
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.kind, "images");
  assert.equal(body.total, 2);
  assert.deepEqual(
    body.sequences.map((s: { run: { hash: string } }) => s.run.hash),
    hashes.slice(0, 2),
  );
  const [first] = body.sequences;
  assert.deepEqual(first.sequence, {
    kind: "images",
    name: "samples",
    context: { subset: "val" },
    count: 5,
    items: 10,
    first_step: 0,
    last_step: 8,
    last_time: first.sequence.last_time,
  });
  assert.equal(first.tail.step, 8);
  assert.deepEqual(first.tail.objects.map((o: { width: number }) => o.width), [
    200,
    8,
  ]);
  const thumb = (Uint8Array as unknown as { fromBase64(t: string): Uint8Array })
    .fromBase64(first.thumb.slice("data:image/png;base64,".length));
  const pixels = decodePng(thumb);
  assert.deepEqual([pixels.width, pixels.data[0]], [64, 80]);

  // The unindexed run answers the same way, from its own space.
  const unindexed = await (await post(app, "/api/sequences/search", {
    q: 'images.context.subset == "train"',
  })).json();
  assert.equal(unindexed.total, 1);
  assert.equal(unindexed.sequences[0].run.indexed, false);
  assert.equal(unindexed.sequences[0].tail.step, 8);
  assert.equal(
    unindexed.sequences[0].thumb,
    null,
    "thumbnails only when asked",
  );

  const texts = await (await post(app, "/api/sequences/search", {
    q: "run.hparams.lr < 0.04",
    kind: "texts",
  })).json();
  assert.deepEqual(
    texts.sequences.map((s: { tail: { objects: { excerpt: string }[] } }) =>
      s.tail.objects[0]!.excerpt
    ),
    ["text 8"],
  );

  for (
    const [request, message] of [
      [{ q: "run.hparams.lr > 0" }, /Say which sequences to search/],
      [
        { q: "", kind: "videos" },
        /must be one of images, distributions, texts/,
      ],
      [
        { q: 'images.name == "a"', kind: "texts" },
        /mentions images but the kind asked for is texts/,
      ],
      [{ q: 'metric.name == "loss"', kind: "images" }, /mentions metric/],
      [
        { q: 'images.name == "a" and texts.name == "b"' },
        /mentions images, so it cannot mention texts/,
      ],
      [{ q: "images.width > 3" }, /unknown images field "width"/],
    ] as const
  ) {
    const refused = await post(app, "/api/sequences/search", request);
    assert.equal(refused.status, 400, JSON.stringify(request));
    assert.match((await refused.json()).error.message, message);
  }
});

Deno.test("GET /api/runs/:hash/sequences/:kind pages a sequence's objects by step; texts can be searched", async () => {
  await using repo = await tempRepo();
  const [hash] = await seed(repo);
  const app = appFor(repo);
  const get = (path: string) => app.request(path, { headers: AUTH });
  const images = await (await get(
    `/api/runs/${hash}/sequences/images?name=samples&context=${
      encodeURIComponent('{"subset":"val"}')
    }&from=2&to=6&limit=3&offset=1`,
  )).json();
  assert.equal(images.total, 6);
  assert.deepEqual(images.steps, [0, 2, 4, 6, 8]);
  assert.deepEqual(
    images.objects.map((o: { step: number; item: number }) => [o.step, o.item]),
    [[2, 1], [4, 0], [4, 1]],
  );
  const cat =
    await (await get(`/api/runs/${hash}/sequences/texts?name=notes&search=cAT`))
      .json();
  assert.deepEqual([cat.total, cat.objects[0].text, cat.objects[0].step], [
    1,
    "a Cat sat",
    4,
  ]);
  const weights = await (await get(
    `/api/runs/${hash}/sequences/distributions?name=weights&from=8`,
  )).json();
  assert.deepEqual(weights.objects[0].counts, [1, 1, 1]);
  assert.ok(
    weights.objects[0].edges.every((e: number, i: number) =>
      Math.abs(e - (8 + (2 * i) / 3)) < 1e-9
    ),
  );

  const missing = await get(`/api/runs/${hash}/sequences/images?name=samples`);
  assert.equal(missing.status, 404, "the context names the sequence exactly");
  assert.match(
    (await missing.json()).error.message,
    /no images sequence "samples" with context \{\}/,
  );
  assert.equal(
    (await get(`/api/runs/${hash}/sequences/videos?name=x`)).status,
    400,
  );
  assert.equal((await get(`/api/runs/${hash}/sequences/images`)).status, 400);
  assert.equal(
    (await get(`/api/runs/${hash}/sequences/images?name=samples&limit=20000`))
      .status,
    400,
  );
});

Deno.test("GET /api/runs/:hash/objects/:id answers an image's bytes or thumbnail with its type, cached for good", async () => {
  await using repo = await tempRepo();
  const [hash] = await seed(repo);
  const app = appFor(repo);
  const get = (path: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers: { ...AUTH, ...headers } });
  const listed = await (await get(
    `/api/runs/${hash}/sequences/images?name=samples&context=${
      encodeURIComponent('{"subset":"val"}')
    }&from=6&to=6`,
  )).json();
  const id = listed.objects[0].id;
  const full = await get(`/api/runs/${hash}/objects/${id}`);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("content-type"), "image/png");
  assert.equal(
    full.headers.get("cache-control"),
    "private, max-age=31536000, immutable",
  );
  const etag = full.headers.get("etag")!;
  assert.equal(decodePng(new Uint8Array(await full.arrayBuffer())).width, 200);
  const thumb = await get(`/api/runs/${hash}/objects/${id}?thumb=1`);
  const small = decodePng(new Uint8Array(await thumb.arrayBuffer()));
  assert.deepEqual([small.width, small.data[0]], [128, 60]);
  assert.notEqual(thumb.headers.get("etag"), etag);
  const again = await get(`/api/runs/${hash}/objects/${id}`, {
    "if-none-match": etag,
  });
  assert.equal(again.status, 304);

  const photos =
    await (await get(`/api/runs/${hash}/sequences/images?name=photos`)).json();
  const photo = await get(
    `/api/runs/${hash}/objects/${photos.objects[0].id}?thumb=1`,
  );
  assert.equal(
    photo.headers.get("content-type"),
    "image/jpeg",
    "a JPEG is its own thumbnail",
  );
  assert.equal(photos.objects[0].caption, "photo");

  assert.equal((await get(`/api/runs/${hash}/objects/999999`)).status, 404);
  for (const bad of ["0", "-1", "1.5", "x", "01"]) {
    assert.equal(
      (await get(`/api/runs/${hash}/objects/${bad}`)).status,
      400,
      bad,
    );
  }
  assert.equal((await get(`/api/runs/..%2F..%2Fetc/objects/1`)).status, 400);
});

Deno.test("POST /api/objects/batch packs many objects' bytes from many runs, naming what is missing", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  const app = appFor(repo);
  const asked = [];
  for (const hash of hashes) {
    const context = hash === hashes[2]
      ? '{"subset":"train"}'
      : '{"subset":"val"}';
    const listed = await (await app.request(
      `/api/runs/${hash}/sequences/images?name=samples&context=${
        encodeURIComponent(context)
      }&from=8&to=8`,
      { headers: AUTH },
    )).json();
    for (const o of listed.objects) asked.push({ run: hash, id: o.id });
  }
  asked.splice(1, 0, { run: hashes[0]!, id: 424242 });
  const res = await post(app, "/api/objects/batch", {
    objects: asked,
    thumb: true,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), OBJECTS_BINARY_TYPE);
  const parts = unpack(new Uint8Array(await res.arrayBuffer()));
  assert.equal(parts.length, asked.length);
  assert.match(parts[1].error, /has no object 424242/);
  const images = parts.filter((p: { error?: string }) => p.error === undefined);
  assert.equal(images.length, 6);
  for (const part of images) {
    assert.equal(part.type, "image/png");
    const pixels = decodePng(part.bytes);
    // The 200-pixel image comes as its 128-pixel thumbnail; the 8-pixel one as itself.
    assert.ok([128, 8].includes(pixels.width));
  }
  const tooMany = await post(app, "/api/objects/batch", {
    objects: Array.from({ length: 2001 }, () => ({ run: hashes[0], id: 1 })),
  });
  assert.equal(tooMany.status, 400);
  const badHash = await post(app, "/api/objects/batch", {
    objects: [{ run: "../x", id: 1 }],
  });
  assert.equal(badHash.status, 400);
});

Deno.test("POST /api/sequences/at answers each sequence's objects at a step, or the nearest step it has", async () => {
  await using repo = await tempRepo();
  const hashes = await seed(repo);
  const app = appFor(repo);
  const sequences = [
    { run: hashes[0], name: "samples", context: { subset: "val" } },
    { run: hashes[2], name: "samples", context: { subset: "train" } },
    { run: hashes[1], name: "nothing" },
  ];
  const at = async (step: number, kind = "images") =>
    (await (await post(app, "/api/sequences/at", { kind, sequences, step }))
      .json()).at;
  const five = await at(5);
  assert.deepEqual(five.map((s: { step: number | null }) => s.step), [
    4,
    4,
    null,
  ]);
  assert.deepEqual(five[0].objects.map((o: { item: number }) => o.item), [
    0,
    1,
  ]);
  assert.match(five[2].error, /has no images sequence "nothing"/);
  assert.deepEqual((await at(-3)).map((s: { step: number | null }) => s.step), [
    0,
    0,
    null,
  ]);
  assert.deepEqual(
    (await at(100)).map((s: { step: number | null }) => s.step),
    [8, 8, null],
  );
  const texts = await (await post(app, "/api/sequences/at", {
    kind: "texts",
    sequences: [{ run: hashes[0], name: "notes" }],
    step: 4,
  })).json();
  assert.equal(texts.at[0].objects[0].text, "a Cat sat");
  assert.equal(
    (await post(app, "/api/sequences/at", {
      kind: "images",
      sequences,
      step: "x",
    })).status,
    400,
  );
  assert.equal(
    (await post(app, "/api/sequences/at", {
      kind: "images",
      sequences: [{ run: hashes[0] }],
      step: 1,
    })).status,
    400,
  );
});

Deno.test("GET /api/runs/:hash/distributions answers a matrix of steps × bins for a heatmap", async () => {
  await using repo = await tempRepo();
  const [hash] = await seed(repo);
  const app = appFor(repo);
  const matrix = await (await app.request(
    `/api/runs/${hash}/distributions?name=weights&bins=10`,
    { headers: AUTH },
  )).json();
  assert.deepEqual(matrix.steps, [0, 2, 4, 6, 8]);
  assert.deepEqual([matrix.low, matrix.high, matrix.bins], [0, 10, 10]);
  // Samples 0, 1, 2 in bins of 2/3 from 0: the middle bin straddles 1.
  const close = (got: number[], want: number[]) =>
    assert.ok(
      got.length === want.length &&
        got.every((v, i) => Math.abs(v - want[i]!) < 1e-9),
      `${got} is not ${want}`,
    );
  close(matrix.counts[0], [1.5, 1.5, 0, 0, 0, 0, 0, 0, 0, 0]);
  close(matrix.counts[4], [0, 0, 0, 0, 0, 0, 0, 0, 1.5, 1.5]);
  const refused = await app.request(
    `/api/runs/${hash}/distributions?name=weights&rows=0`,
    { headers: AUTH },
  );
  assert.equal(refused.status, 400);
  assert.equal(
    (await app.request(`/api/runs/${hash}/distributions?name=samples`, {
      headers: AUTH,
    })).status,
    404,
  );
});

Deno.test("through a real aim up, images come from the query Workers as bytes with their type", async () => {
  await using repo = await tempRepo();
  const [hash] = await seed(repo);
  await using server = await startAimUp(repo.path);
  const found = await (await server.fetch("api/sequences/search", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ q: 'images.name == "photos"', thumbs: true }),
  })).json();
  assert.equal(found.total, 1);
  assert.match(found.sequences[0].thumb, /^data:image\/jpeg;base64,/);
  const id = found.sequences[0].tail.objects[0].id;
  const image = await server.fetch(`api/runs/${hash}/objects/${id}`);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get("content-type"), "image/jpeg");
  assert.equal((await image.arrayBuffer()).byteLength, 659);
  const batch = await server.fetch("api/objects/batch", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ objects: [{ run: hash, id }] }),
  });
  const [part] = unpack(new Uint8Array(await batch.arrayBuffer()));
  assert.deepEqual([part.type, part.length], ["image/jpeg", 659]);
});
