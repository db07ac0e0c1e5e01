/**
 * The metrics explorer beyond one metric, in headless Chromium against a
 * real `aim up`: several metrics on charts of their own sharing the x
 * range and the cursor, lines dashed by a second field, a chart per value
 * of a third (facets), and the y range set by hand or leaving out
 * outliers, kept in the address.
 */

import assert from "node:assert/strict";
import type { Page } from "./_dev_deps.ts";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

interface Drawn {
  lines: number;
  coarse: number;
  labels: string[];
  colors: string[];
  /** Each line's own dash pattern; null for none. */
  dashes: (number[] | null)[];
  scales: { x: [number, number]; y: [number, number] } | null;
}

/** What each chart of the explorer draws, top to bottom. */
function charts(page: Page): Promise<Drawn[]> {
  return page.locator(".chart-main").evaluateAll((boxes) =>
    boxes.map((box) => {
      const chart = (box as unknown as {
        aimChart: {
          drawn(): {
            coarse?: boolean;
            label: string;
            color: string;
            dash?: number[];
          }[];
          scales(): Drawn["scales"];
        };
      }).aimChart;
      const lines = chart.drawn();
      return {
        lines: lines.length,
        coarse: lines.filter((l) => l.coarse).length,
        labels: lines.map((l) => l.label),
        colors: lines.map((l) => l.color),
        dashes: lines.map((l) => l.dash ?? null),
        scales: chart.scales(),
      };
    })
  );
}

/** Polls until `ok` holds of the charts drawn (every line at full resolution). */
async function until(
  page: Page,
  ok: (drawn: Drawn[]) => boolean,
  what: string,
): Promise<Drawn[]> {
  const deadline = Date.now() + 30_000;
  let drawn: Drawn[] = [];
  while (Date.now() < deadline) {
    drawn = await charts(page);
    if (drawn.every((d) => d.coarse === 0) && ok(drawn)) return drawn;
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}; drawn: ${JSON.stringify(drawn)}`);
}

/** Three runs of 200 steps of "loss" in 0…1, one with a spike of 1000. */
async function seed(repo: Awaited<ReturnType<typeof tempRepo>>) {
  for (let i = 0; i < 3; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    for (let step = 0; step < 200; step++) {
      const spike = i === 0 && step === 100;
      run.track(spike ? 1000 : (i + 1) / (4 + step / 50), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
      run.track(step * (i + 1), {
        name: "acc",
        step,
        context: { subset: "val" },
      });
    }
    await run.close();
  }
}

Deno.test("the metrics explorer's y range leaves out outliers or follows bounds set by hand, from the address and the controls", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("metrics-y-range");
  const { page } = b;
  await page.goto(`${up.url}metrics?metric=loss&token=${up.token}`);
  const first = await until(
    page,
    (d) => d[0]?.lines === 3,
    "three lines of loss",
  );
  assert.equal(first.length, 1, "one metric, one chart");
  let [drawn] = first;
  assert.ok(drawn!.scales!.y[1] >= 1000, "the spike is in range");

  await page.getByLabel("ignore outliers").check();
  [drawn] = await until(
    page,
    (d) => (d[0]?.scales?.y[1] ?? Infinity) < 2,
    "the y range leaves out the spike",
  );
  const [lo, hi] = drawn!.scales!.y;
  // The values other than the spike span 1/8 … 3/4.
  assert.ok(lo >= 0 && lo < 0.2 && hi > 0.5 && hi < 1, `y ${lo}…${hi}`);
  assert.match(page.url(), /robust=1/);
  await b.shot("robust");

  await page.getByLabel("Y min").fill("-2");
  await page.getByLabel("Y min").press("Enter");
  await page.getByLabel("Y max").fill("5");
  await page.getByLabel("Y max").press("Enter");
  [drawn] = await until(
    page,
    (d) => d[0]?.scales?.y[0] === -2 && d[0]?.scales?.y[1] === 5,
    "the y range set by hand",
  );
  assert.match(page.url(), /ymin=-2/);
  assert.match(page.url(), /ymax=5/);

  // The address alone restores the range.
  await page.goto(`${up.url}metrics?metric=loss&ymax=3`);
  [drawn] = await until(
    page,
    (d) => d[0]?.lines === 3 && d[0]?.scales?.y[1] === 3,
    "the upper bound from the address",
  );
  assert.ok(drawn!.scales!.y[0] < 0.2, "the lower bound is the data's");
  assert.equal(await page.getByLabel("Y max").inputValue(), "3");
});

/** Drags across the plot of `chart` (0 the top one) from `from` to `to` of its width. */
async function drag(page: Page, chart: number, from: number, to: number) {
  const over = page.locator(".chart-main .u-over").nth(chart);
  await over.scrollIntoViewIfNeeded();
  const plot = await over.boundingBox();
  assert.ok(plot);
  const y = plot.y + plot.height / 2;
  await page.mouse.move(plot.x + plot.width * from, y);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * to, y, { steps: 5 });
  await page.mouse.up();
}

Deno.test("the metrics explorer charts several metrics and contexts one below the other, sharing the x range, the cursor and the run colours", async () => {
  await using repo = await tempRepo();
  await seed(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("metrics-multi");
  const { page } = b;
  const address = new URLSearchParams({
    metric: "loss",
    context: '{"subset":"train"}',
    also: "acc",
    alsoctx: '{"subset":"val"}',
    token: up.token!,
  });
  await page.goto(`${up.url}metrics?${address}`);
  let drawn = await until(
    page,
    (d) => d.length === 2 && d.every((c) => c.lines === 3),
    "two charts of three lines",
  );
  assert.deepEqual(
    await page.locator(".chart-title").allTextContents(),
    ["loss · subset=train", "acc · subset=val"],
  );
  assert.deepEqual(drawn[0]!.labels, ["r0 loss", "r1 loss", "r2 loss"]);
  assert.deepEqual(drawn[1]!.labels, ["r0 acc", "r1 acc", "r2 acc"]);
  assert.deepEqual(drawn[0]!.colors, drawn[1]!.colors, "a colour per run");
  assert.equal(new Set(drawn[0]!.colors).size, 3);
  assert.deepEqual(drawn[0]!.scales!.x, drawn[1]!.scales!.x);

  // The cursor on the top chart shows on the one below.
  const top = await page.locator(".chart-main .u-over").first().boundingBox();
  assert.ok(top);
  await page.mouse.move(top.x + top.width / 2, top.y + top.height / 2);
  await page.locator(".chart-main").nth(1).locator(".chart-tip:visible")
    .waitFor();
  assert.match(
    await page.locator(".chart-main").nth(1).locator(".chart-tip")
      .innerText(),
    /r2 acc/,
  );
  await b.shot();

  // A zoom on the lower chart zooms both.
  await drag(page, 1, 0.25, 0.5);
  drawn = await until(
    page,
    (d) => d.length === 2 && (d[0]?.scales?.x[1] ?? Infinity) < 150,
    "both charts zoomed",
  );
  const [x0, x1] = drawn[1]!.scales!.x;
  assert.ok(x0 > 30 && x1 < 120 && x1 - x0 > 20, `zoomed to ${x0}…${x1}`);
  assert.deepEqual(drawn[0]!.scales!.x, [x0, x1]);
  // The acc of r2 is 3 × step: its y range follows the zoomed x range.
  assert.ok(drawn[1]!.scales!.y[1] < 3 * x1 * 1.1, "y fits the zoomed range");
  await b.shot("zoomed");
  await page.locator(".chart-main .u-over").first().dblclick();
  drawn = await until(
    page,
    (d) => d.every((c) => c.scales !== null && c.scales.x[1] >= 199),
    "both charts back to every step",
  );

  // A metric added in the form: any context of it, charted below.
  await page.goto(`${up.url}metrics?metric=loss`);
  await until(page, (d) => d[0]?.lines === 3, "loss alone");
  await page.getByRole("button", { name: "+ metric" }).click();
  await page.getByLabel("Also metric").fill("acc");
  await page.getByLabel("Also metric").press("Enter");
  drawn = await until(
    page,
    (d) => d.length === 2 && d.every((c) => c.lines === 3),
    "acc charted below loss",
  );
  assert.match(page.url(), /also=acc/);
  await page.getByRole("button", { name: "Remove this metric" }).click();
  await until(page, (d) => d.length === 1, "acc removed");
  assert.doesNotMatch(page.url(), /also=/);
});

/**
 * Six runs of "loss" (train) and "acc" (val), 200 steps each: optimizer
 * adam for r0, r2, r4 and sgd for the others; lr 0.1 for r0…r2 and 0.01
 * for r3…r5.
 */
async function seedSweep(repo: Awaited<ReturnType<typeof tempRepo>>) {
  for (let i = 0; i < 6; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("hparams", {
      optimizer: i % 2 ? "sgd" : "adam",
      lr: i < 3 ? 0.1 : 0.01,
    });
    // The sgd runs are higher: no two means of a (lr, optimizer) coincide.
    const scale = i + 1 + (i % 2 ? 3.5 : 0);
    for (let step = 0; step < 200; step++) {
      run.track(scale / (4 + step / 50), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
      run.track(step * (i + 1), {
        name: "acc",
        step,
        context: { subset: "val" },
      });
    }
    await run.close();
  }
}

/** The dash legend's entries: value, count and pattern. */
function dashLegend(page: Page): Promise<string[]> {
  return page.locator(".legend .dash-entry").evaluateAll((entries) =>
    entries.map((e) =>
      [
        e.querySelector(".label")?.textContent,
        e.querySelector(".n")?.textContent,
        e.getAttribute("data-dash"),
      ].join(" ")
    )
  );
}

Deno.test("the metrics explorer dashes lines by a second field, with a legend of the patterns, and means each colour and dash pair", async () => {
  await using repo = await tempRepo();
  await seedSweep(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("metrics-dash");
  const { page } = b;
  const address = new URLSearchParams({
    metric: "loss",
    dash: "param:hparams.optimizer",
    token: up.token!,
  });
  await page.goto(`${up.url}metrics?${address}`);
  let [drawn] = await until(
    page,
    (d) => d[0]?.lines === 6,
    "six lines of loss",
  );
  assert.deepEqual(drawn!.labels, [
    "r0 · adam",
    "r1 · sgd",
    "r2 · adam",
    "r3 · sgd",
    "r4 · adam",
    "r5 · sgd",
  ]);
  const solid = drawn!.dashes[0]!, dashed = drawn!.dashes[1]!;
  assert.notDeepEqual(solid, dashed, "two optimizers, two patterns");
  assert.deepEqual(drawn!.dashes, [
    solid,
    dashed,
    solid,
    dashed,
    solid,
    dashed,
  ]);
  assert.equal(new Set(drawn!.colors).size, 6, "still a colour per run");
  await page.locator(".legend .dash-entry").first().waitFor();
  assert.ok(
    (await page.locator(".legend h3").allTextContents()).includes(
      "Strokes by hparams.optimizer",
    ),
  );
  assert.deepEqual(await dashLegend(page), [
    `adam 3 ${solid.join(" ") || "solid"}`,
    `sgd 3 ${dashed.join(" ")}`,
  ]);
  await b.shot();

  // Coloured by lr and meaned: a line per (lr, optimizer) pair.
  await page.getByLabel("Group by").selectOption("param:hparams.lr");
  await page.getByLabel("Aggregate").selectOption("minmax");
  [drawn] = await until(
    page,
    (d) => d[0]?.lines === 4,
    "a mean per lr and optimizer",
  );
  assert.deepEqual(drawn!.labels, [
    "0.01 · adam (mean of 1)",
    "0.01 · sgd (mean of 2)",
    "0.1 · adam (mean of 2)",
    "0.1 · sgd (mean of 1)",
  ]);
  assert.deepEqual(drawn!.dashes, [solid, dashed, solid, dashed]);
  assert.equal(drawn!.colors[0], drawn!.colors[1]);
  assert.notEqual(drawn!.colors[1], drawn!.colors[2]);
  assert.match(page.url(), /dash=param%3Ahparams\.optimizer/);
  await b.shot("mean");

  // The legend's sgd entry hides the sgd lines.
  await page.locator(".legend .dash-entry", { hasText: "sgd" }).click();
  [drawn] = await until(page, (d) => d[0]?.lines === 2, "sgd hidden");
  assert.deepEqual(drawn!.labels, [
    "0.01 · adam (mean of 1)",
    "0.1 · adam (mean of 2)",
  ]);

  // Solid lines again.
  await page.getByLabel("Stroke by").selectOption("");
  [drawn] = await until(page, (d) => d[0]?.lines === 2, "one mean per lr");
  assert.deepEqual(drawn!.dashes, [null, null]);
  assert.equal(await page.locator(".legend .dash-entry").count(), 0);
  assert.doesNotMatch(page.url(), /dash=/);
});

Deno.test("the metrics explorer charts each value of a third field on its own chart, per metric, sharing the x range, the cursor and the run colours", async () => {
  await using repo = await tempRepo();
  await seedSweep(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("metrics-facets");
  const { page } = b;
  const address = new URLSearchParams({
    metric: "loss",
    context: '{"subset":"train"}',
    also: "acc",
    alsoctx: '{"subset":"val"}',
    facet: "param:hparams.lr",
    dash: "param:hparams.optimizer",
    token: up.token!,
  });
  await page.goto(`${up.url}metrics?${address}`);
  let drawn = await until(
    page,
    (d) => d.length === 4 && d.every((c) => c.lines === 3),
    "four charts of three lines",
  );
  assert.deepEqual(await page.locator(".chart-title").allTextContents(), [
    "loss · subset=train · hparams.lr = 0.01",
    "loss · subset=train · hparams.lr = 0.1",
    "acc · subset=val · hparams.lr = 0.01",
    "acc · subset=val · hparams.lr = 0.1",
  ]);
  assert.deepEqual(drawn.map((c) => c.labels), [
    ["r3 loss · sgd", "r4 loss · adam", "r5 loss · sgd"],
    ["r0 loss · adam", "r1 loss · sgd", "r2 loss · adam"],
    ["r3 acc · sgd", "r4 acc · adam", "r5 acc · sgd"],
    ["r0 acc · adam", "r1 acc · sgd", "r2 acc · adam"],
  ]);
  assert.deepEqual(drawn[0]!.colors, drawn[2]!.colors, "a colour per run");
  assert.deepEqual(drawn[1]!.colors, drawn[3]!.colors);
  assert.equal(new Set(drawn.flatMap((c) => c.colors)).size, 6);
  assert.deepEqual(drawn[0]!.dashes, drawn[2]!.dashes, "a dash per value");
  assert.deepEqual(drawn[0]!.dashes[1], drawn[1]!.dashes[0], "adam");
  // The legend counts each run once, across the charts of a metric.
  assert.deepEqual(
    (await dashLegend(page)).map((e) => e.split(" ").slice(0, 2).join(" ")),
    ["adam 3", "sgd 3"],
  );
  for (const c of drawn.slice(1)) {
    assert.deepEqual(c.scales!.x, drawn[0]!.scales!.x);
  }

  // The cursor on the first chart shows on the last.
  const top = await page.locator(".chart-main .u-over").first().boundingBox();
  assert.ok(top);
  await page.mouse.move(top.x + top.width / 2, top.y + top.height / 2);
  const last = page.locator(".chart-main").nth(3);
  await last.locator(".chart-tip:visible").waitFor();
  assert.match(await last.locator(".chart-tip").innerText(), /r2 acc/);
  await b.shot();

  // A zoom on the last chart zooms all four.
  await drag(page, 3, 0.25, 0.5);
  drawn = await until(
    page,
    (d) => d.length === 4 && d.every((c) => (c.scales?.x[1] ?? 999) < 150),
    "every chart zoomed",
  );
  for (const c of drawn) assert.deepEqual(c.scales!.x, drawn[3]!.scales!.x);

  // Back to a chart per metric, from the controls.
  await page.getByLabel("Charts by").selectOption("");
  drawn = await until(
    page,
    (d) => d.length === 2 && d.every((c) => c.lines === 6),
    "a chart per metric",
  );
  assert.doesNotMatch(page.url(), /facet=/);
  await page.getByLabel("Charts by").selectOption("param:hparams.optimizer");
  await until(
    page,
    (d) => d.length === 4 && d.every((c) => c.lines === 3),
    "a chart per metric and optimizer",
  );
  assert.match(page.url(), /facet=param%3Ahparams\.optimizer/);
  assert.deepEqual(
    (await page.locator(".chart-title").allTextContents()).slice(0, 2),
    [
      "loss · subset=train · hparams.optimizer = adam",
      "loss · subset=train · hparams.optimizer = sgd",
    ],
  );
});
