/**
 * A headless Chromium page for UI tests (Debian's Chromium, driven by
 * playwright-core) that records console errors and page errors, fails the
 * test on any at scope end, and saves screenshots under test-output/.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "./_dev_deps.ts";
import { launchChromium } from "../scripts/_chromium.ts";
import { ROOT } from "./_helpers.ts";

const OUTPUT = join(ROOT, "test-output");

/** A browser page that records console errors; closed at scope end. */
export async function browserPage(name: string, width = 1400, height = 900) {
  const browser: Browser = await launchChromium();
  const page: Page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  let shots = 0;
  return {
    page,
    errors,
    /** Saves test-output/ui-NAME[-n].png. */
    async shot(suffix = "") {
      await Deno.mkdir(OUTPUT, { recursive: true });
      const file = join(
        OUTPUT,
        `ui-${name}${suffix ? `-${suffix}` : shots ? `-${shots}` : ""}.png`,
      );
      shots++;
      await page.screenshot({ path: file });
      return file;
    },
    async [Symbol.asyncDispose]() {
      try {
        assert.deepEqual(errors, [], "the page logged errors");
      } finally {
        await browser.close();
      }
    },
  };
}
