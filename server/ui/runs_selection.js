/// <reference lib="dom" />
// @ts-check
// The runs selected in the table (a click, shift-click for a range, or
// every run the query matches from the header's box) and what the toolbar
// does with them: compare, archive, tag, delete. A selection outlives the
// query it was made under: runs the current query hides stay selected,
// and the toolbar and the deletion dialog say so.

import { deleteRun, getRun, patchRun, searchRuns } from "./api.js";
import { errorText, fill, h, toast } from "./dom.js";
import { pool } from "./tasks.js";

/** @import { Run } from "./api_types.js" */

/**
 * What the selection keeps of a run: enough to name it and act on it
 * (selecting every run of a large query keeps no more).
 * @typedef {Pick<Run, "hash" | "name" | "live">} Picked
 */

/** Edits sent at once. */
const PARALLEL_EDITS = 4;
/** Runs read by each request of "select all". */
const SELECT_PAGE = 5000;
/** Most runs "select all" selects. */
const MAX_SELECT = 100_000;
/** Run names the deletion dialog lists; the rest are counted. */
const NAMED = 12;
/** Characters a query may have (lib/query/parser.ts). */
const MAX_QUERY = 10_000;

/**
 * What the selection needs from its page.
 * @typedef {object} SelectionHooks
 * @property {() => void} changed  The selection changed: mark the rows.
 * @property {() => void} cleared  "Clear" emptied it: rebuild the rows.
 * @property {(path: string) => void} navigate
 * @property {() => Promise<void>} refresh  After edits: fetch the rows on screen again.
 * @property {() => string} query  The run query the table shows now.
 * @property {() => number | null} total  Runs it matches, when known.
 */

/** The selected runs and the toolbar of actions on them. */
export class RunSelection {
  /** The actions' toolbar. */
  toolbar;
  /** The confirmation of a deletion. */
  dialog;
  /** The header's box: selects every run the query matches, or none. */
  allBox;
  /** @type {Map<string, Picked>} */
  #selected = new Map();
  /**
   * Selected runs the current query does not match, when known.
   * @type {Set<string> | null}
   */
  #hidden = null;
  /** Bumped by every change of the selection or the query. */
  #version = 0;
  /** @type {string | null} */
  #lastClicked = null;
  #info;
  #tag;
  #hooks;

  /** @param {SelectionHooks} hooks */
  constructor(hooks) {
    this.#hooks = hooks;
    this.#info = h("span.sel-info");
    this.#tag = h("input.tag-input", {
      type: "text",
      placeholder: "tag",
      "aria-label": "Tag",
    });
    this.toolbar = h(
      "div.actions",
      {},
      this.#info,
      h("button.link", { text: "Clear", onclick: () => this.clear() }),
      h("button", {
        text: "Compare",
        onclick: () => this.#compare("compare"),
        title: "The selected runs side by side: params that differ, series",
      }),
      h("button", {
        text: "Metrics",
        onclick: () => this.#compare("metrics"),
        title: "Open the selected runs in the metrics explorer",
      }),
      h("button", {
        text: "Archive",
        onclick: () => this.#patch({ archived: true }),
      }),
      h("button", {
        text: "Unarchive",
        onclick: () => this.#patch({ archived: false }),
      }),
      this.#tag,
      h("button", { text: "Add tag", onclick: () => this.#tagAll(true) }),
      h("button", { text: "Remove tag", onclick: () => this.#tagAll(false) }),
      h("button.danger", {
        text: "Delete…",
        onclick: () => this.#delete().catch(_report),
      }),
    );
    this.dialog = h("dialog.confirm");
    this.allBox = h("input.select-all", {
      type: "checkbox",
      "aria-label": "Select every run the query matches",
      title: "Select every run the query matches (not only those loaded)",
    });
    this.allBox.addEventListener("change", () => {
      if (this.allBox.checked) this.#selectAll().catch(_report);
      else this.#unselectShown();
    });
  }

  /**
   * Whether the run is selected.
   * @param {string} hash
   * @returns {boolean}
   */
  has(hash) {
    return this.#selected.has(hash);
  }

  /**
   * A click on the selection box of run `hash`: selects or unselects it;
   * with shift, selects every run from the last one clicked to it.
   * @param {string} hash
   * @param {boolean} checked  The box's state after the click.
   * @param {boolean} shift
   * @param {Run[]} runs  The loaded rows, in table order.
   */
  click(hash, checked, shift, runs) {
    if (shift && this.#lastClicked) {
      const last = this.#lastClicked;
      const a = runs.findIndex((r) => r.hash === last);
      const b = runs.findIndex((r) => r.hash === hash);
      if (a >= 0 && b >= 0) {
        for (const run of runs.slice(Math.min(a, b), Math.max(a, b) + 1)) {
          this.#selected.set(run.hash, _picked(run));
        }
      }
    } else if (checked) {
      const run = runs.find((r) => r.hash === hash);
      if (run !== undefined) this.#selected.set(hash, _picked(run));
    } else this.#selected.delete(hash);
    this.#lastClicked = hash;
    // Rows are clicked among the query's runs: none of them is hidden.
    this.#hidden?.delete(hash);
    this.update();
  }

  /** Unselects the runs the query matches; those it hides stay selected. */
  #unselectShown() {
    const hidden = this.#hidden ?? new Set();
    for (const hash of [...this.#selected.keys()]) {
      if (!hidden.has(hash)) this.#selected.delete(hash);
    }
    this.update();
    this.#hooks.cleared();
  }

  /** Unselects every run. */
  clear() {
    this.#selected.clear();
    this.#hidden = new Set();
    this.update();
    this.#hooks.cleared();
  }

  /**
   * The query changed: finds which selected runs it hides, and says so.
   * @returns {Promise<void>}
   */
  async queryChanged() {
    this.#hidden = null;
    this.update();
    await this.#findHidden();
  }

  /**
   * Replaces the selected runs' records by fresher ones among `runs`.
   * @param {Run[]} runs
   */
  refreshRuns(runs) {
    for (const [hash] of this.#selected) {
      const run = runs.find((r) => r.hash === hash);
      if (run) this.#selected.set(hash, _picked(run));
    }
  }

  /**
   * Shows how many runs are selected (and how many of them the query
   * hides), the actions when some are, and the header's box.
   */
  update() {
    this.#version++;
    const n = this.#selected.size;
    const hidden = this.#hidden?.size ?? 0;
    this.toolbar.classList.toggle("active", n > 0);
    this.#info.textContent = n === 0
      ? ""
      : `${n.toLocaleString("en-US")} selected${
        hidden ? ` (${hidden.toLocaleString("en-US")} not shown)` : ""
      }`;
    this.#info.title = hidden
      ? "Runs selected under another query, which the current one does not show"
      : "";
    const total = this.#hooks.total() ?? 0;
    const all = n > 0 && this.#hidden !== null && n - hidden >= total;
    this.allBox.checked = all;
    this.allBox.indeterminate = n > 0 && !all;
    this.#hooks.changed();
  }

  /**
   * Selects every run the current query matches (at most
   * {@link MAX_SELECT}), read from the server page by page.
   */
  async #selectAll() {
    const q = this.#hooks.query();
    const version = ++this.#version;
    const first = await searchRuns({ q, limit: SELECT_PAGE, offset: 0 });
    const total = Math.min(first.total, MAX_SELECT);
    const pages = [first];
    for (let offset = SELECT_PAGE; offset < total; offset += SELECT_PAGE) {
      if (version !== this.#version) return;
      pages.push(
        await searchRuns({
          q,
          limit: Math.min(SELECT_PAGE, total - offset),
          offset,
        }),
      );
    }
    if (version !== this.#version) return;
    for (const page of pages) {
      for (const run of page.runs) this.#selected.set(run.hash, _picked(run));
    }
    if (first.total > MAX_SELECT) {
      toast(
        `Selected the first ${MAX_SELECT.toLocaleString("en-US")} of ${
          first.total.toLocaleString("en-US")
        } runs`,
      );
    }
    await this.#findHidden();
    this.update();
  }

  /**
   * Finds which selected runs the current query does not match, asking
   * the server about them (a few hundred per request).
   */
  async #findHidden() {
    const version = this.#version;
    const q = this.#hooks.query().trim();
    const hashes = [...this.#selected.keys()];
    const hidden = new Set(hashes);
    const room = MAX_QUERY - q.length - 40;
    if (q === "") hidden.clear();
    else if (room > 30) {
      const batch = Math.max(1, Math.floor(room / 25));
      for (let i = 0; i < hashes.length; i += batch) {
        const some = hashes.slice(i, i + batch);
        const page = await searchRuns({
          q: `(${q}) and run.hash in ${JSON.stringify(some)}`,
          limit: some.length,
        });
        for (const run of page.runs) hidden.delete(run.hash);
      }
    } else return;
    if (version !== this.#version) return;
    this.#hidden = hidden;
    this.update();
  }

  /** Opens the selected runs on `page` ("compare" or "metrics"). */
  #compare(/** @type {string} */ page) {
    const hashes = [...this.#selected.keys()];
    if (hashes.length === 0) return toast("Select runs to compare first");
    this.#hooks.navigate(`${page}?runs=${hashes.join(",")}`);
  }

  /** @param {{ archived: boolean }} patch */
  async #patch(patch) {
    const runs = [...this.#selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await this.#edit(runs, (run) => patchRun(run.hash, patch));
  }

  /** @param {boolean} add  Add the tag typed, or remove it. */
  async #tagAll(add) {
    const tag = this.#tag.value.trim();
    if (!tag) return toast("Type a tag first");
    const runs = [...this.#selected.values()];
    if (runs.length === 0) return toast("Select runs first");
    await this.#edit(runs, async (run) => {
      // Tags from the run as it is now: the row may be stale.
      const fresh = await getRun(run.hash);
      const tags = add
        ? [...new Set([...fresh.tags, tag])]
        : fresh.tags.filter((t) => t !== tag);
      return patchRun(run.hash, { tags });
    });
  }

  async #delete() {
    if (this.#selected.size === 0) return toast("Select runs first");
    if (this.#hidden === null) await this.#findHidden();
    const hidden = this.#hidden ?? new Set();
    // The runs the query hides first: those are the surprise.
    const runs = [...this.#selected.values()].sort((a, b) =>
      Number(hidden.has(b.hash)) - Number(hidden.has(a.hash))
    );
    const n = runs.length;
    const dialog = this.dialog;
    fill(
      dialog,
      h("p", {
        text: `Delete ${n.toLocaleString("en-US")} run${
          n === 1 ? "" : "s"
        }? Their files and index rows are removed; this cannot be undone.`,
      }),
      hidden.size > 0
        ? h("p.warn-hidden", {
          text: `${
            hidden.size === n
              ? n === 1 ? "It is" : "None of them is"
              : `${hidden.size.toLocaleString("en-US")} of them ${
                hidden.size === 1 ? "is" : "are"
              }`
          } not shown by the current query.`,
        })
        : null,
      h(
        "ul.doomed",
        {},
        runs.slice(0, NAMED).map((run) =>
          h(
            `li${hidden.has(run.hash) ? ".hidden-run" : ""}`,
            {},
            h("span.run-name", { text: run.name || run.hash }),
            hidden.has(run.hash)
              ? h("span.note", { text: " — not shown by the query" })
              : null,
          )
        ),
        n > NAMED
          ? h("li.more", {
            text: `and ${(n - NAMED).toLocaleString("en-US")} more`,
          })
          : null,
      ),
      h(
        "div.buttons",
        {},
        h("button", { text: "Cancel", onclick: () => dialog.close() }),
        h("button.danger", {
          text: "Delete",
          onclick: async () => {
            dialog.close();
            await this.#edit(runs, (run) => deleteRun(run.hash), true);
          },
        }),
      ),
    );
    dialog.showModal();
  }

  /**
   * Applies `action` to every run of `selected` (deletions: those whose
   * writer is gone), a few at a time; reports what was done and what
   * failed, then refreshes.
   * @param {Picked[]} selected
   * @param {(run: Picked) => Promise<unknown>} action
   * @param {boolean} [removing]  The action deletes: unselect what it removed.
   */
  async #edit(selected, action, removing = false) {
    // A live run can be edited, not deleted: the server would refuse (409).
    const runs = removing ? selected.filter((run) => !run.live) : selected;
    const failures = removing
      ? selected.filter((run) => run.live)
        .map((run) => `${run.name || run.hash}: live, stop it before deleting`)
      : [];
    await pool(
      runs.map((run) => async () => {
        try {
          await action(run);
          if (removing) {
            this.#selected.delete(run.hash);
            this.#hidden?.delete(run.hash);
          }
        } catch (error) {
          failures.push(`${run.name || run.hash}: ${errorText(error)}`);
        }
      }),
      PARALLEL_EDITS,
    );
    const done = selected.length - failures.length;
    if (done > 0) {
      toast(
        `${removing ? "Deleted" : "Updated"} ${done} run${
          done === 1 ? "" : "s"
        }`,
      );
    }
    if (failures.length > 0) {
      toast(
        `${failures.length} not changed: ${failures.slice(0, 3).join("; ")}`,
        "error",
      );
    }
    await this.#hooks.refresh();
    this.update();
  }
}

/**
 * @param {Run} run
 * @returns {Picked}
 */
function _picked(run) {
  return { hash: run.hash, name: run.name, live: run.live };
}

/** @param {unknown} error */
function _report(error) {
  toast(errorText(error), "error");
}
