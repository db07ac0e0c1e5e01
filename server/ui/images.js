/// <reference lib="dom" />
// @ts-check
// The images explorer: the images of the matching sequences as a grid, a
// row per (run, sequence), grouped by run or by a field, at the step a
// slider chooses (the last step first), captions under the images, a click
// enlarges one.
//
// Built to stay smooth over 1,000 runs × 100 steps × 16 images: sequences
// come a page at a time as the grid is scrolled to its end; the last
// step's objects come with the search (from the index); a row asks for
// its images only once it is near the screen, and the rows on screen ask
// together: one request for their objects at a step, one for their
// thumbnails' bytes (blob: URLs, kept). A slider move while a step is
// being fetched waits, and only the newest step is fetched next.

import { errorText, h, toast } from "./dom.js";
import { objectsAt, objectUrl, ObjectUrls } from "./objects_api.js";
import { groupMatches, stepRange } from "./objects_model.js";
import {
  mountObjectsPage,
  saveSetting,
  sequenceHead,
  SequencePages,
  setting,
} from "./objects_page.js";
import { fmtContext } from "./format.js";
import { link } from "./urls.js";

/** @import { SequenceMatch, StoredObject } from "./objects_api.js" */

/** Sequences asked for per page of the search. */
const PAGE = 50;
/** How far below the screen a row starts loading, in pixels. */
const AHEAD = "400px";

/**
 * Mounts the explorer in `root`; returns its unmount function.
 * @param {HTMLElement} root
 * @returns {() => void}
 */
export function mount(root) {
  return mountObjectsPage(root, {
    kind: "images",
    placeholder:
      'images.name == "samples" and images.context.subset == "val" and run.hparams.lr < 0.01',
    create: (box, q) => new ImagesView(box, { q, own: true }),
  });
}

/**
 * One row of the grid: a sequence of one run, its images at the step shown.
 * @typedef {object} Row
 * @property {SequenceMatch} match
 * @property {HTMLElement} element
 * @property {HTMLElement} cells
 * @property {HTMLElement} label  Says the step and epoch shown.
 * @property {Map<number, StoredObject[] | null>} steps  Objects by the step asked.
 * @property {Map<number, number | null>} actual  The step each asked one answered with.
 * @property {number | null} shown  The step asked whose images are shown.
 * @property {boolean} visible
 */

/** A grid of the images of the sequences a query matches. */
export class ImagesView {
  /** @type {HTMLElement} */
  controls;
  #box;
  #q;
  #own;
  #showRun;
  #pages;
  /** @type {Row[]} */
  #rows = [];
  #group;
  /** The step asked for; null for each sequence's last. */
  /** @type {number | null} */
  #step;
  #urls = new ObjectUrls();
  #abort = new AbortController();
  #busy = false;
  #again = false;
  #observer;
  #sentinel = h("div.grid-end");
  #status = h("span.count", { role: "status" });
  #slider = h("input.step-slider", {
    type: "range",
    min: 0,
    max: 0,
    step: 1,
    disabled: true,
    "aria-label": "Step",
  });
  #stepLabel = h("span.step-label");
  #groupInput = h("input.group-by", {
    type: "text",
    spellcheck: false,
    placeholder: "run, run.hparams.lr, images.context.subset",
    "aria-label": "Group by",
  });
  #grid = h("div.image-grid");
  /** @type {HTMLDialogElement | null} */
  #dialog = null;

  /**
   * @param {HTMLElement} box
   * @param {{ q: string, own?: boolean, showRun?: boolean }} options  `own`:
   *   the view is the explorer's page (its settings go in the address);
   *   `showRun`: each row names its run (default true).
   */
  constructor(box, { q, own = false, showRun = true }) {
    this.#box = box;
    this.#q = q;
    this.#own = own;
    this.#showRun = showRun;
    this.#pages = new SequencePages("images", q, PAGE, this.#abort.signal);
    this.#group = (own ? setting("group") : null) ?? "run";
    const step = own ? setting("step") : null;
    this.#step = step === null || step === "" ? null : Number(step);
    this.#groupInput.value = this.#group;
    this.#groupInput.addEventListener("change", () => {
      this.#group = this.#groupInput.value.trim() || "run";
      saveSetting("group", this.#group === "run" ? null : this.#group, own);
      this.#render();
    });
    this.#slider.addEventListener("input", () => {
      const value = Number(this.#slider.value);
      this.#step = value === Number(this.#slider.max) ? null : value;
      this.#showStep();
      this.#pump();
    });
    this.#slider.addEventListener("change", () => {
      saveSetting("step", this.#step === null ? null : String(this.#step), own);
    });
    this.controls = h(
      "div.toolbar",
      {},
      this.#status,
      h("label.slider", {}, "step ", this.#slider, this.#stepLabel),
      h("span.spacer"),
      h("label", {}, "group by ", this.#groupInput),
    );
    this.#observer = new IntersectionObserver(
      (entries) => this.#seen(entries),
      { rootMargin: `${AHEAD} 0px` },
    );
    box.append(this.#grid, this.#sentinel);
    this.#observer.observe(this.#sentinel);
    this.#more();
  }

  /** Fetches the next page of sequences, when there is one. */
  async #more() {
    const page = await this.#pages.next();
    if (page === null) return;
    if (page.unreadable.length > 0) {
      toast(
        `${page.unreadable.length} runs could not be read: ${
          page.unreadable[0]?.reason
        }`,
        "error",
      );
    }
    this.#render();
  }

  /** Lays the rows out again (the groups), keeping what each row fetched. */
  #render() {
    /** @type {Map<string, Row>} */
    const old = new Map(this.#rows.map((r) => [this.#key(r.match), r]));
    this.#rows = [];
    const range = stepRange(this.#pages.matches);
    this.#slider.disabled = range === null;
    if (range !== null) {
      this.#slider.min = String(range.min);
      this.#slider.max = String(range.max);
      this.#slider.value = String(this.#step ?? range.max);
    }
    this.#showStep();
    this.#status.textContent = this.#pages.total === 0
      ? ""
      : `${this.#pages.total.toLocaleString("en-US")} sequences${
        this.#pages.matches.length < this.#pages.total
          ? ` (${this.#pages.matches.length.toLocaleString("en-US")} loaded)`
          : ""
      }`;
    if (this.#pages.total === 0) {
      this.#grid.replaceChildren(
        h("p.empty", {
          text: this.#q
            ? "No image sequence matches this query."
            : "No images yet: track them with run.track(Image(…)) in Python, an image line of aim track, or new Image() in TypeScript.",
        }),
      );
      return;
    }
    const groups = this.#showRun || this.#group !== "run"
      ? groupMatches(this.#pages.matches, this.#group, "images")
      : [{ key: "", title: "", matches: this.#pages.matches }];
    this.#grid.replaceChildren(...groups.map((group) =>
      h(
        "section.image-group",
        {},
        group.title && h("h3.group-title", {}, this.#groupTitle(group)),
        group.matches.map((match) => {
          const row = old.get(this.#key(match)) ?? this.#row(match);
          this.#rows.push(row);
          return row.element;
        }),
      )
    ));
    for (const row of old.values()) this.#observer.unobserve(row.element);
    for (const row of this.#rows) this.#observer.observe(row.element);
    this.#pump();
  }

  /** @param {import("./objects_model.js").Group} group */
  #groupTitle(group) {
    const first = group.matches[0];
    if (this.#group === "run" && first) {
      return [
        link(`run/${first.run.hash}`, group.title),
        first.run.experiment
          ? h("span.muted", { text: ` ${first.run.experiment}` })
          : null,
      ];
    }
    return [
      group.title,
      h("span.muted", { text: ` (${group.matches.length})` }),
    ];
  }

  /** @param {SequenceMatch} match */
  #key(match) {
    return `${match.run.hash}\u0000${match.sequence.name}\u0000${
      JSON.stringify(match.sequence.context)
    }`;
  }

  /**
   * @param {SequenceMatch} match
   * @returns {Row}
   */
  #row(match) {
    const { sequence, run } = match;
    const label = h("span.row-step");
    const cells = h("div.image-cells");
    const count = Math.max(1, match.tail?.objects.length ?? 1);
    for (let i = 0; i < count; i++) cells.append(h("figure.cell.pending"));
    const element = h(
      "div.image-row",
      {},
      sequenceHead(match, this.#showRun && this.#group !== "run", label),
      cells,
    );
    /** @type {Row} */
    const row = {
      match,
      element,
      cells,
      label,
      steps: new Map(),
      actual: new Map(),
      shown: null,
      visible: false,
    };
    element.dataset.run = run.hash;
    element.dataset.sequence = sequence.name;
    if (match.tail !== null) {
      // The last step's objects came with the search.
      row.steps.set(
        match.tail.step,
        match.tail.objects.map((o) => ({
          ...o,
          step: match.tail?.step ?? 0,
          epoch: match.tail?.epoch ?? null,
        })),
      );
      row.actual.set(match.tail.step, match.tail.step);
    }
    return row;
  }

  /** @param {IntersectionObserverEntry[]} entries */
  #seen(entries) {
    let changed = false;
    for (const entry of entries) {
      if (entry.target === this.#sentinel) {
        if (entry.isIntersecting) this.#more();
        continue;
      }
      const row = this.#rows.find((r) => r.element === entry.target);
      if (row && row.visible !== entry.isIntersecting) {
        row.visible = entry.isIntersecting;
        changed = true;
      }
    }
    if (changed) this.#pump();
  }

  /** The step a row is asked for: the slider's, or its own last. */
  /** @param {Row} row */
  #wanted(row) {
    return this.#step ?? row.match.sequence.last_step ?? 0;
  }

  #showStep() {
    const range = stepRange(this.#pages.matches);
    this.#stepLabel.textContent = range === null
      ? ""
      : this.#step === null
      ? `last (${range.max})`
      : String(this.#step);
  }

  /**
   * Brings the visible rows to the step asked: their objects at it (one
   * request for all), then their thumbnails (one batch), then shows them.
   * One pass at a time; a change meanwhile runs another pass after it.
   */
  async #pump() {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#abort.signal.aborted);
    } catch (error) {
      if (!this.#abort.signal.aborted) toast(errorText(error), "error");
    } finally {
      this.#busy = false;
    }
  }

  async #pass() {
    const rows = this.#rows.filter((r) =>
      r.visible && r.shown !== this.#wanted(r)
    );
    if (rows.length === 0) return;
    const signal = this.#abort.signal;
    // Rows without their objects at the step, by step (one request each;
    // one in all, but for rows shown at their own last step).
    /** @type {Map<number, Row[]>} */
    const missing = new Map();
    for (const row of rows) {
      const step = this.#wanted(row);
      if (row.steps.has(step)) continue;
      missing.set(step, [...missing.get(step) ?? [], row]);
    }
    await Promise.all([...missing].map(async ([step, some]) => {
      const at = await objectsAt(
        "images",
        some.map((r) => ({
          run: r.match.run.hash,
          name: r.match.sequence.name,
          context: r.match.sequence.context,
        })),
        step,
        signal,
      );
      some.forEach((row, i) => {
        const answer = at[i];
        row.steps.set(step, answer?.objects ?? null);
        row.actual.set(step, answer?.step ?? null);
      });
    }));
    /** @type {{ run: string, id: number }[]} */
    const wanted = [];
    for (const row of rows) {
      for (const o of row.steps.get(this.#wanted(row)) ?? []) {
        wanted.push({ run: row.match.run.hash, id: o.id });
      }
    }
    await this.#urls.fetch(wanted, true, signal);
    if (signal.aborted) return;
    for (const row of rows) this.#fill(row, this.#wanted(row));
  }

  /**
   * Shows a row's images at step `step` (asked), as fetched.
   * @param {Row} row
   * @param {number} step
   */
  #fill(row, step) {
    const objects = row.steps.get(step) ?? [];
    const hash = row.match.run.hash;
    const actual = row.actual.get(step) ?? null;
    const epoch = objects[0]?.epoch;
    row.label.textContent = actual === null
      ? "no images up to this step"
      : `step ${actual}${
        epoch !== null && epoch !== undefined ? ` · epoch ${epoch}` : ""
      }${actual !== step ? ` (nearest to ${step})` : ""}`;
    const cells = /** @type {HTMLElement[]} */ ([...row.cells.children]);
    objects.forEach((o, i) => {
      let cell = cells[i];
      if (!cell) {
        cell = h("figure.cell");
        row.cells.append(cell);
      }
      const src = this.#urls.get(hash, o.id, true);
      let img = cell.querySelector("img");
      if (!img) {
        img = h("img", { alt: "", decoding: "async" });
        cell.replaceChildren(img, h("figcaption"));
      }
      if (src) img.src = src;
      img.alt = o.caption ?? `step ${o.step} #${i}`;
      img.onclick = () => this.#enlarge(row, objects, i);
      const caption = /** @type {HTMLElement} */ (cell.lastElementChild);
      caption.textContent = o.caption ?? "";
      cell.title = `${o.caption ? `${o.caption}\n` : ""}${o.width}×${o.height}`;
      cell.classList.toggle("pending", !src);
    });
    for (const extra of cells.slice(objects.length)) extra.remove();
    row.shown = step;
  }

  /**
   * Shows image `i` of a row whole in a dialog; arrows go through the row.
   * @param {Row} row
   * @param {StoredObject[]} objects
   * @param {number} i
   */
  #enlarge(row, objects, i) {
    this.#dialog?.close();
    const { run, sequence } = row.match;
    const img = h("img.large", { alt: "" });
    const caption = h("p.large-caption");
    const show = (/** @type {number} */ at) => {
      i = (at + objects.length) % objects.length;
      const o = /** @type {StoredObject} */ (objects[i]);
      img.src = objectUrl(run.hash, o.id);
      img.alt = o.caption ?? "";
      caption.textContent = [
        `${run.name || run.hash.slice(0, 8)} · ${sequence.name} ${
          fmtContext(sequence.context)
        }`,
        `step ${o.step}${
          o.epoch !== null && o.epoch !== undefined ? `, epoch ${o.epoch}` : ""
        }, image ${i + 1} of ${objects.length}, ${o.width}×${o.height}`,
        o.caption ?? "",
      ].filter(Boolean).join(" — ");
    };
    const dialog = h(
      "dialog.image-dialog",
      {
        onkeydown: (/** @type {KeyboardEvent} */ e) => {
          if (e.key === "ArrowRight") show(i + 1);
          if (e.key === "ArrowLeft") show(i - 1);
        },
        onclick: (/** @type {MouseEvent} */ e) => {
          if (e.target === dialog) dialog.close();
        },
      },
      img,
      caption,
      h(
        "div.buttons",
        {},
        h("button", { text: "←", onclick: () => show(i - 1) }),
        h("button", { text: "→", onclick: () => show(i + 1) }),
        h("button", { text: "Close", onclick: () => dialog.close() }),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (this.#dialog === dialog) this.#dialog = null;
    });
    this.#dialog = dialog;
    this.#box.append(dialog);
    show(i);
    dialog.showModal();
  }

  destroy() {
    this.#abort.abort();
    this.#observer.disconnect();
    this.#dialog?.close();
    this.#urls.revoke();
  }
}
