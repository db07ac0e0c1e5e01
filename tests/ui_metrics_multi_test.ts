/**
 * The metrics explorer beyond one metric, in headless Chromium against a
 * real `aim up`: the y range set by hand or leaving out outliers, kept in
 * the address.
 */

import assert from "node:assert/strict";
import type { Page } from "./_dev_deps.ts";
import { tempRepo } from "./_helpers.ts";
import { startAimUp } from "./_aim_up.ts";
import { browserPage } from "./_browser.ts";

interface Drawn {
  lines: number;
  coarse: number;
  scales: { x: [number, number]; y: [number, number] } | null;
}

/** What each chart of the explorer draws, top to bottom. */
function charts(page: Page): Promise<Drawn[]> {
  return page.locator(".chart-main").evaluateAll((boxes) =>
    boxes.map((box) => {
      const chart = (box as unknown as {
        aimChart: {
          drawn(): { coarse?: boolean }[];
          scales(): Drawn["scales"];
        };
      }).aimChart;
      const lines = chart.drawn();
      return {
        lines: lines.length,
        coarse: lines.filter((l) => l.coarse).length,
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
  let [drawn] = await until(
    page,
    (d) => d[0]?.lines === 3,
    "three lines of loss",
  );
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
