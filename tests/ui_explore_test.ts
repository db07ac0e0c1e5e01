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
