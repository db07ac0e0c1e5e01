/**
 * The run page's log and system metrics in a real browser: headless
 * Chromium against a real `aim up` over runs written by real writers.
 */

import assert from "node:assert/strict";
import type { Page } from "./_dev_deps.ts";
import { tempRepo, waitFor } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

const TOKEN = "ui-t0ken-for-the-tests";
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

/** The log lines on the page: number, stream or level, text. */
async function shownLines(page: Page, box = ".log"): Promise<string[]> {
  return await page.locator(`${box} .line`).evaluateAll((lines) =>
    lines.map((line) => {
      const n = line.querySelector(".n")?.getAttribute("data-n");
      const lv = line.querySelector(".lv")?.getAttribute("data-lv");
      const x = line.querySelector(".x")?.textContent;
      return `${n} ${lv || "-"} ${x}`;
    })
  );
}

Deno.test("the run page's log shows a client's line between the output written around it, marks stderr, and finds a line in a long log without loading it", async () => {
  await using repo = await tempRepo();
  const run = await repo.startRun({ name: "ordered", handleSignals: false });
  // Stored as aim run stores them: the client's line arrives after output
  // written later, with the time it was written.
  run.log("epoch 1 starting", "stdout", T0 + 1);
  run.log("epoch 1 finished", "stdout", T0 + 3);
  run.log("checkpoint saved", "info", T0 + 2);
  run.log("Traceback (most recent call last):", "stderr", T0 + 4);
  await run.close();
  const long = await repo.startRun({ name: "long", handleSignals: false });
  for (let i = 1; i <= 30_000; i++) {
    long.log(
      i === 21_337 ? "step 21337: loss is NaN" : `step ${i}: loss 0.5`,
      "stdout",
      T0 + i,
    );
  }
  await long.close();

  await using server = await startAimUp(repo.path, { token: TOKEN });
  await using ui = await browserPage("log-order");
  const { page } = ui;
  await page.goto(`${server.url}run/${run.hash}?tab=logs&token=${TOKEN}`);
  await page.locator(".log .line").nth(3).waitFor();
  assert.deepEqual(await shownLines(page), [
    "1 - epoch 1 starting",
    "2 info checkpoint saved",
    "3 - epoch 1 finished",
    "4 stderr Traceback (most recent call last):",
  ]);
  // stderr is marked apart from stdout: a label and a red bar.
  const stderr = page.locator(".log .line.stderr");
  assert.equal(await stderr.count(), 1);
  const style = (selector: string) =>
    page.locator(selector).first().evaluate((line) => {
      // The page's own function; the tests are not type-checked with the DOM.
      const { getComputedStyle } = globalThis as unknown as {
        getComputedStyle(element: unknown, pseudo?: string): {
          content: string;
          borderLeftColor: string;
        };
      };
      return {
        label: getComputedStyle(line.querySelector(".lv"), "::before").content,
        bar: getComputedStyle(line).borderLeftColor,
      };
    });
  const marked = await style(".log .line.stderr");
  const plain = await style(".log .line.stdout");
  assert.equal(marked.label, '"stderr"');
  assert.equal(plain.label, '""');
  assert.notEqual(marked.bar, plain.bar);
  await ui.shot("ordered");

  // A long log: the page holds its last lines only; a search asks the
  // server, and a match opens the log where it is.
  const logReads: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/logs")) logReads.push(new URL(r.url()).search);
  });
  await page.goto(`${server.url}run/${long.hash}?tab=logs`);
  await page.locator(".log .line").first().waitFor();
  assert.equal(await page.locator(".log .line").count(), 2000);
  assert.equal(
    await page.locator(".log-info").textContent(),
    "lines 28,001–30,000 of 30,000",
  );
  assert.equal(
    await page.locator(".log .line", { hasText: "loss is NaN" }).count(),
    0,
    "not loaded",
  );
  await page.locator("input.log-search").fill("LOSS IS nan");
  const match = page.locator(".log-results .line.match");
  await match.first().waitFor();
  assert.deepEqual(await shownLines(page, ".log-results"), [
    "21337 - step 21337: loss is NaN",
  ]);
  assert.equal(await match.locator("mark").textContent(), "loss is NaN");
  assert.match(
    await page.locator(".log-matches").textContent() ?? "",
    /^1 line contains/,
  );
  assert.ok(
    logReads.some((q) => q.includes("contains=LOSS+IS+nan")),
    `the server searched: ${logReads.join(" ")}`,
  );
  assert.equal(await page.locator(".log").isVisible(), false);
  await ui.shot("search");

  await match.first().click();
  const hit = page.locator(".log .line.hit");
  await hit.waitFor();
  assert.equal(await hit.locator(".n").getAttribute("data-n"), "21337");
  assert.equal(
    await hit.locator(".x").textContent(),
    "step 21337: loss is NaN",
  );
  assert.equal(await page.locator(".log-search").inputValue(), "");
  assert.equal(
    await page.locator(".log-bar input[type=checkbox]").isChecked(),
    false,
  );
  // Numbered in order around it, with earlier and later lines to load.
  const around = await shownLines(page);
  assert.equal(around[0], "20337 - step 20337: loss 0.5");
  assert.equal(around.length, 2000);
  assert.ok(
    await page.locator("button", { hasText: "Load later" }).isVisible(),
  );
  const inView = async () => {
    const box = (await page.locator(".log").boundingBox())!;
    const line = (await hit.boundingBox())!;
    return line.y >= box.y && line.y + line.height <= box.y + box.height;
  };
  assert.ok(await inView(), "scrolled to the match");
  await page.locator("button", { hasText: "Load earlier" }).click();
  await waitFor(
    async () => (await shownLines(page))[0] === "18337 - step 18337: loss 0.5",
    "the earlier lines",
  );
  assert.ok(await inView(), "the view stays on the match");
  await ui.shot("search-hit");
});

Deno.test("a live run's log places a line that arrives late where it belongs, and numbers the lines after it again", async () => {
  await using repo = await tempRepo();
  const live = await repo.startRun({ name: "live", handleSignals: false });
  try {
    const now = Date.now() / 1000;
    live.log("first", "stdout", now - 10);
    live.log("third", "stdout", now - 5);
    live.flush();
    await using server = await startAimUp(repo.path, { token: TOKEN });
    await using ui = await browserPage("log-live");
    const { page } = ui;
    await page.goto(`${server.url}run/${live.hash}?tab=logs&token=${TOKEN}`);
    await page.locator(".log .line").nth(1).waitFor();
    assert.equal(
      await page.locator(".log-bar input[type=checkbox]").isChecked(),
      true,
    );
    live.log("second, from the client", "info", now - 7);
    live.log("fourth", "stderr", now - 1);
    live.flush();
    await waitFor(
      async () => (await shownLines(page)).length === 4,
      "the new lines",
    );
    assert.deepEqual(await shownLines(page), [
      "1 - first",
      "2 info second, from the client",
      "3 - third",
      "4 stderr fourth",
    ]);
    assert.equal(
      await page.locator(".log-info").textContent(),
      "lines 1–4 of 4",
    );
    await ui.shot();
  } finally {
    await live.close();
  }
});

/**
 * What the chart in `selector` draws: its lines' x values, its tick
 * labels, and the room left of the plot against the widest y label.
 */
function chartState(page: Page, selector: string) {
  return page.locator(selector).evaluate((element) => {
    const chart = (element as unknown as {
      aimChart: {
        drawn(): { xs: number[] }[];
        ticks(): { x: string[]; y: string[]; font: string };
      };
    }).aimChart;
    const ticks = chart.ticks();
    const measure = element.ownerDocument.createElement("canvas")
      .getContext("2d")!;
    measure.font = ticks.font;
    const over = element.querySelector(".u-over")!.getBoundingClientRect();
    const root = element.querySelector(".uplot")!.getBoundingClientRect();
    return {
      xs: chart.drawn()[0]?.xs ?? [],
      ticks,
      yAxisWidth: over.left - root.left,
      widestY: Math.max(0, ...ticks.y.map((t) => measure.measureText(t).width)),
    };
  });
}

Deno.test("system metrics are drawn against the time since the run started, with their units on the axis, in the hover and in the overview; steps tick at whole numbers", async () => {
  await using repo = await tempRepo();
  // The run's creation time is a few milliseconds later.
  const start = Date.now() / 1000;
  const run = await repo.startRun({ name: "sampled", handleSignals: false });
  const system = { system: true };
  // Sampled every 10 s, as aim run does (the step is the sample's number).
  for (let i = 0; i < 30; i++) {
    const time = start + 10 * (i + 1);
    run.track(40 + 20 * Math.sin(i / 3), {
      name: "cpu_percent",
      context: system,
      time,
    });
    run.track(1500 + 30 * i, { name: "rss_mb", context: system, time });
    run.track(1 + (i % 3), { name: "processes", context: system, time });
    // A small process's memory barely moves: its ticks need many digits.
    run.track(14.863 + 0.001 * (i % 5), {
      name: "child_rss_mb",
      context: system,
      time,
    });
  }
  for (let step = 0; step < 3; step++) {
    run.track(1 / (step + 1), { name: "loss", step });
  }
  await run.close();

  await using server = await startAimUp(repo.path, { token: TOKEN });
  await using ui = await browserPage("system-metrics");
  const { page } = ui;
  await page.goto(`${server.url}run/${run.hash}?tab=system&token=${TOKEN}`);
  const card = (name: string) => `.chart-card[data-series='${name}'] .chart`;
  for (const name of ["cpu_percent", "rss_mb", "processes", "child_rss_mb"]) {
    await page.locator(`${card(name)}[data-lines='1']`).waitFor();
  }
  const cpu = await chartState(page, card("cpu_percent"));
  assert.deepEqual(
    cpu.xs.map((x) => Math.round(x)),
    Array.from({ length: 30 }, (_, i) => 10 * (i + 1)),
    "x is seconds since the run started",
  );
  const duration = /^(\d+s|\d+m|\d+m \d\ds)$/;
  assert.ok(cpu.ticks.x.length > 2);
  for (const tick of cpu.ticks.x) assert.match(tick, duration);
  for (const tick of cpu.ticks.y) assert.match(tick, /^\d+%$/);
  for (const tick of (await chartState(page, card("rss_mb"))).ticks.y) {
    assert.match(tick, /^\d\.\d+ GB$/, "1,500 MB and more read as GB");
  }
  const small = await chartState(page, card("child_rss_mb"));
  assert.ok(small.ticks.y.length > 1);
  for (const tick of small.ticks.y) assert.match(tick, /^14\.86\d MB$/);
  assert.ok(
    small.yAxisWidth >= small.widestY + 15,
    `the y axis (${small.yAxisWidth}px) holds its labels (${small.widestY}px) and the tick marks`,
  );
  const processes = await chartState(page, card("processes"));
  assert.deepEqual(processes.ticks.y, ["1", "2", "3"]);
  assert.match(
    await page.locator(".chart-card[data-series='rss_mb'] .last")
      .textContent() ??
      "",
    /^last 2\.\d+ GB$/,
  );

  const plot = await page.locator(`${card("cpu_percent")} .u-over`)
    .boundingBox();
  assert.ok(plot);
  await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
  const tip = page.locator(`${card("cpu_percent")} .chart-tip`);
  await tip.locator(".tip-row").waitFor();
  assert.match(
    await tip.locator(".tip-head").textContent() ?? "",
    /^time 2m \d\ds · \d\d:\d\d:\d\d$/,
  );
  assert.match(
    await tip.locator(".tip-value").textContent() ?? "",
    /^\d+(\.\d+)?%$/,
  );
  await ui.shot();

  await page.locator(".tabs a", { hasText: "Metrics" }).click();
  await page.locator(`${card("loss")}[data-lines='1']`).waitFor();
  const loss = await chartState(page, card("loss"));
  assert.deepEqual(loss.xs, [0, 1, 2]);
  assert.deepEqual(loss.ticks.x, ["0", "1", "2"], "no step 0.5");

  // The overview's table of series: system metrics with units, others bare.
  await page.locator(".tabs a", { hasText: "Overview" }).click();
  const values = async (name: string) => {
    const row = page.locator("table.list tr").filter({
      has: page.locator("td", { hasText: new RegExp(`^${name}$`) }),
    });
    return (await row.locator("td.num").allTextContents()).slice(2);
  };
  assert.deepEqual(await values("rss_mb"), ["2.31 GB", "1.46 GB", "2.31 GB"]);
  for (const value of await values("cpu_percent")) {
    assert.match(value, /^\d+(\.\d+)?%$/);
  }
  assert.deepEqual(await values("processes"), ["3", "1", "3"]);
  assert.deepEqual(await values("loss"), ["0.33333", "0.33333", "1"]);
});
