/**
 * The metrics explorer's exports in headless Chromium against a real
 * `aim up`: the CSV holds exactly the points of the lines drawn, and the
 * PNG is the chart's canvas.
 */

import assert from "node:assert/strict";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

interface Line {
  label: string;
  xs: number[];
  ys: (number | null)[];
  coarse?: boolean;
}

Deno.test("the metrics explorer exports the drawn lines' points as CSV and the chart as PNG, and draws a group's median", async () => {
  await using repo = await tempRepo();
  for (let i = 0; i < 3; i++) {
    const run = await repo.startRun({ name: `m${i}`, handleSignals: false });
    for (let step = 0; step < 12; step++) {
      run.track([0, 1, 100][i]! + 1 / (1 + step), {
        name: "loss",
        step,
        context: { subset: "train" },
      });
    }
    await run.close();
  }
  await using up = await startAimUp(repo.path);
  await using b = await browserPage("metrics-export");
  const { page } = b;
  await page.goto(`${up.url}metrics?metric=loss&token=${up.token}`);
  const drawn = () =>
    page.locator(".chart-main").evaluate((element) =>
      (element as unknown as { aimChart: { drawn(): Line[] } }).aimChart
        .drawn().map((l) => ({
          label: l.label,
          xs: [...l.xs],
          ys: [...l.ys],
          coarse: l.coarse ?? false,
        }))
    );
  const deadline = Date.now() + 20_000;
  let lines: Line[] = [];
  while (Date.now() < deadline) {
    lines = await drawn();
    if (lines.length === 3 && lines.every((l) => !l.coarse)) break;
    await page.waitForTimeout(100);
  }
  assert.equal(lines.length, 3, "three lines drawn");
  assert.ok(lines.every((l) => l.xs.length === 12), "every point drawn");
  const [csvFile] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  assert.equal(csvFile.suggestedFilename(), "metrics.csv");
  const rows = (await Deno.readTextFile((await csvFile.path())!)).trim()
    .split("\r\n").map((line) => line.split(","));
  assert.deepEqual(rows[0], ["line", "step", "value"]);
  assert.deepEqual(
    rows.slice(1).map(([label, x, y]) => [label, Number(x), Number(y)]),
    lines.flatMap((l) => l.xs.map((x, i) => [l.label, x, l.ys[i]])),
  );
  const [pngFile] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export PNG" }).click(),
  ]);
  const png = await Deno.readFile((await pngFile.path())!);
  assert.deepEqual(
    [...png.slice(1, 4)],
    [..."PNG"].map((c) => c.charCodeAt(0)),
  );
  const view = new DataView(png.buffer);
  const canvas = await page.locator(".chart-main canvas").evaluate((c) => [
    (c as unknown as { width: number }).width,
    (c as unknown as { height: number }).height,
  ]);
  assert.deepEqual([view.getUint32(16), view.getUint32(20)], canvas);
  await b.shot();

  // The median of the three runs is the middle one (1 + 1 / (1 + step)),
  // where their mean would be pulled above 33 by the third.
  await page.goto(`${up.url}metrics?metric=loss&agg=median`);
  let median: Line | undefined;
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    median = (await drawn()).find((l) => l.label === "median of 3");
    if (median !== undefined && !median.coarse) break;
    await page.waitForTimeout(100);
  }
  assert.ok(median !== undefined, "a line labelled median of 3");
  assert.ok(median.ys.length > 10);
  for (const y of median.ys) {
    assert.ok(y !== null && y > 1 && y <= 2 + 1e-9, `median ${y}`);
  }
  await b.shot("median");
});
