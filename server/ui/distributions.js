/// <reference lib="dom" />
// @ts-check
// The distributions explorer: per matching sequence, a heatmap of its
// histograms over steps (x: steps, y: values from the common low at the
// bottom to the high at the top; each step's counts shaded against its own
// largest, so a distribution that spreads stays visible), and beside it one
// step's histogram: the one under the pointer, else the last. A card reads
// its matrix (GET /api/runs/:hash/distributions, at most one row per step
// up to MAX_ROWS) only once it is near the screen.

import { errorText, h } from "./dom.js";
import { readDistribution } from "./objects_api.js";
import { groupMatches, rampColor } from "./objects_model.js";
import {
  mountObjectsPage,
  sequenceHead,
  SequencePages,
} from "./objects_page.js";
import { fmtNum } from "./format.js";

/** @import { DistributionMatrix, SequenceMatch } from "./objects_api.js" */

/** Sequences asked for per page of the search. */
const PAGE = 20;
/** Shown when no run has distributions. */
const EMPTY =
  "No distributions yet: track them with run.track(Distribution(…)) in Python, a distribution line of aim track, or Distribution.fromSamples() in TypeScript.";
/** Most rows of a heatmap: more steps are grouped by the server. */
const MAX_ROWS = 1000;
const HEAT_HEIGHT = 160;
const HIST_WIDTH = 260;

/**
 * Mounts the explorer in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @returns {() => void}
 */
export function mount(root) {
  return mountObjectsPage(root, {
    kind: "distributions",
    placeholder:
      'distributions.name == "weights" and distributions.context.param == "1.weight"',
    create: (box, q) => new DistributionsView(box, { q }),
  });
}

/** Heatmaps of the distribution sequences a query matches. */
export class DistributionsView {
  /** @type {HTMLElement} */
  controls;
  #showRun;
  #abort = new AbortController();
  #pages;
  #observer;
  #sentinel = h("div.grid-end");
  #status = h("span.count", { role: "status" });
  #list = h("div.dist-list");
  /** @type {Map<Element, () => void>} What a card does once seen. */
  #onSeen = new Map();

  /**
   * @param {HTMLElement} box
   * @param {{ q: string, showRun?: boolean }} options
   */
  constructor(box, { q, showRun = true }) {
    this.#showRun = showRun;
    this.#pages = new SequencePages(
      "distributions",
      q,
      PAGE,
      this.#abort.signal,
    );
    this.controls = h("div.toolbar", {}, this.#status);
    this.#observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        if (entry.target === this.#sentinel) {
          this.#more();
          continue;
        }
        const load = this.#onSeen.get(entry.target);
        if (load) {
          this.#onSeen.delete(entry.target);
          this.#observer.unobserve(entry.target);
          load();
        }
      }
    }, { rootMargin: "300px 0px" });
    box.append(this.#list, this.#sentinel);
    this.#observer.observe(this.#sentinel);
    this.#more();
  }

  async #more() {
    const page = await this.#pages.next();
    if (page === null) return;
    if (!this.#pages.showCount(this.#status, this.#list, EMPTY)) return;
    const added = page.sequences;
    for (const group of groupMatches(added, "run", "distributions")) {
      for (const match of group.matches) this.#list.append(this.#card(match));
    }
  }

  /**
   * @param {SequenceMatch} match
   * @returns {HTMLElement}
   */
  #card(match) {
    const { run, sequence } = match;
    const heat = h("canvas.heatmap", { height: HEAT_HEIGHT });
    const hist = h("canvas.histogram", {
      width: HIST_WIDTH,
      height: HEAT_HEIGHT,
    });
    const info = h("div.dist-info", { text: "…" });
    const axis = h("div.dist-axis");
    const card = h(
      "div.dist-card.panel",
      { dataset: { run: run.hash, sequence: sequence.name } },
      sequenceHead(
        match,
        this.#showRun,
        h("span.muted", {
          text: `${sequence.count.toLocaleString("en-US")} steps`,
        }),
      ),
      h(
        "div.dist-body",
        {},
        h("div.heat-box", {}, heat, axis),
        h("div.hist-box", {}, hist, info),
      ),
    );
    this.#onSeen.set(card, async () => {
      const start = performance.now();
      try {
        const matrix = await readDistribution(
          run.hash,
          sequence.name,
          sequence.context,
          { rows: MAX_ROWS },
          this.#abort.signal,
        );
        heat.width = Math.max(200, heat.parentElement?.clientWidth ?? 600);
        drawHeatmap(heat, matrix);
        const last = matrix.counts.length - 1;
        const showRow = (/** @type {number} */ row) => {
          drawHistogram(hist, matrix, row);
          info.textContent = rowText(matrix, row);
        };
        showRow(last);
        axis.replaceChildren(
          h("span", { text: `step ${matrix.steps[0] ?? ""}` }),
          h("span", {
            text: `values ${fmtNum(matrix.low)} … ${fmtNum(matrix.high)}`,
          }),
          h("span", { text: `step ${matrix.steps[last] ?? ""}` }),
        );
        heat.addEventListener("mousemove", (event) => {
          const x = event.offsetX / heat.clientWidth;
          const row = Math.min(last, Math.max(0, Math.floor(x * (last + 1))));
          showRow(row);
        });
        heat.addEventListener("mouseleave", () => showRow(last));
        card.dataset.drawnMs = (performance.now() - start).toFixed(1);
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        info.textContent = errorText(error);
        card.classList.add("failed");
      }
    });
    this.#observer.observe(card);
    return card;
  }

  destroy() {
    this.#abort.abort();
    this.#observer.disconnect();
  }
}

/**
 * What a row of the matrix is: its step(s), epoch, own range and count.
 * @param {DistributionMatrix} matrix
 * @param {number} row
 */
function rowText(matrix, row) {
  const counts = matrix.counts[row] ?? [];
  const total = counts.reduce((a, b) => a + b, 0);
  const epoch = matrix.epochs[row];
  return `step ${matrix.steps[row]}${
    epoch !== null && epoch !== undefined ? `, epoch ${epoch}` : ""
  }: ${fmtNum(total)} values in ${fmtNum(matrix.lows[row] ?? NaN)} … ${
    fmtNum(matrix.highs[row] ?? NaN)
  }`;
}

/**
 * Draws the matrix: one pixel per (row, bin) into an image, scaled to the
 * canvas without smoothing; bins from the bottom up.
 * @param {HTMLCanvasElement} canvas
 * @param {DistributionMatrix} matrix
 */
export function drawHeatmap(canvas, matrix) {
  const rows = matrix.counts.length, bins = matrix.bins;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (rows === 0 || bins === 0) return;
  const image = new ImageData(rows, bins);
  const data = image.data;
  for (let r = 0; r < rows; r++) {
    const counts = /** @type {number[]} */ (matrix.counts[r]);
    let max = 0;
    for (let b = 0; b < bins; b++) max = Math.max(max, counts[b] ?? 0);
    for (let b = 0; b < bins; b++) {
      const [red, green, blue] = rampColor(
        max > 0 ? (counts[b] ?? 0) / max : 0,
      );
      const at = ((bins - 1 - b) * rows + r) * 4;
      data[at] = red;
      data[at + 1] = green;
      data[at + 2] = blue;
      data[at + 3] = 255;
    }
  }
  const cells = new OffscreenCanvas(rows, bins);
  /** @type {OffscreenCanvasRenderingContext2D} */ (cells.getContext("2d"))
    .putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
}

/**
 * Draws one row of the matrix as bars over the common range.
 * @param {HTMLCanvasElement} canvas
 * @param {DistributionMatrix} matrix
 * @param {number} row
 */
export function drawHistogram(canvas, matrix, row) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const counts = matrix.counts[row] ?? [];
  const max = Math.max(0, ...counts);
  if (max === 0) return;
  const w = width / counts.length;
  ctx.fillStyle = "#2171b5";
  counts.forEach((c, b) => {
    const barHeight = (c / max) * (height - 4);
    ctx.fillRect(b * w, height - barHeight, Math.max(1, w - 1), barHeight);
  });
}
