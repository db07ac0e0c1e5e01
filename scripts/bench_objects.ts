/// <reference lib="dom" />
/**
 * The objects section of `deno task bench`: tracking images (in process
 * and through `aim track`), what they take on disk, the API's first answer
 * for an images grid over 1,000 runs × 100 steps × 16 images (sequence
 * search with thumbnails, then the first screen's thumbnails, then a step
 * of the slider), and a distribution heatmap of 1,000 steps × 64 bins.
 *
 * @module
 */

import { join } from "node:path";
import {
  Distribution,
  Image,
  readDistributionMatrix,
  Repo,
} from "../lib/mod.ts";
import { answer } from "../server/query_worker.ts";
import { startAimUp, TEST_TOKEN } from "../tests/_aim_up.ts";
import { launchChromium } from "./_chromium.ts";
import {
  diskBytes,
  type Figure,
  formatMs,
  MAIN,
  median,
  progress,
  quantile,
  type Section,
  tempDir,
  timed,
} from "./_bench_util.ts";
import { photo } from "./_bench_objects_writer.ts";

const TRACK_IMAGES = 10_000;
const GRID_RUNS = 1_000;
const GRID_STEPS = 100;
const GRID_BATCH = 16;
/** Runs a first screen shows: what the UI asks thumbnails and slider steps for. */
const SCREEN_RUNS = 25;
const HEATMAP_STEPS = 1_000;
const HEATMAP_BINS = 64;
const REPS = 5;

const WRITER = new URL("./_bench_objects_writer.ts", import.meta.url);

/** The objects section of the benchmark. */
export const objects: Section = {
  title: "Images, distributions and texts",
  async run() {
    await using tmp = await tempDir("aim-bench-objects-");
    return [
      ...await tracking(tmp.path),
      ...await grid(tmp.path),
      ...await heatmap(tmp.path),
    ];
  },
};

// --- 1. tracking 10,000 images of 64×64 -------------------------------------

async function tracking(tmp: string): Promise<Figure[]> {
  progress(`tracking ${TRACK_IMAGES} images of 64×64 in process`);
  const pngs = Array.from({ length: 100 }, (_, i) => photo(i).bytes);
  const imageBytes = pngs.reduce((n, p) => n + p.length, 0) / pngs.length *
    TRACK_IMAGES;
  const repo = Repo.openSync(join(tmp, "track", ".aim"), { create: true });
  let trackMs: number, hash: string;
  try {
    const run = await repo.startRun();
    hash = run.hash;
    trackMs = timed(() => {
      for (let i = 0; i < TRACK_IMAGES; i++) {
        // From bytes, as a program that encoded them (or the protocol) gives them: checked whole.
        run.track(new Image(pngs[i % pngs.length]!), {
          name: "samples",
          step: i >> 4,
        });
      }
      run.finalize({ status: "finished" });
    }).ms;
  } finally {
    repo.close();
  }
  const onDisk = diskBytes(join(tmp, "track", ".aim", "runs", hash));
  const encodeMs = timed(() => {
    for (let i = 0; i < 1000; i++) photo(i);
  }).ms / 1000;

  progress(`tracking ${TRACK_IMAGES} images of 64×64 through aim track`);
  const input = join(tmp, "images.jsonl");
  const base64 = pngs.map((p) =>
    (p as unknown as { toBase64(): string }).toBase64()
  );
  const lines: string[] = [];
  for (let i = 0; i < TRACK_IMAGES; i += GRID_BATCH) {
    const items = Array.from(
      { length: GRID_BATCH },
      (_, j) => `{"data": "${base64[(i + j) % base64.length]}"}`,
    );
    lines.push(
      `{"image": [${items.join(", ")}], "name": "samples", "step": ${i >> 4}}`,
    );
  }
  lines.push('{"close": true}');
  Deno.writeTextFileSync(input, lines.join("\n") + "\n");
  const protocolRepo = join(tmp, "protocol", ".aim");
  Repo.openSync(protocolRepo, { create: true }).close();
  const rates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const start = performance.now();
    const file = Deno.openSync(input);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "track", "--repo", protocolRepo],
      stdin: "piped",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    await file.readable.pipeTo(out.stdin);
    const status = await out.status;
    if (!status.success) throw new Error(`aim track failed: ${status.code}`);
    rates.push(TRACK_IMAGES / ((performance.now() - start) / 1000));
  }
  const rate = TRACK_IMAGES / (trackMs / 1000);
  return [
    {
      figure: `run.track(new Image(png)) of ${
        TRACK_IMAGES.toLocaleString("en-US")
      } PNGs of 64×64 RGB (each decoded whole to be checked), batches of 16, incl. close()`,
      measured: `${Math.round(rate).toLocaleString("en-US")} images/s`,
      baseline: `${formatMs(encodeMs)} to encode one (Image.fromPixels)`,
      target: "≥ 2,000 images/s",
      pass: rate >= 2000,
    },
    {
      figure:
        `aim track < file of the same images as base64 lines of 16 (whole process, median of 3)`,
      measured: `${Math.round(median(rates)).toLocaleString("en-US")} images/s`,
      target: "≥ 2,000 images/s",
      pass: median(rates) >= 2000,
    },
    {
      figure: `bytes on disk for those ${
        TRACK_IMAGES.toLocaleString("en-US")
      } images (run folder)`,
      measured: `${(onDisk / 1e6).toFixed(1)} MB`,
      baseline: `${(imageBytes / 1e6).toFixed(1)} MB of PNG (${
        (onDisk / imageBytes).toFixed(2)
      }×)`,
      target: "≤ 1.2× the images",
      pass: onDisk <= 1.2 * imageBytes,
    },
  ];
}

// --- 2. the first grid: 1,000 runs × 100 steps × 16 images -----------------

async function grid(tmp: string): Promise<Figure[]> {
  const path = join(tmp, "grid", ".aim");
  Repo.openSync(path, { create: true }).close();
  progress(
    `writing ${GRID_RUNS} runs × ${GRID_STEPS} steps × ${GRID_BATCH} images with 2 writer processes`,
  );
  const buildMs =
    (await timedAsync(() =>
      Promise.all([0, 1].map((seed) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-all",
            WRITER.pathname,
            path,
            String(GRID_RUNS / 2),
            String(GRID_STEPS),
            String(GRID_BATCH),
            String(seed),
          ],
          stdout: "null",
          stderr: "inherit",
        }).output()
      ))
    )).ms;
  progress(
    `built in ${
      (buildMs / 1000).toFixed(0)
    } s; measuring in process and through aim up`,
  );
  const repo = Repo.openSync(path);
  const search = {
    kind: "sequences" as const,
    q: 'images.name == "samples" and images.context.subset == "val"',
    thumbs: true,
  };
  const inProcess: number[] = [];
  let answerBytes = 0;
  let found: {
    sequences: {
      run: { hash: string };
      tail: { objects: { id: number }[] };
    }[];
  } = { sequences: [] };
  for (let rep = 0; rep < REPS; rep++) {
    const { ms, result } = timed(() => answer(repo, search) as string);
    inProcess.push(ms);
    answerBytes = result.length;
    found = JSON.parse(result);
  }
  repo.close();
  if (found.sequences.length !== GRID_RUNS) {
    throw new Error(`the search found ${found.sequences.length} sequences`);
  }
  const screen = found.sequences.slice(0, SCREEN_RUNS);
  const thumbsBody = JSON.stringify({
    objects: screen.flatMap((s) =>
      s.tail.objects.map((o) => ({ run: s.run.hash, id: o.id }))
    ),
    thumb: true,
  });
  const atBody = (step: number) =>
    JSON.stringify({
      kind: "images",
      step,
      sequences: screen.map((s) => ({
        run: s.run.hash,
        name: "samples",
        context: { subset: "val" },
      })),
    });

  await using server = await startAimUp(path, { args: ["--no-index"] });
  const post = async (route: string, body: string) => {
    const res = await server.fetch(route, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const searchMs: number[] = [],
    thumbsMs: number[] = [],
    firstMs: number[] = [];
  let thumbBytes = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const start = performance.now();
    await post(
      "api/sequences/search",
      JSON.stringify({ q: search.q, thumbs: search.thumbs }),
    );
    const searched = performance.now();
    thumbBytes = (await post("api/objects/batch", thumbsBody)).length;
    const end = performance.now();
    searchMs.push(searched - start);
    thumbsMs.push(end - searched);
    firstMs.push(end - start);
  }
  const stepMs: number[] = [];
  for (let step = GRID_STEPS - 2; step >= GRID_STEPS - 22; step--) {
    const start = performance.now();
    const at = JSON.parse(
      new TextDecoder().decode(await post("api/sequences/at", atBody(step))),
    ) as { at: { objects: { id: number }[]; run: string }[] };
    // The step's images for the screen, as the slider shows them.
    await post(
      "api/objects/batch",
      JSON.stringify({
        objects: at.at.flatMap((s) =>
          s.objects.map((o) => ({ run: s.run, id: o.id }))
        ),
        thumb: true,
      }),
    );
    stepMs.push(performance.now() - start);
  }
  const browser = await inBrowser(server.url);
  const first = median(firstMs);
  const step = quantile(stepMs, 0.5);
  return [
    {
      figure:
        `images explorer in Chromium (/images, ${GRID_RUNS} runs × ${GRID_STEPS} steps × ${GRID_BATCH} images): from navigation to every image of the rows on screen shown, median of ${REPS}`,
      measured: formatMs(median(browser.first)),
      target: "≤ 1 s",
      pass: median(browser.first) <= 1000,
    },
    {
      figure:
        `a step of the explorer's slider in Chromium: from the slider's input event to every row on screen showing the new step's images, p50 / p90 of ${browser.steps.length} steps`,
      measured: `${formatMs(quantile(browser.steps, 0.5))} / ${
        formatMs(quantile(browser.steps, 0.9))
      }`,
      target: "≤ 100 ms",
      pass: quantile(browser.steps, 0.5) <= 100,
    },
    {
      figure: `sequence search over ${
        GRID_RUNS.toLocaleString("en-US")
      } runs × ${GRID_STEPS} steps × ${GRID_BATCH} images (index only: summaries, last steps, thumbnails inline; ${
        (answerBytes / 1e6).toFixed(1)
      } MB of JSON), in process`,
      measured: formatMs(median(inProcess)),
    },
    {
      figure: `first grid through aim up: that search, then the ${
        SCREEN_RUNS * GRID_BATCH
      } thumbnails of the first ${SCREEN_RUNS} runs in one batch (${
        (thumbBytes / 1e3).toFixed(0)
      } kB), median of ${REPS}`,
      measured: `${formatMs(first)} (search ${
        formatMs(median(searchMs))
      }, thumbnails ${formatMs(median(thumbsMs))})`,
      target: "≤ 1 s",
      pass: first <= 1000,
    },
    {
      figure:
        `a step of the slider through aim up: ${SCREEN_RUNS} runs' images at a step (POST /api/sequences/at) and their bytes (one batch), p50 / p90 of 21 steps`,
      measured: `${formatMs(step)} / ${formatMs(quantile(stepMs, 0.9))}`,
      target: "≤ 100 ms",
      pass: step <= 100,
    },
  ];
}

// --- 3. a distribution heatmap ----------------------------------------------

async function heatmap(tmp: string): Promise<Figure[]> {
  progress(
    `a distribution sequence of ${HEATMAP_STEPS} steps × ${HEATMAP_BINS} bins`,
  );
  const path = join(tmp, "heatmap", ".aim");
  const repo = Repo.openSync(path, { create: true });
  const run = await repo.startRun();
  const samples = new Float64Array(10_000);
  for (let step = 0; step < HEATMAP_STEPS; step++) {
    for (let i = 0; i < samples.length; i++) {
      samples[i] = Math.sin(i * 12.9898 + step) * (1 + step / 500);
    }
    run.track(Distribution.fromSamples(samples, HEATMAP_BINS), {
      name: "weights",
      step,
    });
  }
  await run.close();
  const inProcess: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    inProcess.push(
      timed(() =>
        readDistributionMatrix(repo, run.hash, "weights", {}, { rows: 1000 })
      ).ms,
    );
  }
  repo.close();
  await using server = await startAimUp(path, { args: ["--no-index"] });
  const http: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const start = performance.now();
    const res = await server.fetch(
      `api/runs/${run.hash}/distributions?name=weights&rows=1000`,
    );
    const body = await res.json();
    if (body.counts.length !== HEATMAP_STEPS) {
      throw new Error(`the matrix has ${body.counts.length} rows`);
    }
    http.push(performance.now() - start);
  }
  const browser = await launchChromium();
  const drawn: number[] = [];
  try {
    const page = await browser.newPage({
      viewport: { width: 1400, height: 900 },
    });
    await page.goto(`${server.url}?token=${TEST_TOKEN}`);
    for (let rep = 0; rep < REPS; rep++) {
      await page.goto(`${server.url}distributions`);
      const ms = await page.waitForFunction(() =>
        document.querySelector<HTMLElement>(".dist-card[data-drawn-ms]")
          ?.dataset.drawnMs
      );
      drawn.push(Number(await ms.jsonValue()));
    }
  } finally {
    await browser.close();
  }
  const ms = median(http);
  return [
    {
      figure: `distributions explorer in Chromium: a heatmap of ${
        HEATMAP_STEPS.toLocaleString("en-US")
      } steps × ${HEATMAP_BINS} bins from its request to drawn (fetch, parse, draw), median of ${REPS}`,
      measured: formatMs(median(drawn)),
      target: "≤ 200 ms",
      pass: median(drawn) <= 200,
    },
    {
      figure: `distribution matrix of ${
        HEATMAP_STEPS.toLocaleString("en-US")
      } steps × ${HEATMAP_BINS} bins (GET /api/runs/:hash/distributions through aim up, parsed), median of ${REPS}`,
      measured: formatMs(ms),
      baseline: `${formatMs(median(inProcess))} in process`,
      target: "≤ 200 ms",
      pass: ms <= 200,
    },
  ];
}

/** The images explorer in Chromium: the first grid, then steps of its slider. */
async function inBrowser(
  base: string,
): Promise<{ first: number[]; steps: number[] }> {
  const browser = await launchChromium();
  const first: number[] = [], steps: number[] = [];
  // Every row on screen shows its images at `label`'s step, loaded.
  const shown = (label: string) =>
    page.waitForFunction(
      (label) => {
        const rows = [...document.querySelectorAll(".image-row")].filter(
          (r) => {
            const box = r.getBoundingClientRect();
            return box.top < innerHeight && box.bottom > 0;
          },
        );
        return rows.length > 0 && rows.every((r) =>
          r.querySelector(".row-step")?.textContent?.startsWith(label) &&
          [...r.querySelectorAll(".cell img")].every((img) =>
            (img as HTMLImageElement).complete &&
            (img as HTMLImageElement).naturalWidth > 0
          ) && r.querySelectorAll(".cell img").length === 16
        );
      },
      label,
      { timeout: 60_000 },
    );
  const page = await browser.newPage({
    viewport: { width: 1400, height: 900 },
  });
  try {
    await page.goto(`${base}?token=${TEST_TOKEN}`);
    const q = encodeURIComponent(
      'images.name == "samples" and images.context.subset == "val"',
    );
    for (let rep = 0; rep < REPS; rep++) {
      const start = performance.now();
      await page.goto(`${base}images?q=${q}`);
      await shown(`step ${GRID_STEPS - 1}`);
      first.push(performance.now() - start);
    }
    for (let step = GRID_STEPS - 2; step >= GRID_STEPS - 22; step--) {
      const start = performance.now();
      await page.locator(".step-slider").fill(String(step));
      await shown(`step ${step}`);
      steps.push(performance.now() - start);
    }
  } finally {
    await browser.close();
  }
  return { first, steps };
}

async function timedAsync<T>(
  fn: () => Promise<T>,
): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}
