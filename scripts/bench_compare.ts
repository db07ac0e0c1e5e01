/**
 * The compare section of `deno task bench`: the params and scatters
 * explorers in headless Chromium against a real `aim up` over 10,000 runs
 * written straight into the index, and the metrics explorer over 500 runs
 * written through the writer.
 *
 * - Params explorer, 8 axes (params of every kind and series summaries):
 *   time from the navigation to the first lines drawn (the page's
 *   `aim:params-painted` mark), and the time one brush move takes to
 *   select and redraw (the page's `data-brush-ms`, over 20 moves).
 * - Scatters explorer: time to the first points (`aim:scatter-painted`).
 * - The server's share: `POST /api/runs/fields` for the 8 axes, from Deno.
 * - Metrics explorer, 4 metrics × 500 runs written through the writer
 *   (as the UI section writes them, 1,000 steps each): time from the
 *   navigation to a line drawn on each of the four charts
 *   (`aim:every-chart`), and to every line from its index preview
 *   (`aim:all-lines`).
 *
 * @module
 */

import { join } from "node:path";
import type { Browser, Page } from "../tests/_dev_deps.ts";
import { launchChromium } from "./_chromium.ts";
import { startAimUp } from "../tests/_aim_up.ts";
import { newHash } from "../lib/mod.ts";
import type { RunRecord } from "../lib/mod.ts";
import {
  bulkWriteRecords,
  type Figure,
  median,
  progress,
  type Section,
  tempDir,
} from "./_bench_util.ts";
import { generateRuns, METRICS } from "./bench_ui.ts";

const RUNS = 10_000;
const LOADS = 3;
const TOKEN = "bench-token-0123456789";
/** The metrics explorer's runs, and the steps of each of their 4 series. */
const METRIC_RUNS = 500;
const METRIC_STEPS = 1_000;

/** The 8 axes: numbers, categories, a bool, None in some runs, series summaries. */
const AXES = [
  "run.hparams.lr",
  "run.hparams.batch_size",
  "run.hparams.optimizer",
  "run.hparams.dropout",
  "run.hparams.warmup",
  "run.hparams.nesterov",
  'run.metrics["loss", {"subset": "val"}].min',
  'run.metrics["accuracy", {"subset": "val"}].last',
];

/** The compare section of the benchmark. */
export const compare: Section = {
  title:
    "Compare runs: params, scatters and metrics explorers (headless Chromium)",
  async run() {
    await using tmp = await tempDir("aim-bench-compare-");
    const path = join(tmp.path, ".aim");
    const start = Date.now() / 1000 - RUNS;
    bulkWriteRecords(path, RUNS, (i) => _record(i, start + i), (n) => {
      if (n % 2000 === 0) progress(`wrote ${n} runs`);
    });
    await using up = await startAimUp(path, { token: TOKEN });
    const server: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const t0 = performance.now();
      const answer = await (await up.fetch("api/runs/fields", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ q: "", fields: ["run.name", ...AXES] }),
      })).json();
      server.push(performance.now() - t0);
      if (answer.rows.length !== RUNS) {
        throw new Error(`fields answered ${answer.rows.length} rows`);
      }
    }
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({
        viewport: { width: 1400, height: 900 },
      });
      page.on("pageerror", (error) => progress(`page error: ${error.message}`));
      const search = new URLSearchParams();
      for (const axis of AXES) search.append("axis", axis);
      search.set("color", "run.hparams.optimizer");
      const paints: number[] = [];
      for (let i = 0; i < LOADS; i++) {
        await page.goto(`${up.url}params?${search}&token=${TOKEN}`);
        paints.push(await _mark(page, "aim:params-painted"));
        progress(`params first paint ${paints.at(-1)!.toFixed(0)} ms`);
      }
      const canvas = page.locator("canvas.parallel");
      const lines = await canvas.getAttribute("data-lines");
      const box = (await canvas.boundingBox())!;
      const x = box.x + 70;
      await page.mouse.move(x, box.y + 100);
      await page.mouse.down();
      const brushes: number[] = [];
      for (let k = 1; k <= 20; k++) {
        await page.mouse.move(x, box.y + 100 + k * 12);
        brushes.push(Number(await canvas.getAttribute("data-brush-ms")));
      }
      await page.mouse.up();
      const selected = await canvas.getAttribute("data-selected");
      const scatters: number[] = [];
      const scatter = new URLSearchParams({
        x: AXES[0]!,
        y: AXES[6]!,
        color: "run.hparams.optimizer",
        logx: "1",
      });
      for (let i = 0; i < LOADS; i++) {
        await page.goto(`${up.url}scatters?${scatter}&token=${TOKEN}`);
        scatters.push(await _mark(page, "aim:scatter-painted"));
      }
      const points = await page.locator("canvas.scatter").getAttribute(
        "data-points",
      );
      const metrics = await _metricsExplorer(browser, tmp.path);
      const worstBrush = Math.max(...brushes);
      return [
        {
          figure: `params explorer, ${
            RUNS.toLocaleString("en-US")
          } runs × 8 axes: first paint (median of ${LOADS})`,
          measured: `${median(paints).toFixed(0)} ms (${lines} lines)`,
          baseline: `server alone: ${median(server).toFixed(0)} ms`,
          target: "≤ 1 s",
          pass: median(paints) <= 1000,
        },
        {
          figure:
            "params explorer: one brush move, select and redraw (median / worst of 20)",
          measured: `${median(brushes).toFixed(1)} / ${
            worstBrush.toFixed(1)
          } ms (${selected} selected at the end)`,
          target: "≤ 50 ms",
          pass: worstBrush <= 50,
        },
        {
          figure: `scatters explorer, ${
            RUNS.toLocaleString("en-US")
          } points: first paint (median of ${LOADS})`,
          measured: `${median(scatters).toFixed(0)} ms (${points} points)`,
          target: "≤ 500 ms",
          pass: median(scatters) <= 500,
        },
        ...metrics,
      ] satisfies Figure[];
    } finally {
      await browser.close();
    }
  },
};

/**
 * The metrics explorer over {@linkcode METRIC_RUNS} runs of 4 series,
 * written under `dir` through the writer: a chart per series.
 */
async function _metricsExplorer(
  browser: Browser,
  dir: string,
): Promise<Figure[]> {
  const path = join(dir, "metrics", ".aim");
  progress(
    `writing ${METRIC_RUNS} runs × ${METRICS.length} series × ${METRIC_STEPS} steps through the writer`,
  );
  const writeStart = performance.now();
  await generateRuns(path, METRIC_RUNS, METRIC_STEPS, METRICS.length);
  progress(
    `wrote them in ${((performance.now() - writeStart) / 1000).toFixed(1)} s`,
  );
  await using up = await startAimUp(path, { token: TOKEN });
  const index = await (await up.fetch("api/index")).json();
  if (index.status.indexed !== METRIC_RUNS) {
    throw new Error(
      `${index.status.indexed} of ${METRIC_RUNS} runs are indexed: the writer indexes a run as it closes`,
    );
  }
  const [first, ...others] = METRICS;
  const search = new URLSearchParams({
    metric: first,
    context: '{"subset":"train"}',
  });
  for (const metric of others) {
    search.append("also", metric);
    search.append("alsoctx", '{"subset":"train"}');
  }
  const page = await browser.newPage({
    viewport: { width: 1400, height: 900 },
  });
  page.on("pageerror", (error) => progress(`page error: ${error.message}`));
  const every: number[] = [];
  const all: number[] = [];
  try {
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${up.url}metrics?${search}&token=${TOKEN}`);
      every.push(await _mark(page, "aim:every-chart"));
      all.push(await _mark(page, "aim:all-lines"));
      progress(
        `metrics explorer: a line on every chart ${
          every.at(-1)!.toFixed(0)
        } ms, every line ${all.at(-1)!.toFixed(0)} ms`,
      );
    }
    const lines = await page.locator(".chart-main").evaluateAll((boxes) =>
      boxes.map((box) => Number(box.getAttribute("data-lines")))
    );
    if (lines.length !== METRICS.length) {
      throw new Error(`${lines.length} charts drawn, not ${METRICS.length}`);
    }
    return [
      {
        figure:
          `metrics explorer, ${METRICS.length} metrics × ${METRIC_RUNS} runs (${
            METRIC_STEPS.toLocaleString("en-US")
          } steps each): navigation → first paint of all four charts (median of ${LOADS})`,
        measured: `${
          median(every).toFixed(0)
        } ms; every line from its preview: ${
          median(all).toFixed(0)
        } ms (lines per chart: ${lines.join(", ")})`,
        target: "≤ 1.5 s",
        pass: median(every) <= 1500,
      },
    ];
  } finally {
    await page.close();
  }
}

async function _mark(page: Page, name: string): Promise<number> {
  await page.waitForFunction(
    (mark) => performance.getEntriesByName(mark).length > 0,
    name,
    { timeout: 60_000, polling: 10 },
  );
  return await page.evaluate(
    (mark) => performance.getEntriesByName(mark)[0]!.startTime,
    name,
  );
}

function _record(i: number, createdAt: number): RunRecord {
  let seed = i + 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)]!;
  const loss = 0.05 + random();
  const summary = (name: string, subset: string, last: number) => ({
    name,
    context: { subset },
    count: 1000,
    first_step: 0,
    last_step: 999,
    last,
    min: last * 0.9,
    max: last * 5,
    last_time: createdAt + 3600,
  });
  return {
    hash: newHash(),
    name: `run-${i}`,
    experiment: `exp-${i % 10}`,
    description: "",
    tags: [],
    status: "finished",
    signal: null,
    exit_code: 0,
    created_at: createdAt,
    ended_at: createdAt + 3600,
    archived: false,
    params: {
      hparams: {
        lr: 10 ** (-4 + 3 * random()),
        batch_size: pick([32, 64, 128, 256]),
        optimizer: pick(["adam", "sgd", "adamw"]),
        dropout: Math.round(random() * 50) / 100,
        nesterov: random() < 0.5,
        ...(i % 5 === 0 ? {} : { warmup: Math.floor(random() * 1000) }),
      },
    },
    metrics: [
      summary("loss", "train", loss),
      summary("loss", "val", loss * 1.1),
      summary("accuracy", "val", 1 - loss / 2),
    ],
    data_version: 2,
  };
}
