/**
 * The params and scatters explorers in headless Chromium against a real
 * `aim up`: lines and points drawn for every run, a brush selects exactly
 * the runs whose values are in its range (checked against the API), the
 * legend names the colour field's values, the URL reloads to the same
 * state, and the CSV export equals the API's answer.
 */

import assert from "node:assert/strict";
import type { Repo } from "../lib/mod.ts";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

const RUNS = 60;

/** A sweep: lr on a log grid (None for every 7th run), an optimizer, a val loss. */
async function sweep(repo: Repo): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const run = await repo.startRun({ name: `r${i}`, handleSignals: false });
    run.set("hparams", {
      lr: i % 7 === 3 ? null : 10 ** -(1 + (i % 4)),
      opt: ["adam", "sgd", "lion"][i % 3]!,
    });
    run.track(1 / (1 + i), { name: "loss", context: { subset: "val" } });
    run.track(0.5 / (1 + i), { name: "loss", context: { subset: "val" } });
    await run.close();
  }
}

const LR = "run.hparams.lr";
const OPT = "run.hparams.opt";
const LOSS = 'run.metrics["loss", {"subset": "val"}].min';

Deno.test("the params explorer draws a line per run, brushes select exactly the runs in range, and the URL and CSV keep it", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  await using up = await startAimUp(repo.path);
  const api = await (await up.fetch("api/runs/fields", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ q: "", fields: ["run.name", LR, OPT, LOSS] }),
  })).json();
  assert.equal(api.rows.length, RUNS);
  await using b = await browserPage("params");
  const { page } = b;
  const search = new URLSearchParams();
  for (const axis of [LR, OPT, LOSS]) search.append("axis", axis);
  search.set("color", OPT);
  await page.goto(`${up.url}params?${search}&token=${up.token}`);
  const canvas = page.locator("canvas.parallel");
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  assert.deepEqual(
    await page.locator(".legend-item").evaluateAll((items) =>
      items.map((i) =>
        (i as unknown as { dataset: { label: string } }).dataset.label
      )
    ),
    ["adam", "lion", "sgd"],
  );
  assert.equal(
    await page.locator(".selection-summary").getAttribute("data-count"),
    "60",
  );
  await b.shot("all");

  // Brush the lr axis (the first) from its top down to a bit below the middle.
  const box = (await canvas.boundingBox())!;
  const x = box.x + 70;
  await page.mouse.move(x, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(x, box.y + 260, { steps: 6 });
  await page.mouse.up();
  await page.waitForURL(/brush=/);
  const url = new URL(page.url());
  const brush = JSON.parse(url.searchParams.get("brush")!)[LR];
  assert.ok(brush.min > 0 && brush.max >= brush.min, JSON.stringify(brush));
  const expected = api.rows.filter((row: { values: unknown[] }) => {
    const lr = row.values[1];
    return typeof lr === "number" && lr >= brush.min && lr <= brush.max;
  }).map((row: { hash: string }) => row.hash).sort();
  assert.ok(
    expected.length > 0 && expected.length < RUNS,
    `${expected.length}`,
  );
  const listed = async () =>
    (await page.locator("table.selection tr[data-hash]").evaluateAll((rows) =>
      rows.map((r) =>
        (r as unknown as { dataset: { hash: string } }).dataset.hash
      )
    )).sort();
  assert.deepEqual(await listed(), expected);
  assert.equal(
    await canvas.getAttribute("data-selected"),
    String(expected.length),
  );
  await b.shot("brushed");

  // A second brush on the optimizer axis narrows the selection to both.
  const optX = box.x + box.width / 2;
  await page.mouse.move(optX, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(optX, box.y + 120, { steps: 4 });
  await page.mouse.up();
  await page.waitForURL(/brush=.*opt/);
  const both = JSON.parse(
    new URL(page.url()).searchParams.get("brush")!,
  );
  const labels: string[] = both[OPT].labels;
  assert.ok(labels.length > 0 && labels.length < 3, JSON.stringify(labels));
  const narrowed = api.rows.filter((row: { values: unknown[] }) => {
    const [, lr, opt] = row.values;
    return typeof lr === "number" && lr >= brush.min && lr <= brush.max &&
      labels.includes(opt as string);
  }).map((row: { hash: string }) => row.hash).sort();
  assert.deepEqual(await listed(), narrowed);

  // The CSV export is the selection as the API answers it.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const csv = await Deno.readTextFile((await download.path())!);
  const lines = csv.trim().split("\r\n");
  assert.equal(
    lines[0],
    `run.hash,${LR},${OPT},"${LOSS.replaceAll('"', '""')}"`,
  );
  const byHash = new Map<string, unknown[]>(
    api.rows.map((
      r: { hash: string; values: unknown[] },
    ) => [r.hash, r.values]),
  );
  assert.deepEqual(
    lines.slice(1).map((line) => line.split(",")[0]).sort(),
    narrowed,
  );
  for (const line of lines.slice(1)) {
    const [hash, lr, opt, loss] = line.split(",");
    const values = byHash.get(hash!)!;
    assert.deepEqual([Number(lr), opt, Number(loss)], values.slice(1));
  }

  // The URL holds the state: a reload shows the same selection.
  assert.match(page.url(), /\/params\?/);
  await page.goto(page.url());
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  assert.deepEqual(await listed(), narrowed);
  await b.shot("reloaded");
});

Deno.test("a params axis on a log scale spreads decades evenly, is kept in the URL, and fits a long title", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("params-log");
  const { page } = b;
  const search = new URLSearchParams();
  for (const axis of [LR, OPT, LOSS]) search.append("axis", axis);
  await page.goto(`${up.url}params?${search}&token=${up.token}`);
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  const chip = (field: string) =>
    page.locator(`.axis-chip[data-field='${field}'] button.log-toggle`);
  assert.equal(
    await chip(OPT).isDisabled(),
    true,
    "a category axis has no log",
  );
  const canvas = page.locator("canvas.parallel");
  const box = (await canvas.boundingBox())!;
  // The numeric scale of the lr axis (which has None, so a band below it).
  const top = box.y + 40, bottom = box.y + box.height - 26;
  const scaleBottom = bottom - 0.12 * (bottom - top);
  const brushLowerHalf = async () => {
    const before = new URL(page.url()).searchParams.get("brush");
    const mid = scaleBottom - 0.55 * (scaleBottom - top);
    await page.mouse.move(box.x + 70, mid);
    await page.mouse.down();
    await page.mouse.move(box.x + 70, scaleBottom + 1, { steps: 4 });
    await page.mouse.up();
    // The brush this drag made, not the one the URL held before it.
    await page.waitForURL((url) => {
      const brush = url.searchParams.get("brush");
      return brush !== null && brush !== before;
    });
    const brush = JSON.parse(
      new URL(page.url()).searchParams.get("brush")!,
    )[LR];
    return [0.1, 0.01, 0.001, 0.0001].filter((lr) =>
      lr >= brush.min && lr <= brush.max
    );
  };
  // On a linear scale 0.01, 0.001 and 0.0001 are all in its lower half.
  assert.deepEqual(await brushLowerHalf(), [0.01, 0.001, 0.0001]);
  await b.shot("linear");
  await chip(LR).click();
  await page.waitForURL(/log=run.hparams.lr/);
  assert.equal(await chip(LR).getAttribute("aria-pressed"), "true");
  // On a log scale from 0.0001 to 0.1, 0.01 is at two thirds: above half.
  assert.deepEqual(await brushLowerHalf(), [0.001, 0.0001]);
  await b.shot("log");
  await page.goto(page.url());
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  assert.equal(await chip(LR).getAttribute("aria-pressed"), "true");
  // Brushes are values, so the reloaded log axis selects the same runs.
  const count = await page.locator(".selection-summary").getAttribute(
    "data-count",
  );
  const lrs = Array.from(
    { length: RUNS },
    (_, i) => i % 7 === 3 ? null : 10 ** -(1 + (i % 4)),
  );
  assert.equal(
    Number(count),
    lrs.filter((lr) => lr !== null && lr <= 0.001 * 1.0001).length,
  );
});

Deno.test("a saved view of the params explorer reloads to the same state, and can be renamed and deleted", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("views");
  const { page } = b;
  const search = new URLSearchParams();
  for (const axis of [LR, OPT, LOSS]) search.append("axis", axis);
  search.set("color", OPT);
  search.append("log", LR);
  search.set(
    "brush",
    JSON.stringify({ [OPT]: { min: null, max: null, labels: ["sgd"] } }),
  );
  await page.goto(`${up.url}params?${search}&token=${up.token}`);
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  const selection = async () =>
    await page.locator("table.selection tr[data-hash]").evaluateAll((rows) =>
      rows.map((r) =>
        (r as unknown as { dataset: { hash: string } }).dataset.hash
      )
    );
  const saved = {
    url: new URL(page.url()).search,
    selected: await selection(),
    legend: await page.locator(".legend-item").allTextContents(),
  };
  assert.equal(saved.selected.length, 20);
  await page.locator(".views-bar input.view-name").fill("sgd only");
  await page.getByRole("button", { name: "Save view" }).click();
  await page.locator('.views-bar[data-count="1"]').waitFor();
  const views = async () =>
    (await (await up.fetch("api/views")).json()).views as {
      id: string;
      name: string;
      page: string;
      state: string;
    }[];
  const [view] = await views();
  assert.deepEqual([view!.name, view!.page, view!.state], [
    "sgd only",
    "params",
    saved.url,
  ]);

  // Elsewhere, with another state: picking the view brings its state back.
  await page.goto(`${up.url}params?axis=run.name`);
  await page.locator('canvas.parallel[data-lines="60"]').waitFor();
  assert.equal((await selection()).length, 60);
  await page.locator(".views-bar select").selectOption({ label: "sgd only" });
  await page.waitForURL((url) => url.search === saved.url);
  await page.locator('canvas.parallel[data-selected="20"]').waitFor();
  assert.deepEqual(await selection(), saved.selected);
  assert.deepEqual(
    await page.locator(".legend-item").allTextContents(),
    saved.legend,
  );
  assert.equal(
    await page.locator(
      `.axis-chip[data-field='${LR}'] button.log-toggle`,
    ).getAttribute("aria-pressed"),
    "true",
  );
  assert.equal(await page.locator(".views-bar select").inputValue(), view!.id);
  await b.shot("opened");

  await page.locator(".views-bar input.view-name").fill("the sgd runs");
  await page.getByRole("button", { name: "Rename" }).click();
  await page.locator(".views-bar select option", { hasText: "the sgd runs" })
    .waitFor({ state: "attached" });
  assert.deepEqual((await views()).map((v) => [v.id, v.name]), [
    [view!.id, "the sgd runs"],
  ]);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.locator('.views-bar[data-count="0"]').waitFor();
  assert.deepEqual(await views(), []);
  assert.deepEqual([...Deno.readDirSync(`${repo.path}/views`)], []);
});

Deno.test("the scatters explorer draws a point per run, names a run on hover and opens it on click", async () => {
  await using repo = await tempRepo();
  await sweep(repo);
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("scatters");
  const { page } = b;
  const search = new URLSearchParams({ x: LR, y: LOSS, color: OPT, logx: "1" });
  await page.goto(`${up.url}scatters?${search}&token=${up.token}`);
  const canvas = page.locator("canvas.scatter");
  await page.locator('canvas.scatter[data-points="60"]').waitFor();
  // Three optimizers, a trend line each.
  assert.equal(await canvas.getAttribute("data-trends"), "3");
  assert.deepEqual(
    await page.locator(".legend-item").evaluateAll((items) =>
      items.map((i) =>
        (i as unknown as { dataset: { label: string } }).dataset.label
      )
    ),
    ["adam", "lion", "sgd"],
  );
  await b.shot();
  // Hover a point the page says it drew: the tip names that run; a click opens it.
  const points = await canvas.evaluate((element) =>
    (element as unknown as {
      aimPoints(): { hash: string; px: number; py: number }[];
    }).aimPoints()
  );
  assert.equal(points.length, RUNS);
  const box = (await canvas.boundingBox())!;
  const target = points[RUNS - 1]!;
  await page.mouse.move(box.x + target.px, box.y + target.py);
  await page.locator(".plot-tip").waitFor({ state: "visible" });
  const named = await page.locator(".plot-tip").getAttribute("data-hash");
  const point = points.find((p) => p.hash === named)!;
  assert.ok(
    Math.hypot(point.px - target.px, point.py - target.py) <= 8,
    "the tip names a run drawn elsewhere",
  );
  await page.mouse.click(box.x + target.px, box.y + target.py);
  await page.waitForURL(new RegExp(`/run/${named}$`));
});
